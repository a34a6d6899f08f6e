//! The Setup and Re-encryption Server as a service core (SPEC §8), without I/O.
//!
//! **State is rows in a [`Store`]**, never one blob: principals, record heads (owner, newest
//! signed ACL), every ACL version, re-encryption keys, the key-set leaves that check them,
//! accepted entries, requests, replay rows, and the index rows behind the listings. Each
//! operation reads a bounded number of rows — none in proportion to the number of records,
//! principals or keys the deployment holds — and commits one [`Changeset`] atomically, with
//! optimistic concurrency: if any row it read changed meanwhile, the commit fails with
//! [`StoreError::Conflict`], nothing is written, and the caller runs the operation again.
//! Several [`Srs`] handles, in one process or on many machines, can share one store.
//! [`MemoryStore`] is the in-crate store; databases are the application's.
//!
//! **Who acts is proven, never claimed.** Every operation is a [`SignedOperation`]: signed by
//! the acting principal's registered key over the SRS id, the principal id, the time, a
//! nonce, the operation type and body. The SRS refuses another SRS's operations, times
//! outside its window, and nonces it has seen; an exact retry returns the stored response.
//! Registration is signed by the key being registered (its proof of possession, bound to the
//! principal id and the SRS), and a key bundle registers under one id only.
//!
//! **Writes pass a gate.** Entries are accepted only from a writer the newest ACL lets write,
//! sealed to the section's current key; the SRS stores the header and key block and signs a
//! [`Receipt`]. Readers ask for re-encryption by entry id and get the stored key block's
//! capsule re-encrypted, only if the key row checks against the owner-signed key-set
//! commitment; readers and the owner open an entry only with its receipt.
//!
//! The crate root shows a whole flow; `tests/srs.rs` shows every refusal.

mod audit;
mod cache;
mod client;
mod gate;
mod handle;
mod log;
#[cfg(feature = "std")]
mod memory;
mod operation;
mod reads;
mod receipt;
mod records;
mod refusal;
mod registry;
mod requests;
mod response;
mod rows;
mod staged;
mod store;
mod tx;

pub use audit::AuditReport;
pub use client::Client;
pub use handle::{Srs, SrsConfig};
#[cfg(feature = "std")]
pub use memory::MemoryStore;
pub use operation::{Operation, SignedOperation, SrsId, MAX_BATCH};
pub use receipt::{Accepted, Receipt};
pub use refusal::Refusal;
pub use response::{Reencrypted, Response};
pub use rows::Registration;
pub use staged::Staged;
pub use store::{Changeset, Row, RowVersion, Store, StoreError, Write};

/// How every public type of this module is encoded (checked by `tests/encodings.rs`, which
/// round-trips each type of `ENCODED` through its bytes and serde, and fails on a public type
/// that is in none of the lists). Add a new public type here.
#[doc(hidden)]
pub mod encodings {
    /// Serialize and Deserialize (through the canonical bytes where the type has them).
    pub const ENCODED: &[&str] = &[
        "Operation",
        "SignedOperation",
        "SrsId",
        "Receipt",
        "Refusal",
        "Reencrypted",
        "Response",
        "Registration",
        "Changeset",
        "Row",
        "RowVersion",
        "Write",
        "SrsConfig",
    ];
    /// Serialize only, and why there is no Deserialize.
    pub const SERIALIZE_ONLY: &[(&str, &str)] = &[
        (
            "Accepted",
            "verified type: no Deserialize (store the signed value and verify it again)",
        ),
        (
            "AuditReport",
            "a report for operators and logs (errors as text), not an input",
        ),
    ];
    /// No encoding, and why.
    pub const NOT_ENCODED: &[(&str, &str)] = &[
        ("Client", "holds a reference to the principal's secret keys"),
        ("Srs", "the service handle over a store"),
        ("MemoryStore", "a store: its rows are Row values"),
        ("Staged", "a store adapter for asynchronous drivers"),
        (
            "Store",
            "a trait: the application's database behind the SRS",
        ),
        ("StoreError", "an error of the store"),
    ];
}
