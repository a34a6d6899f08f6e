//! The disclosure log (SPEC §9): a verifiable account of who read what.
//!
//! The SRS keeps, per record, an append-only Merkle log (RFC 6962 / RFC 9162 hashing) of
//! every event concerning the record — ACL versions applied, entries accepted,
//! re-encryptions served (one leaf per served request, carrying the hash of the reader's
//! signed operation), request transitions, and the SRS's own signing-key rotations. Each
//! event is appended in the same changeset as the change it records, so it exists exactly
//! when the change committed. After appending, the SRS signs a [`Checkpoint`] (its key id,
//! the record, the tree size and root, the time and the newest ACL's hash); each served
//! re-encryption comes with a [`DisclosureReceipt`] (the leaf, its inclusion proof and the
//! checkpoint) that the reader verifies and keeps.
//!
//! The owner audits with an owner-signed operation: the SRS answers pages of the events
//! since the owner's last verified checkpoint ([`AuditPage`]); the owner's [`LogView`] checks
//! them ([`Audit`]) and yields the [`Accounting`] of disclosures — when, to which reader,
//! which sections and entries.
//!
//! **What it proves.** Against the checkpoint, an owner's accounting is complete and
//! unaltered: a missing, altered, reordered or invented event fails the audit. A receipt a
//! reader holds that the owner's accounting does not contain, and any two checkpoints of a
//! record that cannot both be true, are [`ForkEvidence`] signed by the SRS.
//!
//! **What it cannot prove alone.** One signer can show the owner and a reader different
//! histories: without witnesses, a forked view is caught only when parties compare
//! checkpoints or receipts. [`Witness`]es (after C2SP tlog-witness) keep the last checkpoint
//! they cosigned per record and cosign a new one only with a consistency proof from it;
//! owners and readers require a quorum of cosignatures ([`WitnessPolicy`]), so a fork needs
//! the witnesses to collude. The same check exposes a database rolled back to an older ACL
//! (SPEC §8): its log shrinks or changes. A reader who colludes with the SRS can hide its
//! own receipt; re-encryptions the SRS serves outside its own code (a stolen key row) are
//! not logged at all — the log accounts for what the SRS does, not for what a thief does.
//!
//! **Deployment.** Run two or more witnesses under separate operators; after each append,
//! send the new checkpoint with [`crate::srs::Srs::consistency`] from the witness's last size
//! ([`Witness::last`]) and publish the cosigned checkpoints where owners and readers fetch
//! them; owners audit periodically and keep their [`LogView`].

mod accounting;
mod checkpoint;
mod event;
mod receipt;
mod tree;
#[cfg(test)]
mod tree_tests;
mod witness;

pub use accounting::{
    Accounting, Audit, AuditPage, Disclosure, LogView, LoggedEvent, MAX_AUDIT_PAGE,
};
pub use checkpoint::{
    Checkpoint, Cosignature, KeyId, SignedCheckpoint, WitnessPolicy, MAX_COSIGNATURES,
};
pub use event::{DisclosedItem, Event, LogLeaf};
pub use receipt::DisclosureReceipt;
pub(crate) use tree::{consistency, inclusion, Nodes};
pub use tree::{ConsistencyProof, Frontier, MAX_CONSISTENCY};
pub use witness::Witness;

use core::fmt;

/// What each public type of this module encodes to (checked by `tests/encodings.rs`).
#[doc(hidden)]
pub mod encodings {
    /// Serialize and Deserialize, through the canonical bytes.
    pub const ENCODED: &[&str] = &[
        "AuditPage",
        "ConsistencyProof",
        "Cosignature",
        "DisclosureReceipt",
        "LogLeaf",
        "LogView",
        "SignedCheckpoint",
    ];
    /// Serialize only, and why there is no Deserialize.
    pub const SERIALIZE_ONLY: &[(&str, &str)] = &[];
    /// No encoding, and why.
    pub const NOT_ENCODED: &[(&str, &str)] = &[
        (
            "Accounting",
            "a verified result: made only by an audit (keep the pages)",
        ),
        (
            "Audit",
            "an audit in progress (keep the pages and the view)",
        ),
        (
            "Checkpoint",
            "the statement inside a SignedCheckpoint, encoded with it",
        ),
        ("Disclosure", "a borrowed view into an Accounting"),
        ("DisclosedItem", "part of an Event, encoded in its LogLeaf"),
        ("Event", "part of a LogLeaf, encoded with it"),
        (
            "ForkEvidence",
            "part of an error; its two checkpoints are encoded",
        ),
        ("Frontier", "part of a LogView, encoded with it"),
        (
            "KeyId",
            "a key's hash: derived from the verifying key, encoded in checkpoints",
        ),
        ("LoggedEvent", "an index and a LogLeaf, both encoded"),
        ("LogProblem", "part of an error"),
        (
            "Witness",
            "holds the witness's signing key; its state has state_to_bytes",
        ),
        (
            "WitnessPolicy",
            "configuration: the trusted witness keys and a quorum",
        ),
    ];
}

/// Why a log, a checkpoint, a proof or a receipt was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LogProblem {
    /// A checkpoint or cosignature names another key than the one that verifies it.
    WrongSigner,
    /// A leaf or checkpoint of another record.
    WrongRecord,
    /// An inclusion or consistency proof does not verify, or is for other sizes.
    BadProof,
    /// The events do not make the signed root: one is missing, altered, reordered or
    /// invented.
    EventsDoNotMatch,
    /// An event is stamped earlier than the one before it or later than its checkpoint.
    OutOfOrder,
    /// An audit page does not start where the verified events end, or an audit is not
    /// complete.
    WrongPosition,
    /// An audit page holds fewer events than a full page without reaching its checkpoint.
    ShortPage,
    /// A checkpoint smaller and older than one already seen: a replay, not a fork.
    Stale,
    /// A checkpoint names another ACL than the newest the log applied before it, or an
    /// applied ACL version does not increase: the record was rolled back to an older ACL.
    StaleAcl,
    /// A receipt's leaf is not the disclosure of the operation it is checked for.
    NotThisDisclosure,
    /// A receipt outside the range this accounting covers.
    NotAudited,
    /// Fewer witnesses than the quorum cosigned the checkpoint.
    QuorumNotMet,
}

impl fmt::Display for LogProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LogProblem::WrongSigner => "signed by another key than the one expected",
            LogProblem::WrongRecord => "belongs to another record",
            LogProblem::BadProof => "the proof does not verify",
            LogProblem::EventsDoNotMatch => {
                "the events do not make the signed root (missing, altered, reordered or invented)"
            }
            LogProblem::OutOfOrder => "an event is out of time order",
            LogProblem::WrongPosition => "the audit does not continue where it stands",
            LogProblem::ShortPage => "an audit page stops short of its checkpoint",
            LogProblem::Stale => "an older checkpoint than one already seen",
            LogProblem::StaleAcl => "a checkpoint names an older ACL than the log applied",
            LogProblem::NotThisDisclosure => "the receipt is not for this request",
            LogProblem::NotAudited => "the receipt is outside the audited range",
            LogProblem::QuorumNotMet => "too few witness cosignatures",
        })
    }
}

/// Two checkpoints of one record, both signed by the SRS, that cannot both be true: the same
/// size with two roots, or a strictly later one with fewer leaves (the SRS stamps a record's
/// checkpoints with a clock that never goes back), or a receipt's checkpoint whose root is
/// not the root of the audited events at its size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForkEvidence {
    /// The checkpoint seen first (or the receipt's).
    pub first: SignedCheckpoint,
    /// The one that contradicts it.
    pub second: SignedCheckpoint,
}
