//! The client's parties and what they remember between runs, kept in a state directory: each
//! party's id and secret keys in the library's secret encodings (`PrincipalKeys::to_bytes`,
//! `Owner::to_bytes`, hex in a JSON file), files created with mode 0600.

use std::path::{Path, PathBuf};

use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use sesphr::phr::{Owner, PrincipalId, PrincipalKeys};

/// A principal: its id at the SRS and its keys.
pub struct Party {
    /// Its name in the state directory (`doctor`, …).
    pub name: String,
    /// The id at the SRS.
    pub id: PrincipalId,
    /// The keys.
    pub keys: PrincipalKeys,
}

/// The patient: its id and its owner keys.
pub struct Patient {
    /// The id at the SRS.
    pub id: PrincipalId,
    /// The record owner.
    pub owner: Owner,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PartyFile {
    id: String,
    /// `PrincipalKeys::to_bytes`, hex (a reader or writer).
    keys: Option<String>,
    /// `Owner::to_bytes`, hex (the patient).
    owner: Option<String>,
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
        .ok_or_else(|| format!("state: bad or missing {what}"))
}

fn id_of(f: &PartyFile) -> Result<PrincipalId, String> {
    let b = unhex(Some(&f.id), "id")?;
    Ok(PrincipalId::new(
        b.try_into().map_err(|_| "state: id is not 16 bytes")?,
    ))
}

fn save(dir: &Path, name: &str, f: &PartyFile) -> Result<(), String> {
    let json = serde_json::to_vec(f).map_err(|e| e.to_string())?;
    write_private(&path(dir, name), &json)
}

impl Party {
    /// New keys and a random id, saved as `name` in `dir`.
    pub fn create<R: RngCore + CryptoRng>(
        dir: &Path,
        name: &str,
        rng: &mut R,
    ) -> Result<Self, String> {
        let keys = PrincipalKeys::random(rng);
        let id = PrincipalId::random(rng);
        let f = PartyFile {
            id: hex::encode(id.as_bytes()),
            keys: Some(hex::encode(&keys.to_bytes()[..])),
            owner: None,
        };
        save(dir, name, &f)?;
        Ok(Self {
            name: name.to_string(),
            id,
            keys,
        })
    }

    /// The party saved as `name` in `dir`.
    pub fn load(dir: &Path, name: &str) -> Result<Self, String> {
        let f = read(dir, name)?;
        let keys = PrincipalKeys::from_bytes(&unhex(f.keys.as_ref(), "keys")?)
            .map_err(|e| format!("state: {e}"))?;
        Ok(Self {
            name: name.to_string(),
            id: id_of(&f)?,
            keys,
        })
    }
}

impl Patient {
    /// A new owner and a random id, saved as `name` in `dir`.
    pub fn create<R: RngCore + CryptoRng>(
        dir: &Path,
        name: &str,
        rng: &mut R,
    ) -> Result<Self, String> {
        let owner = Owner::random(rng);
        let id = PrincipalId::random(rng);
        let f = PartyFile {
            id: hex::encode(id.as_bytes()),
            keys: None,
            owner: Some(hex::encode(&owner.to_bytes()[..])),
        };
        save(dir, name, &f)?;
        Ok(Self { id, owner })
    }

    /// The patient saved as `name` in `dir`.
    pub fn load(dir: &Path, name: &str) -> Result<Self, String> {
        let f = read(dir, name)?;
        let owner = Owner::from_bytes(&unhex(f.owner.as_ref(), "owner")?)
            .map_err(|e| format!("state: {e}"))?;
        Ok(Self {
            id: id_of(&f)?,
            owner,
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
