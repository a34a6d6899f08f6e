//! The crate's one error type.

use core::fmt;

/// Everything that can go wrong in `sesphr`.
///
/// Variants name the failed condition, never a secret. Authentication failures are
/// deliberately opaque: [`Error::DecryptionFailed`] does not say which byte or which
/// check failed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The input has the wrong length, trailing bytes or a malformed field.
    InvalidEncoding {
        /// What was being decoded (the innermost value whose decoder failed: a key bundle
        /// inside an ACL says "key bundle").
        what: &'static str,
        /// The field of `what` that failed (`"section readers"`, `"trailing bytes"`, …),
        /// where the decoder knows it.
        field: Option<&'static str>,
    },
    /// The type tag in front of an encoding is not the one expected.
    UnknownTag {
        /// What was being decoded.
        what: &'static str,
        /// The tag found.
        tag: u8,
    },
    /// The format version is not one this crate understands.
    UnknownVersion {
        /// What was being decoded.
        what: &'static str,
        /// The version found.
        version: u8,
    },
    /// A curve point is not a canonical encoding of a point on the curve.
    InvalidPoint {
        /// What was being decoded.
        what: &'static str,
    },
    /// A curve point is the identity (point at infinity).
    IdentityPoint {
        /// What was being decoded.
        what: &'static str,
    },
    /// A curve point is on the curve but not in the prime-order subgroup.
    NotInSubgroup {
        /// What was being decoded.
        what: &'static str,
    },
    /// A scalar is not the canonical encoding of an element of `Fr`.
    NonCanonicalScalar {
        /// What was being decoded.
        what: &'static str,
    },
    /// A scalar is zero where zero is not allowed.
    ZeroScalar {
        /// What was being decoded or derived.
        what: &'static str,
    },
    /// A GT element failed one of the checks of SPEC §2.
    InvalidGtElement(GtCheck),
    /// Authenticated decryption failed (wrong key, tampered data, truncation, reordering).
    DecryptionFailed,
    /// A signature did not verify for the given key, purpose and message.
    BadSignature,
    /// A length-prefixed field is longer than 65 535 bytes, or a body has too many segments.
    TooLong {
        /// What was too long.
        what: &'static str,
    },
    /// A human-readable name (section, record) is not acceptable.
    InvalidName {
        /// Why the name was refused.
        reason: &'static str,
    },
    /// A streaming operation was used out of order (after its final segment, for example).
    StreamMisuse {
        /// What was wrong.
        reason: &'static str,
    },
    /// The operation is not allowed by the access-control list or the registry.
    NotAuthorized {
        /// The failed condition.
        refusal: crate::srs::Refusal,
        /// The section concerned, where known.
        section: Option<crate::phr::SectionId>,
        /// The epoch concerned, where known.
        epoch: Option<crate::phr::Epoch>,
        /// The principal refused (a reader's or writer's key fingerprint), where known.
        principal: Option<crate::phr::Fingerprint>,
    },
    /// The SRS's store refused or failed: [`crate::srs::StoreError::Conflict`] means a row
    /// changed concurrently and the operation should be run again.
    Store(crate::srs::StoreError),
    /// An ACL was refused: stale, expired, or not for this record.
    AclRejected {
        /// The record the refused ACL governs.
        record: crate::phr::RecordId,
        /// The refused ACL's version.
        version: crate::phr::AclVersion,
        /// Why it was refused.
        problem: crate::phr::AclProblem,
    },
    /// An access request cannot move from its current state by this action.
    IllegalTransition {
        /// The state the request is in.
        from: crate::phr::RequestState,
        /// The action attempted.
        action: crate::phr::RequestAction,
    },
    /// A principal, request, section or key that the operation names does not exist.
    NotFound {
        /// What was not found.
        what: &'static str,
    },
    /// Something that must be unique already exists.
    AlreadyExists {
        /// What already exists.
        what: &'static str,
    },
    /// An input exceeds one of the SRS's configured limits (sections per record, readers or
    /// writers per section, keys per record, key changes per update).
    LimitExceeded {
        /// Which limit.
        what: &'static str,
        /// Its configured value.
        limit: u64,
    },
    /// An action is stamped earlier than the last one of the record it is added to.
    ClockWentBackwards {
        /// The time of the last recorded action.
        last: crate::phr::Timestamp,
        /// The earlier time offered.
        offered: crate::phr::Timestamp,
    },
    /// A change to an ACL makes no sense in its current state (grant to a missing section, …).
    InvalidChange {
        /// Why the change was refused.
        reason: &'static str,
    },
    /// A disclosure log, checkpoint, proof or receipt was refused (SPEC §9).
    Log(crate::log::LogProblem),
    /// Two checkpoints of one record, both signed by the SRS, cannot both be true: evidence
    /// of a forked or rolled-back log (boxed: it carries both).
    LogFork(alloc::boxed::Box<crate::log::ForkEvidence>),
}

/// Which GT check of SPEC §2 failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GtCheck {
    /// The element is zero or one.
    Trivial,
    /// The element is not in the cyclotomic subgroup (`f^(p^4)·f ≠ f^(p^2)`).
    NotCyclotomic,
    /// The element is cyclotomic but not of order r (`f^p ≠ f^u`).
    WrongOrder,
}

impl fmt::Display for GtCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GtCheck::Trivial => "GT element is zero or one",
            GtCheck::NotCyclotomic => "GT element is not in the cyclotomic subgroup",
            GtCheck::WrongOrder => "GT element is not of prime order r",
        })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidEncoding { what, field: None } => write!(f, "invalid encoding of {what}"),
            Error::InvalidEncoding {
                what,
                field: Some(field),
            } => write!(f, "invalid encoding of {what} (at {field})"),
            Error::UnknownTag { what, tag } => write!(f, "unknown type tag {tag:#04x} for {what}"),
            Error::UnknownVersion { what, version } => {
                write!(f, "unknown format version {version} for {what}")
            }
            Error::InvalidPoint { what } => write!(f, "{what} is not a valid curve point"),
            Error::IdentityPoint { what } => write!(f, "{what} is the identity point"),
            Error::NotInSubgroup { what } => {
                write!(f, "{what} is not in the prime-order subgroup")
            }
            Error::NonCanonicalScalar { what } => write!(f, "{what} is not a canonical scalar"),
            Error::ZeroScalar { what } => write!(f, "{what} is zero"),
            Error::InvalidGtElement(check) => write!(f, "{check}"),
            Error::DecryptionFailed => f.write_str("decryption failed"),
            Error::BadSignature => f.write_str("signature verification failed"),
            Error::TooLong { what } => write!(f, "{what} is too long"),
            Error::InvalidName { reason } => write!(f, "invalid name: {reason}"),
            Error::StreamMisuse { reason } => write!(f, "stream misuse: {reason}"),
            Error::NotAuthorized {
                refusal,
                section,
                epoch,
                principal,
            } => {
                write!(f, "not authorized: {refusal}")?;
                let mut sep = " (";
                if let Some(s) = section {
                    write!(f, "{sep}section {s}")?;
                    sep = ", ";
                }
                if let Some(e) = epoch {
                    write!(f, "{sep}epoch {e}")?;
                    sep = ", ";
                }
                if let Some(p) = principal {
                    write!(f, "{sep}key {}", p.short())?;
                    sep = ", ";
                }
                if sep == ", " {
                    f.write_str(")")?;
                }
                Ok(())
            }
            Error::Store(e) => write!(f, "store: {e}"),
            Error::AclRejected {
                record,
                version,
                problem,
            } => write!(
                f,
                "ACL version {version} of record {record} rejected: {problem}"
            ),
            Error::IllegalTransition { from, action } => {
                write!(f, "cannot {action} a request that is {from}")
            }
            Error::NotFound { what } => write!(f, "{what} not found"),
            Error::AlreadyExists { what } => write!(f, "{what} already exists"),
            Error::LimitExceeded { what, limit } => {
                write!(f, "{what} exceed the limit of {limit}")
            }
            Error::ClockWentBackwards { last, offered } => write!(
                f,
                "time {offered} is earlier than the last recorded action at {last}"
            ),
            Error::InvalidChange { reason } => write!(f, "invalid ACL change: {reason}"),
            Error::Log(problem) => write!(f, "disclosure log: {problem}"),
            Error::LogFork(e) => write!(
                f,
                "disclosure log forked: checkpoints of size {} and {} cannot both be true",
                e.first.checkpoint_unverified().size,
                e.second.checkpoint_unverified().size
            ),
        }
    }
}

impl core::error::Error for Error {}

impl Error {
    /// A refusal without context.
    pub(crate) const fn refused(refusal: crate::srs::Refusal) -> Self {
        Error::NotAuthorized {
            refusal,
            section: None,
            epoch: None,
            principal: None,
        }
    }

    /// A refusal concerning `section` and, where known, `epoch` and `principal`.
    pub(crate) const fn refused_in(
        refusal: crate::srs::Refusal,
        section: crate::phr::SectionId,
        epoch: Option<crate::phr::Epoch>,
        principal: Option<crate::phr::Fingerprint>,
    ) -> Self {
        Error::NotAuthorized {
            refusal,
            section: Some(section),
            epoch,
            principal,
        }
    }

    /// `acl` was refused because of `problem`.
    pub(crate) fn acl_rejected(acl: &crate::phr::Acl, problem: crate::phr::AclProblem) -> Self {
        Error::AclRejected {
            record: acl.record(),
            version: acl.version(),
            problem,
        }
    }

    /// A malformed encoding of `what`, with no field named.
    pub(crate) const fn invalid(what: &'static str) -> Self {
        Error::InvalidEncoding { what, field: None }
    }
}
