//! Why the SRS refused an operation (or one item of a batch): the failed condition, never a
//! secret.

use core::fmt;

use crate::Error;

macro_rules! refusals {
    ($($(#[$doc:meta])* $name:ident = $byte:literal, $text:literal;)*) => {
        /// Why the SRS (or a writer's or reader's check) refused an operation.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Refusal {
            $($(#[$doc])* $name,)*
        }

        impl Refusal {
            pub(crate) fn to_byte(self) -> u8 {
                match self {
                    $(Refusal::$name => $byte,)*
                }
            }

            pub(crate) fn from_byte(b: u8) -> Result<Self, Error> {
                match b {
                    $($byte => Ok(Refusal::$name),)*
                    _ => Err(Error::invalid("refusal")),
                }
            }

            /// Every refusal (for tests that check each is produced).
            pub const ALL: &'static [Refusal] = &[$(Refusal::$name,)*];
        }

        impl fmt::Display for Refusal {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(match self {
                    $(Refusal::$name => $text,)*
                })
            }
        }
    };
}

crate::macros::serde_via_name!(Refusal, "refusal", Refusal::ALL);

refusals! {
    /// The acting principal is not registered.
    UnknownPrincipal = 1, "principal is not registered";
    /// The acting principal is registered but not active.
    Inactive = 2, "principal is not active";
    /// Only an active administrator may do this.
    NotAdmin = 3, "only an active administrator may do this";
    /// Only the record's owner (an active patient) may do this.
    NotOwner = 4, "only the record owner may do this";
    /// Only the requester (or, to delete, the record's owner) may do this.
    NotRequester = 5, "only the requester may do this";
    /// The SRS has no ACL for the record.
    NoAcl = 6, "no ACL for this record";
    /// The newest ACL has expired.
    AclExpired = 7, "the newest ACL has expired";
    /// The ACL has no such section.
    UnknownSection = 8, "no such section";
    /// The newest ACL does not grant the reader `Read` on that section and epoch.
    NoReadRight = 9, "the ACL grants no read on this section and epoch";
    /// No re-encryption key is stored for that (reader, section, epoch).
    NoKeyStored = 10, "no re-encryption key stored for this reader, section and epoch";
    /// The writer holds no `Write` right on the section (in the newest ACL, or in the
    /// version its entry names).
    NoWriteRight = 11, "no write right on this section";
    /// The key block does not belong to the header.
    HeaderMismatch = 12, "key block does not belong to this header";
    /// The key ids of an update are not exactly the difference its ACL implies (a key
    /// missing, extra, duplicated or out of order).
    KeyMaterialMismatch = 13, "key ids do not match what the ACL implies";
    /// A key value is not the one the owner committed to in the signed ACL's key set.
    KeyNotCommitted = 14, "a key is not in the key set the owner signed";
    /// An approval grants none of what the request asked for.
    ApprovalMismatch = 15, "approval grants nothing the request asked for";
    /// The operation names another SRS.
    WrongSrs = 16, "operation signed for another SRS";
    /// The operation's time is further from the SRS's clock than the window allows.
    OutsideWindow = 17, "operation time outside the accepted window";
    /// The signer's key is not the one registered for the principal.
    WrongSigner = 18, "not signed with the principal's registered key";
    /// The (principal, nonce) pair was used by another operation.
    Replayed = 19, "nonce already used";
    /// No accepted entry with that id in the record.
    UnknownEntry = 20, "no such accepted entry";
    /// The key block is not for the section's current epoch and key.
    KeyBlockNotCurrent = 21, "key block is not for the section's current key";
    /// The entry names an ACL version newer than the newest.
    FutureAclVersion = 22, "entry names an ACL version newer than the newest";
    /// A receipt is not for this entry.
    ReceiptMismatch = 23, "receipt is for another entry";
}
