//! The personal-health-record model (SPEC §1, §4) on top of [`crate::pre`], [`crate::dem`]
//! and [`crate::sign`]: owners, section keys per epoch, the owner-signed ACL and the key
//! material it implies, entries, access requests, and the SRS.

mod acl;
mod entry;
pub(crate) mod ids;
pub(crate) mod keyset;
mod limits;
mod owner;
mod principal;
mod request;
pub(crate) mod succession;
mod update;
pub(crate) mod view;

pub use acl::{
    Acl, AclProblem, AclVerifier, History, ReaderGrant, SectionPolicy, SignedAcl, VerifiedAcl,
};
pub use entry::{BodyHeader, EntryOpener, EntrySealer, KeyBlock, SealedEntry, Unverified};
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
