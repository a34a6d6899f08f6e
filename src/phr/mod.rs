//! The personal-health-record model ([SPEC §1](crate::notes::spec), §4) on top of [`crate::pre`], [`crate::dem`]
//! and [`crate::sign`]: owners, section keys per epoch, the owner-signed ACL and the key
//! material it implies, entries, access requests, and the SRS.

mod acl;
mod entry;
mod history;
pub(crate) mod ids;
pub(crate) mod keyset;
mod limits;
mod owner;
mod principal;
mod request;
#[cfg(feature = "serde")]
mod serde_forms;
pub(crate) mod succession;
mod update;
pub(crate) mod view;

pub use acl::{
    Acl, AclProblem, AclVerifier, History, ReaderGrant, SectionPolicy, SignedAcl, VerifiedAcl,
};
#[cfg(feature = "std")]
pub use entry::{
    stream_error, EntryReader, EntryStream, EntryWriter, SeekableEntryWriter, StreamedEntry,
    UnverifiedEntryReader,
};
pub use entry::{BodyHeader, EntryOpener, EntrySealer, KeyBlock, SealedEntry, Unverified};
pub use history::AclHistory;
pub use ids::{
    AclVersion, EntryId, Epoch, PrincipalId, RecordId, RequestId, SectionId, SectionName, Timestamp,
};
pub use keyset::{AclHash, KeySetCommitment};
pub use limits::Limits;
pub use owner::{MasterSecret, Owner};
pub use principal::{Fingerprint, KeyBundle, PrincipalKeys, Role};
pub(crate) use request::{decode_right, encode_right};
pub use request::{AccessRequest, RequestAction, RequestState, Right};
pub use update::{AclUpdate, Change, ReKeyGrant, ReKeyId};
pub use view::{
    AclView, EntryView, HeaderView, KeyBlockView, ReaderView, RetiredView, SectionView,
};

/// How every public type of this module is encoded (checked by `tests/encodings.rs`, which
/// round-trips each type of `ENCODED` through its bytes and serde, and fails on a public type
/// that is in none of the lists). Add a new public type here.
#[doc(hidden)]
pub mod encodings {
    /// Serialize and Deserialize (through the canonical bytes where the type has them).
    pub const ENCODED: &[&str] = &[
        "Acl",
        "History",
        "ReaderGrant",
        "SignedAcl",
        "BodyHeader",
        "KeyBlock",
        "SealedEntry",
        "AclVersion",
        "EntryId",
        "Epoch",
        "PrincipalId",
        "RecordId",
        "RequestId",
        "SectionId",
        "SectionName",
        "Timestamp",
        "AclHash",
        "KeySetCommitment",
        "Limits",
        "Fingerprint",
        "KeyBundle",
        "Role",
        "AccessRequest",
        "RequestAction",
        "RequestState",
        "Right",
        "AclUpdate",
        "Change",
        "ReKeyGrant",
        "ReKeyId",
    ];
    /// Serialize only, and why there is no Deserialize.
    pub const SERIALIZE_ONLY: &[(&str, &str)] = &[
        (
            "VerifiedAcl",
            "verified type: no Deserialize (store the signed value and verify it again)",
        ),
        (
            "SectionPolicy",
            "part of an ACL: decode the ACL (its Serialize is the section's view)",
        ),
        (
            "AclView",
            "a read-only view for humans and logs, not an input",
        ),
        (
            "SectionView",
            "a read-only view for humans and logs, not an input",
        ),
        (
            "ReaderView",
            "a read-only view for humans and logs, not an input",
        ),
        (
            "RetiredView",
            "a read-only view for humans and logs, not an input",
        ),
        (
            "HeaderView",
            "a read-only view for humans and logs, not an input",
        ),
        (
            "KeyBlockView",
            "a read-only view for humans and logs, not an input",
        ),
        (
            "EntryView",
            "a read-only view for humans and logs, not an input",
        ),
    ];
    /// No encoding, and why.
    pub const NOT_ENCODED: &[(&str, &str)] = &[
        ("AclProblem", "part of an error"),
        ("AclVerifier", "a verifier's state: the highest version seen (AclVerifier::resume); AclHistory persists whole"),
        ("AclHistory", "canonical bytes (to_bytes; from_bytes re-verifies every version with the owner's key, so no serde)"),
        ("EntrySealer", "streaming state holding the writer's keys and a data key"),
        ("EntryOpener", "streaming state holding a data key"),
        ("EntryWriter", "streaming I/O state over the caller's sink"),
        ("SeekableEntryWriter", "streaming I/O state over the caller's sink"),
        ("EntryReader", "streaming I/O state over the caller's source"),
        ("UnverifiedEntryReader", "streaming I/O state over the caller's source"),
        ("EntryStream", "a container being read from the caller's source"),
        ("StreamedEntry", "a streamed seal's result: its header, key block and signature are each encoded"),
        ("Unverified", "plaintext not yet authenticated: deliberately not encodable"),
        ("MasterSecret", "secret: canonical bytes only; serde only through sesphr::secret::ExposeSecret"),
        ("Owner", "secret: canonical bytes only; serde only through sesphr::secret::ExposeSecret"),
        ("PrincipalKeys", "secret: canonical bytes only; serde only through sesphr::secret::ExposeSecret"),
    ];
}
