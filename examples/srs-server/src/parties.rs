//! The client's parties and what they remember between runs, kept in a state directory: each
//! party's id and secret keys (the library's secret encodings; a reader key is kept as the
//! 32-byte seed `ReaderSecretKey::from_seed` takes, since it has no secret encoding of its
//! own), files created with mode 0600.

use std::path::{Path, PathBuf};

use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use sesphr::phr::{MasterSecret, Owner, PrincipalId, PrincipalKeys};
use sesphr::pre::ReaderSecretKey;
use sesphr::sign::SigningKey;

/// A principal: its id at the SRS and its keys.
pub struct Party {
    /// The id at the SRS.
    pub id: PrincipalId,
    /// The keys.
    pub keys: PrincipalKeys,
}

/// The patient: its id and the owner derived from its master secret.
pub struct Patient {
    /// The id at the SRS.
    pub id: PrincipalId,
    /// The record owner.
    pub owner: Owner,
}

#[derive(Serialize, Deserialize)]
struct PartyFile {
    id: String,
    signing_key: Option<String>,
    reader_seed: Option<String>,
    master_secret: Option<String>,
}

fn path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.json"))
}

fn write_private(p: &Path, data: &[u8]) -> Result<(), String> {
    use std::io::Write as _;
    let _ = std::fs::remove_file(p);
    let mut f = crate::keyfile::open_private(p).map_err(|e| format!("{}: {e}", p.display()))?;
    f.write_all(data)
        .and_then(|()| f.sync_all())
        .map_err(|e| format!("{}: {e}", p.display()))
}

fn read(dir: &Path, name: &str) -> Result<PartyFile, String> {
    let p = path(dir, name);
    let text = std::fs::read(&p).map_err(|e| format!("{}: {e}", p.display()))?;
    serde_json::from_slice(&text).map_err(|e| format!("{}: {e}", p.display()))
}

fn unhex(s: Option<&String>, what: &str) -> Result<Vec<u8>, String> {
    s.and_then(|s| hex::decode(s).ok())
        .ok_or_else(|| format!("state: bad {what}"))
}

fn id_of(f: &PartyFile) -> Result<PrincipalId, String> {
    let b = unhex(Some(&f.id), "id")?;
    Ok(PrincipalId::new(
        b.try_into().map_err(|_| "state: id is not 16 bytes")?,
    ))
}

impl Party {
    /// New keys and a random id, saved as `name` in `dir`.
    pub fn create<R: RngCore + CryptoRng>(
        dir: &Path,
        name: &str,
        rng: &mut R,
    ) -> Result<Self, String> {
        let signing = SigningKey::random(rng);
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        let reader = ReaderSecretKey::from_seed(&seed).map_err(|e| e.to_string())?;
        let id = PrincipalId::random(rng);
        let f = PartyFile {
            id: hex::encode(id.as_bytes()),
            signing_key: Some(hex::encode(&signing.to_bytes()[..])),
            reader_seed: Some(hex::encode(seed)),
            master_secret: None,
        };
        let json = serde_json::to_vec(&f).map_err(|e| e.to_string())?;
        write_private(&path(dir, name), &json)?;
        Ok(Self {
            id,
            keys: PrincipalKeys::from_parts(signing, reader),
        })
    }

    /// The party saved as `name` in `dir`.
    pub fn load(dir: &Path, name: &str) -> Result<Self, String> {
        let f = read(dir, name)?;
        let signing = SigningKey::from_bytes(&unhex(f.signing_key.as_ref(), "signing key")?)
            .map_err(|e| format!("state: {e}"))?;
        let seed: [u8; 32] = unhex(f.reader_seed.as_ref(), "reader seed")?
            .try_into()
            .map_err(|_| "state: reader seed is not 32 bytes")?;
        let reader = ReaderSecretKey::from_seed(&seed).map_err(|e| format!("state: {e}"))?;
        Ok(Self {
            id: id_of(&f)?,
            keys: PrincipalKeys::from_parts(signing, reader),
        })
    }
}

impl Patient {
    /// A new master secret and a random id, saved as `name` in `dir`.
    pub fn create<R: RngCore + CryptoRng>(
        dir: &Path,
        name: &str,
        rng: &mut R,
    ) -> Result<Self, String> {
        let master = MasterSecret::random(rng);
        let id = PrincipalId::random(rng);
        let f = PartyFile {
            id: hex::encode(id.as_bytes()),
            signing_key: None,
            reader_seed: None,
            master_secret: Some(hex::encode(&master.to_bytes()[..])),
        };
        let json = serde_json::to_vec(&f).map_err(|e| e.to_string())?;
        write_private(&path(dir, name), &json)?;
        Ok(Self {
            id,
            owner: Owner::from_master(master).map_err(|e| e.to_string())?,
        })
    }

    /// The patient saved as `name` in `dir`.
    pub fn load(dir: &Path, name: &str) -> Result<Self, String> {
        let f = read(dir, name)?;
        let master = MasterSecret::from_bytes(&unhex(f.master_secret.as_ref(), "master secret")?)
            .map_err(|e| format!("state: {e}"))?;
        Ok(Self {
            id: id_of(&f)?,
            owner: Owner::from_master(master).map_err(|e| format!("state: {e}"))?,
        })
    }
}

/// Writes a JSON document (not secret) into the state directory.
pub fn save_json<T: Serialize>(dir: &Path, name: &str, v: &T) -> Result<(), String> {
    let json = serde_json::to_vec_pretty(v).map_err(|e| e.to_string())?;
    write_private(&path(dir, name), &json)
}

/// Reads a JSON document from the state directory.
pub fn load_json<T: for<'de> Deserialize<'de>>(dir: &Path, name: &str) -> Result<T, String> {
    let p = path(dir, name);
    let text = std::fs::read(&p).map_err(|e| format!("{}: {e}", p.display()))?;
    serde_json::from_slice(&text).map_err(|e| format!("{}: {e}", p.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parties_load_back_with_the_same_keys() {
        let dir = std::env::temp_dir().join(format!("srs-party-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let mut rng = rand_core::OsRng;
        let a = Party::create(&dir, "a", &mut rng).expect("create");
        let b = Party::load(&dir, "a").expect("load");
        assert_eq!(a.id, b.id);
        assert_eq!(a.keys.bundle(), b.keys.bundle());
        let p = Patient::create(&dir, "p", &mut rng).expect("create");
        let q = Patient::load(&dir, "p").expect("load");
        assert_eq!(p.id, q.id);
        assert_eq!(p.owner.keys().bundle(), q.owner.keys().bundle());
        assert!(
            Party::load(&dir, "p").is_err(),
            "a patient file is not a party file"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
