//! The SRS's configurable limits ([SPEC §7](crate::notes::spec)): what one record and one update may hold, so no
//! signed input makes the SRS allocate or loop beyond what its operator allowed.

/// Limits the SRS enforces on every ACL update, with a typed refusal
/// ([`crate::Error::LimitExceeded`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct Limits {
    /// Sections in one record's ACL.
    pub sections_per_record: usize,
    /// Readers of one section.
    pub readers_per_section: usize,
    /// Writers of one section.
    pub writers_per_section: usize,
    /// Re-encryption keys one record's ACL may imply.
    pub keys_per_record: u64,
    /// Keys added plus keys deleted by one update.
    pub key_changes_per_update: usize,
}

impl Limits {
    /// The most keys an owner computes for one of its own ACLs (2^20).
    pub const OWNER_MAX_KEYS: u64 = 1 << 20;
}

impl Default for Limits {
    /// 64 sections per record, 1 024 readers and 256 writers per section, 65 536 keys per
    /// record, 4 096 key changes per update.
    fn default() -> Self {
        Self {
            sections_per_record: 64,
            readers_per_section: 1024,
            writers_per_section: 256,
            keys_per_record: 1 << 16,
            key_changes_per_update: 4096,
        }
    }
}
