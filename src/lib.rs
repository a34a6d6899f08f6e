//! # sesphr
//!
//! Patient-controlled sharing of personal health records through an untrusted cloud, after the
//! SeSPHR methodology (Ali et al., IEEE TCC 2018), on BLS12-381.
//!
//! **Not audited. arkworks, which this crate builds on, is not constant-time.** Read
//! `SECURITY.md` before you depend on it.
//!
//! ## The model
//!
//! A patient (the *owner*) keeps a health record encrypted in the cloud, split into
//! *sections* (personal, insurance, medical, prescription, and any others the owner names).
//! Each section has a key pair per *epoch*, derived from the owner's 32-byte master secret.
//! Hospitals (*writers*) encrypt entries to a section's current public key and sign them.
//! Doctors, pharmacists, insurers (*readers*) hold their own key pairs. A semi-trusted
//! *Setup and Re-encryption Server* (SRS) holds re-encryption keys made by the owner and turns
//! a section capsule into one a granted reader can open, without ever seeing plaintext or any
//! secret key, and only while the owner-signed access-control list says so.
//!
//! | layer | module | what it holds |
//! |---|---|---|
//! | proxy re-encryption (KEM) | [`pre`] | AFGH on BLS12-381: section keys, reader keys, capsules, re-encryption keys |
//! | data encapsulation | [`dem`] | data keys, their wrap, the AES-256-GCM STREAM body cipher |
//! | signatures | [`sign`] | Schnorr on G1 with a purpose tag in every signed message |
//! | health records | [`phr`] | owner, ACL, entries, access requests, the SRS |
//!
//! Forward access control: revoking a reader rotates the section's epoch, so entries written
//! afterwards use a key it can never obtain. Backward access control: a newcomer approved
//! without history gets a fresh epoch and reads only what is written after its approval.
//!
//! ## Example: owner → writer → SRS → reader
//!
//! ```
//! use sesphr::phr::{
//!     Change, History, Owner, PrincipalId, PrincipalKeys, Role, SectionName, Srs, Timestamp,
//! };
//! use sesphr::rand_core::OsRng;
//!
//! # fn main() -> Result<(), sesphr::Error> {
//! let mut rng = OsRng;
//! let now = Timestamp(1_700_000_000);
//! let until = Timestamp(1_800_000_000);
//!
//! // The SRS starts with its administrator.
//! let admin = PrincipalKeys::random(&mut rng);
//! let mut srs = Srs::new(PrincipalId::new([0; 16]), admin.bundle(), &admin.prove_possession(&mut rng)?)?;
//! let admin_id = PrincipalId::new([0; 16]);
//!
//! // Everyone makes their own keys and registers; the admin activates them.
//! let owner = Owner::random(&mut rng);
//! let hospital = PrincipalKeys::random(&mut rng);
//! let doctor = PrincipalKeys::random(&mut rng);
//! let (owner_id, hospital_id, doctor_id) =
//!     (PrincipalId::new([1; 16]), PrincipalId::new([2; 16]), PrincipalId::new([3; 16]));
//! srs.register(owner_id, Role::Patient, owner.keys().bundle(), &owner.keys().prove_possession(&mut rng)?)?;
//! srs.register(hospital_id, Role::Hospital, hospital.bundle(), &hospital.prove_possession(&mut rng)?)?;
//! srs.register(doctor_id, Role::Doctor, doctor.bundle(), &doctor.prove_possession(&mut rng)?)?;
//! for id in [owner_id, hospital_id, doctor_id] {
//!     srs.activate(admin_id, id)?;
//! }
//!
//! // The owner creates a record with a "medical" section, lets the hospital write it and the
//! // doctor read it; the SRS stores the signed ACL and the re-encryption keys it implies.
//! let record = owner.record_id("main")?;
//! let medical = owner.section_id(&SectionName::new("medical")?);
//! let update = owner.create_record(record, until, &[
//!     Change::AddSection { section: medical },
//!     Change::GrantWrite { section: medical, writer: hospital.bundle() },
//!     Change::GrantRead { section: medical, reader: doctor.bundle(), history: History::None },
//! ], &mut rng)?;
//! srs.apply_update(owner_id, &update, now)?;
//!
//! // The hospital writes an entry to the section's current key, signed.
//! let acl = update.acl().verify(&owner.verifying_key())?;
//! let entry = hospital.seal_entry(&acl, medical, b"HbA1c 5.4 %", now, &mut rng)?;
//!
//! // The SRS re-encrypts the entry's capsule for the doctor; the doctor opens it.
//! let recapsule = srs.reencrypt(doctor_id, entry.header(), entry.key_block(), now)?;
//! let plaintext = doctor.open_entry(&entry, &recapsule, &acl)?;
//! assert_eq!(plaintext, b"HbA1c 5.4 %");
//! # Ok(())
//! # }
//! ```
//!
//! ## Features
//!
//! - `std` (default): lazily built, shared fixed-base tables for `g1`, `g2` and `e(g1, g2)`.
//!   Without it the crate is `no_std` + `alloc` and rebuilds the tables per call (slow).
//! - `serde`: `Serialize`/`Deserialize` for the public values, through their canonical bytes
//!   (hex in human-readable formats).
//! - `rayon`: body segments sealed and opened in parallel.

#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs, rustdoc::broken_intra_doc_links)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod encoding;
mod error;
mod macros;
#[cfg(feature = "serde")]
mod serde_bytes;

pub mod dem;
pub mod merkle;
pub mod notes;
pub mod phr;
pub mod pre;
pub mod sign;

pub use error::{Error, GtCheck};
pub use rand_core;

/// The README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// The suite id: the HKDF salt of every derivation, and the name of this format.
pub const SUITE_ID: &str = "sesphr/v1/bls12-381/afgh/aes-256-gcm/sha-256";

const _: () = assert!(SUITE_ID.len() == encoding::SUITE_ID.len());
