//! The secrets' encodings (`sesphr::secret`): one each, versioned, sizes as documented,
//! every field checked on decode, and serde only through the explicit `ExposeSecret` opt-in.

mod common;

use sesphr::phr::{MasterSecret, Owner, PrincipalKeys};
use sesphr::pre::{ReaderSecretKey, SectionSecretKey};
use sesphr::secret::{ExposeSecret, SecretEncoding};
use sesphr::sign::SigningKey;
use sesphr::Error;

/// The order r of Fr, little-endian: the smallest non-canonical scalar.
const R_LE: [u8; 32] = [
    0x01, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xfe, 0x5b, 0xfe, 0xff, 0x02, 0xa4, 0xbd, 0x53,
    0x05, 0xd8, 0xa1, 0x09, 0x08, 0xd8, 0x39, 0x33, 0x48, 0x7d, 0x9d, 0x29, 0x53, 0xa7, 0xed, 0x73,
];

fn mismatch() -> Error {
    Error::InvalidEncoding {
        what: "principal keys (the keys do not match the stored fingerprint)",
        field: None,
    }
}

#[test]
fn sizes_are_the_documented_ones() {
    let mut rng = common::rng(1);
    let keys = PrincipalKeys::random(&mut rng);
    let owner = Owner::random(&mut rng);
    assert_eq!(MasterSecret::SIZE, 34);
    assert_eq!(Owner::SIZE, 66);
    assert_eq!(PrincipalKeys::SIZE, 102);
    assert_eq!(SigningKey::SIZE, 34);
    assert_eq!(ReaderSecretKey::SIZE, 34);
    assert_eq!(SectionSecretKey::SIZE, 34);
    assert_eq!(keys.to_bytes().len(), PrincipalKeys::SIZE);
    assert_eq!(owner.to_bytes().len(), Owner::SIZE);
    assert_eq!(owner.master_secret().to_bytes().len(), MasterSecret::SIZE);
    assert_eq!(owner.master_secret().to_raw().len(), 32);
    assert_eq!(keys.to_secret_bytes().len(), PrincipalKeys::SIZE);
    assert_eq!(<PrincipalKeys as SecretEncoding>::WHAT, "principal keys");
}

#[test]
fn every_secret_round_trips_through_its_one_encoding() {
    let mut rng = common::rng(2);
    let keys = PrincipalKeys::random(&mut rng);
    let back = PrincipalKeys::from_bytes(&keys.to_bytes()[..]).unwrap();
    assert_eq!(back.bundle(), keys.bundle());
    assert_eq!(back.to_bytes(), keys.to_bytes());
    // The layout: tag, version, the two key encodings, the fingerprint.
    let b = keys.to_bytes();
    assert_eq!(&b[..2], &[0x30, 1]);
    assert_eq!(&b[2..36], &keys.signing_key().to_bytes()[..]);
    assert_eq!(&b[36..70], &keys.reader_key().to_bytes()[..]);
    assert_eq!(&b[70..], keys.bundle().fingerprint().as_bytes());

    let owner = Owner::random(&mut rng);
    let back = Owner::from_bytes(&owner.to_bytes()[..]).unwrap();
    assert_eq!(back.keys().bundle(), owner.keys().bundle());
    let o = owner.to_bytes();
    assert_eq!(&o[..2], &[0x31, 1]);
    assert_eq!(&o[2..34], &owner.master_secret().to_raw()[..]);
    assert_eq!(&o[34..], owner.keys().bundle().fingerprint().as_bytes());

    // The master secret: raw (32 bytes) and encoded (34 bytes) are inverses of their own.
    let m = owner.master_secret();
    let raw = MasterSecret::from_raw(*m.to_raw());
    assert_eq!(raw.to_bytes(), m.to_bytes());
    let enc = MasterSecret::from_bytes(&m.to_bytes()[..]).unwrap();
    assert_eq!(enc.to_raw(), m.to_raw());
    assert_eq!(&m.to_bytes()[..2], &[0x10, 1]);
    assert_eq!(&m.to_bytes()[2..], &m.to_raw()[..]);
    // Mixing the two forms up is an error, never a different secret.
    assert_eq!(
        MasterSecret::from_bytes(&m.to_raw()[..])
            .map(drop)
            .unwrap_err(),
        if m.to_raw()[0] == 0x10 {
            Error::UnknownVersion {
                what: "master secret",
                version: m.to_raw()[1],
            }
        } else {
            Error::UnknownTag {
                what: "master secret",
                tag: m.to_raw()[0],
            }
        }
    );
    // Through the trait, for every secret.
    fn through<T: SecretEncoding>(t: &T) -> Vec<u8> {
        let b = t.to_secret_bytes();
        let back = T::from_secret_bytes(&b).unwrap();
        back.to_secret_bytes().to_vec()
    }
    assert_eq!(through(m), m.to_bytes().to_vec());
    assert_eq!(through(&owner), owner.to_bytes().to_vec());
    assert_eq!(through(&keys), keys.to_bytes().to_vec());
    let sk = SigningKey::random(&mut rng);
    assert_eq!(through(&sk), sk.to_bytes().to_vec());
    let rk = ReaderSecretKey::random(&mut rng);
    assert_eq!(through(&rk), rk.to_bytes().to_vec());
    let sec = SectionSecretKey::random(&mut rng);
    assert_eq!(through(&sec), sec.to_bytes().to_vec());
}

#[test]
fn principal_keys_decoding_checks_every_field() {
    let mut rng = common::rng(3);
    let a = PrincipalKeys::random(&mut rng);
    let b = PrincipalKeys::random(&mut rng);
    let good = a.to_bytes().to_vec();
    let decode = |x: &[u8]| PrincipalKeys::from_bytes(x).map(drop);

    // Halves of two principals: the fingerprint check catches it.
    let mut mixed = good.clone();
    mixed[36..70].copy_from_slice(&b.reader_key().to_bytes()[..]);
    assert_eq!(loose(decode(&mixed).unwrap_err()), mismatch());
    let mut fp = good.clone();
    fp[101] ^= 1;
    assert_eq!(loose(decode(&fp).unwrap_err()), mismatch());
    // A changed (still canonical) scalar gives other keys: caught too.
    let mut bit = good.clone();
    bit[4] ^= 1;
    assert_eq!(loose(decode(&bit).unwrap_err()), mismatch());

    // Scalars: canonical and non-zero.
    let mut over = good.clone();
    over[4..36].copy_from_slice(&R_LE);
    assert_eq!(
        decode(&over).unwrap_err(),
        Error::NonCanonicalScalar {
            what: "signing key"
        }
    );
    let mut zero = good.clone();
    zero[38..70].fill(0);
    assert_eq!(
        decode(&zero).unwrap_err(),
        Error::ZeroScalar {
            what: "reader secret key"
        }
    );
    // The inner envelopes keep their tags.
    let mut inner = good.clone();
    inner[2] = 0x09;
    assert_eq!(
        decode(&inner).unwrap_err(),
        Error::UnknownTag {
            what: "signing key",
            tag: 0x09
        }
    );

    // Envelope: tag, version, length.
    let mut tag = good.clone();
    tag[0] = 0x31;
    assert_eq!(
        decode(&tag).unwrap_err(),
        Error::UnknownTag {
            what: "principal keys",
            tag: 0x31
        }
    );
    let mut version = good.clone();
    version[1] = 2;
    assert_eq!(
        decode(&version).unwrap_err(),
        Error::UnknownVersion {
            what: "principal keys",
            version: 2
        }
    );
    let invalid = Error::InvalidEncoding {
        what: "principal keys",
        field: None,
    };
    assert_eq!(loose(decode(&good[..101]).unwrap_err()), invalid);
    let mut long = good.clone();
    long.push(0);
    assert_eq!(loose(decode(&long).unwrap_err()), invalid);
    assert_eq!(decode(&good), Ok(()));
}

#[test]
fn owner_decoding_re_derives_and_checks_the_keys() {
    let owner = Owner::from_master(MasterSecret::from_raw([9; 32])).unwrap();
    let good = owner.to_bytes().to_vec();
    let decode = |x: &[u8]| Owner::from_bytes(x).map(drop);
    let wrong = Error::InvalidEncoding {
        what: "owner (the keys do not match the stored fingerprint)",
        field: None,
    };
    // Another master secret, or another fingerprint.
    let mut master = good.clone();
    master[2] ^= 1;
    assert_eq!(loose(decode(&master).unwrap_err()), wrong);
    let mut fp = good.clone();
    fp[65] ^= 0x80;
    assert_eq!(loose(decode(&fp).unwrap_err()), wrong);
    // The master secret's encoding is not an owner's.
    assert_eq!(
        decode(&owner.master_secret().to_bytes()[..]).unwrap_err(),
        Error::UnknownTag {
            what: "owner",
            tag: 0x10
        }
    );
    let mut version = good.clone();
    version[1] = 0;
    assert_eq!(
        decode(&version).unwrap_err(),
        Error::UnknownVersion {
            what: "owner",
            version: 0
        }
    );
    assert_eq!(
        loose(decode(&good[..65]).unwrap_err()),
        Error::InvalidEncoding {
            what: "owner",
            field: None
        }
    );
    assert_eq!(decode(&good), Ok(()));
    assert_eq!(
        loose(
            MasterSecret::from_bytes(&[0x10, 1, 0])
                .map(drop)
                .unwrap_err()
        ),
        Error::InvalidEncoding {
            what: "master secret",
            field: None
        }
    );
}

#[test]
fn debug_never_prints_a_secret() {
    let mut rng = common::rng(4);
    let keys = PrincipalKeys::random(&mut rng);
    let owner = Owner::random(&mut rng);
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    for (debug, secret) in [
        (format!("{keys:?}"), hex(&keys.to_bytes()[2..36])),
        (
            format!("{owner:?}"),
            hex(&owner.master_secret().to_raw()[..]),
        ),
        (
            format!("{:?}", ExposeSecret(&keys)),
            hex(&keys.to_bytes()[2..36]),
        ),
    ] {
        assert!(!debug.contains(&secret[..16]), "{debug}");
    }
    assert_eq!(format!("{:?}", ExposeSecret(&owner)), "ExposeSecret(..)");
}

#[cfg(feature = "serde")]
mod with_serde {
    use super::*;

    #[derive(serde::Serialize, serde::Deserialize)]
    struct KeyStore {
        #[serde(with = "sesphr::secret::expose_secret")]
        owner: Owner,
        #[serde(with = "sesphr::secret::expose_secret")]
        keys: PrincipalKeys,
    }

    #[test]
    fn expose_secret_is_the_one_way_through_serde() {
        let mut rng = common::rng(5);
        let keys = PrincipalKeys::random(&mut rng);
        let json = serde_json::to_string(&ExposeSecret(&keys)).unwrap();
        let hex: String = keys.to_bytes().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(json, format!("\"{hex}\""));
        let ExposeSecret(back): ExposeSecret<PrincipalKeys> = serde_json::from_str(&json).unwrap();
        assert_eq!(back.bundle(), keys.bundle());
        // Either case of hex.
        let upper: ExposeSecret<PrincipalKeys> =
            serde_json::from_str(&json.to_uppercase()).unwrap();
        assert_eq!(upper.0.bundle(), keys.bundle());
        // The decoder's checks apply: a mixed-up key is refused with the typed reason.
        let other = PrincipalKeys::random(&mut rng);
        let mut mixed = keys.to_bytes().to_vec();
        mixed[36..70].copy_from_slice(&other.reader_key().to_bytes()[..]);
        let mixed: String = mixed.iter().map(|b| format!("{b:02x}")).collect();
        let err = serde_json::from_str::<ExposeSecret<PrincipalKeys>>(&format!("\"{mixed}\""))
            .unwrap_err()
            .to_string();
        assert!(err.contains("do not match the stored fingerprint"), "{err}");
        assert!(serde_json::from_str::<ExposeSecret<PrincipalKeys>>("\"0g\"").is_err());
        assert!(serde_json::from_str::<ExposeSecret<PrincipalKeys>>("\"303\"").is_err());
        // A byte array (a non-human-readable shape) works too, and is bounded.
        let arr = serde_json::to_string(&keys.to_bytes().to_vec()).unwrap();
        let from_arr: ExposeSecret<PrincipalKeys> = serde_json::from_str(&arr).unwrap();
        assert_eq!(from_arr.0.bundle(), keys.bundle());
        let huge = serde_json::to_string(&vec![0u8; 2000]).unwrap();
        let err = serde_json::from_str::<ExposeSecret<PrincipalKeys>>(&huge)
            .unwrap_err()
            .to_string();
        assert!(err.contains("too long"), "{err}");

        // In a struct, through `#[serde(with = …)]`.
        let owner = Owner::random(&mut rng);
        let store = KeyStore {
            owner,
            keys: keys.clone(),
        };
        let json = serde_json::to_string(&store).unwrap();
        let back: KeyStore = serde_json::from_str(&json).unwrap();
        assert_eq!(back.keys.bundle(), keys.bundle());
        assert_eq!(back.owner.keys().bundle(), store.owner.keys().bundle());
    }
}

/// The error with the decoder's field context dropped (these tests check which value was
/// refused; `tests/errors.rs` checks the fields).
fn loose(e: impl std::borrow::Borrow<Error>) -> Error {
    match e.borrow() {
        Error::InvalidEncoding { what, .. } => Error::InvalidEncoding { what, field: None },
        other => other.clone(),
    }
}
