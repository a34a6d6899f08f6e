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
//! | health records | [`phr`] | owner, ACL, entries, access requests |
//! | re-encryption server | [`srs`] | the store interface, signed operations, the gates, receipts |
//! | disclosure log | [`log`] | per-record Merkle logs of who read what, checkpoints, the owner's accounting, witnesses |
//!
//! Forward access control: revoking a reader rotates the section's epoch, so entries written
//! afterwards use a key it can never obtain. Backward access control: a newcomer approved
//! without history gets a fresh epoch and reads only what is written after its approval.
//!
//! ## Example: owner → writer → SRS → reader
//!
//! ```
//! use sesphr::phr::{Change, History, Owner, PrincipalId, PrincipalKeys, Role, SectionName, Timestamp};
//! use sesphr::srs::{Client, MemoryStore, Operation, Response, Srs, SrsConfig};
//! use sesphr::sign::SigningKey;
//! use sesphr::rand_core::OsRng;
//!
//! # fn main() -> Result<(), sesphr::Error> {
//! let mut rng = OsRng;
//! let now = Timestamp::new(1_700_000_000);
//! let until = Timestamp::new(1_800_000_000);
//!
//! // The SRS: a store (here in memory), its own signing key, a deployment name.
//! let mut srs = Srs::new(MemoryStore::new(), SigningKey::random(&mut rng), "demo", SrsConfig::default());
//!
//! // Everyone makes their own keys; every operation is signed by whoever acts.
//! let (admin, owner, hospital, doctor) = (
//!     PrincipalKeys::random(&mut rng), Owner::random(&mut rng),
//!     PrincipalKeys::random(&mut rng), PrincipalKeys::random(&mut rng),
//! );
//! let admin_c = Client::new(&admin, PrincipalId::random(&mut rng), srs.id());
//! let owner_c = Client::new(owner.keys(), PrincipalId::random(&mut rng), srs.id());
//! let hospital_c = Client::new(&hospital, PrincipalId::random(&mut rng), srs.id());
//! let doctor_c = Client::new(&doctor, PrincipalId::random(&mut rng), srs.id());
//! srs.bootstrap(&admin_c.register(Role::Admin, now, &mut rng)?, now)?;
//! for (c, role) in [(owner_c, Role::Patient), (hospital_c, Role::Hospital), (doctor_c, Role::Doctor)] {
//!     srs.execute(&c.register(role, now, &mut rng)?, now, &mut rng)?;
//!     let activate = admin_c.sign(Operation::Activate { target: c.id() }, now, &mut rng)?;
//!     srs.execute(&activate, now, &mut rng)?;
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
//! srs.execute(&owner_c.sign(Operation::ApplyUpdate(update.clone()), now, &mut rng)?, now, &mut rng)?;
//!
//! // The hospital seals an entry to the section's current key and submits it to the SRS's
//! // write gate, which answers with a signed receipt.
//! let acl = update.acl().verify(&owner.verifying_key())?;
//! let entry = hospital.seal_entry(&acl, medical, b"HbA1c 5.4 %", now, &mut rng)?;
//! let Response::Accepted(receipt) = srs.execute(&hospital_c.sign(entry.submission(), now, &mut rng)?, now, &mut rng)? else { unreachable!() };
//!
//! // The doctor asks for a re-encryption of the accepted entry and opens it.
//! let ask = Operation::Reencrypt { record, entries: vec![entry.header().entry()] };
//! let Response::Reencrypted { items, .. } = srs.execute(&doctor_c.sign(ask, now, &mut rng)?, now, &mut rng)? else { unreachable!() };
//! let item = items.into_iter().next().unwrap().unwrap();
//! let accepted = receipt.verify(&srs.verifying_key(), entry.header())?;
//! let plaintext = doctor.open_entry(&entry, &accepted, &item.recapsule, &acl)?;
//! assert_eq!(plaintext, b"HbA1c 5.4 %");
//! # Ok(())
//! # }
//! ```
//!
//! ## The SRS as a service
//!
//! The SRS ([`srs`]) keeps its state as rows in a [`srs::Store`] the application provides (a
//! database; [`srs::MemoryStore`] in memory). Each operation reads a bounded number of rows
//! and commits one changeset atomically with optimistic concurrency, so several SRS instances
//! can share one database: a conflicting commit changes nothing and the operation is run
//! again. Validated when they enter, rows are read back without repeating point checks or
//! signature verification — except that every re-encryption key is checked against the key
//! set the owner signed — and [`srs::Srs::audit`] re-validates a whole store.
//!
//! Who must authenticate what: every operation is a [`srs::SignedOperation`] signed by the
//! principal it acts for (its registered key; registration is signed by the key being
//! registered); the SRS refuses foreign, stale, future and replayed operations. Owners sign
//! their ACLs and the key set they imply; writers sign entries; the SRS signs receipts for
//! the entries its write gate accepted. Readers and owners trust no key from the SRS: they
//! check fingerprints out of band, the owner's signature on every ACL, and the SRS's receipt
//! (with its key, configured by the application) before opening an entry.
//!
//! ## The disclosure log
//!
//! The SRS records every event of a record — ACL versions, accepted entries, every served
//! re-encryption (with the hash of the reader's signed request), request transitions — in a
//! per-record append-only Merkle log ([`log`], RFC 6962 hashing), in the same atomic changeset
//! as the change, and signs a checkpoint after each append. Readers receive and verify a
//! receipt for each disclosure ([`log::DisclosureReceipt`]); the owner's audit
//! ([`srs::Operation::Audit`], [`log::LogView`]) yields the verified accounting of
//! disclosures ([`log::Accounting`]). Against a checkpoint, the accounting is complete and
//! exact; two checkpoints that cannot both be true are evidence ([`Error::LogFork`]). Without
//! witnesses ([`log::Witness`]) an SRS can still show the owner and a reader different
//! histories until they compare; a reader colluding with the SRS can hide its receipt.
//!
//! ## Keeping state between runs
//!
//! The crate does no I/O, but every party's state encodes to bytes: secrets have one
//! versioned encoding each ([`secret`]: [`phr::Owner::to_bytes`],
//! [`phr::PrincipalKeys::to_bytes`]); each party keeps a [`phr::AclHistory`] per record (the
//! owner-signed ACL versions it verified, so a rolled-back ACL is refused after a restart too,
//! writers seal only to the newest version, and readers find the version an entry names); the
//! SRS's state is its store's rows. `examples/persistence.rs` saves everything, restarts and
//! carries on.
//!
//! ## Features
//!
//! - `std` (default): lazily built, shared fixed-base tables for `g1`, `g2` and `e(g1, g2)`;
//!   streaming entries over `std::io` (see [`phr::EntryStream`]). Without it the crate is
//!   `no_std` + `alloc` and rebuilds the tables per call (slow).
//! - `serde`: `Serialize`/`Deserialize` for every public non-secret value: signed and
//!   cryptographic values through their canonical bytes (hex in human-readable formats, either
//!   case read), ids as hex strings, times and versions as numbers, roles and rights as names.
//!   Verified types serialize only; `SignedAcl::view()` and `SealedEntry::view()` are
//!   read-only structures for logs. Secrets have no serde.
//! - `blst` (default): the re-encryption pairing `e(C, rk)` and the owner's `e(C, g2)` on
//!   [blst](https://github.com/supranational/blst), over Miller-loop lines precomputed once per
//!   key, and the GT multiplications of the reader's and writer's exponentiations on blst's
//!   `Fp12`; byte-identical to the arkworks path (the reference, used without the feature),
//!   the pairing in about 0.55× its time. Needs a C compiler. The crate's only `unsafe` code
//!   (three calls into blst's C functions) lives in its one module.
//! - `rayon`: body segments sealed and opened in parallel; batches of re-encryptions (the
//!   SRS's [`srs::Operation::Reencrypt`], [`pre::ReKey::reencrypt_many`]) and of the reader's
//!   decapsulations ([`pre::ReaderSecretKey::decapsulate_reencrypted_many`]) across cores.

#![no_std]
// Without `blst`, `forbid`. With it, `deny`: the one module allowed `unsafe` is `pre::blst`,
// three calls into blst's C functions its safe API does not wrap, each with its SAFETY note
// (`.ci/run` checks that no other file allows unsafe code).
#![cfg_attr(not(feature = "blst"), forbid(unsafe_code))]
#![cfg_attr(feature = "blst", deny(unsafe_code))]
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
mod par;
#[cfg(feature = "serde")]
mod serde_bytes;

pub mod dem;
pub mod log;
pub mod merkle;
pub mod notes;
pub mod phr;
pub mod pre;
pub mod secret;
pub mod sign;
pub mod srs;

pub use error::{Error, GtCheck};
pub use rand_core;

/// How every public type of this module is encoded (checked by `tests/encodings.rs`, which
/// round-trips each type of `ENCODED` through its bytes and serde, and fails on a public type
/// that is in none of the lists). Add a new public type here.
#[doc(hidden)]
pub mod encodings {
    /// Serialize and Deserialize (through the canonical bytes where the type has them).
    pub const ENCODED: &[&str] = &[];
    /// Serialize only, and why there is no Deserialize.
    pub const SERIALIZE_ONLY: &[(&str, &str)] = &[];
    /// No encoding, and why.
    pub const NOT_ENCODED: &[(&str, &str)] = &[
        (
            "Error",
            "an error: its Display is the human form, match on the variant",
        ),
        ("GtCheck", "part of an error"),
    ];
}

/// The README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// The suite id: the HKDF salt of every derivation, and the name of this format.
pub const SUITE_ID: &str = "sesphr/v1/bls12-381/afgh/aes-256-gcm/sha-256";

const _: () = assert!(SUITE_ID.len() == encoding::SUITE_ID.len());
