//! The events of a record's disclosure log (SPEC §9) and the salted leaves that carry them.
//!
//! A leaf is `tag ‖ version ‖ salt (16) ‖ record (16) ‖ time (u64) ‖ event type ‖ fields`;
//! its tree hash is `SHA-256(0x00 ‖ lp("sesphr/v1/log") ‖ leaf)`. The 16 random salt bytes
//! make a leaf hash that appears as a sibling in someone else's proof impossible to
//! brute-force into "who read what"; leaves hold opaque ids and fingerprints only, never
//! names or data.

use alloc::vec::Vec;

use crate::encoding::{self, Reader, Tag};
use crate::log::KeyId;
use crate::merkle::{self, Hash};
use crate::phr::{
    AclHash, AclVersion, EntryId, Epoch, Fingerprint, RecordId, RequestId, RequestState, SectionId,
    Timestamp,
};
use crate::Error;

/// One entry a re-encryption served: which, from which section and epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DisclosedItem {
    /// The entry.
    pub entry: EntryId,
    /// Its section.
    pub section: SectionId,
    /// The epoch of the key block that was re-encrypted.
    pub epoch: Epoch,
}

/// Something that happened to a record, as its log records it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Event {
    /// The owner's ACL version was applied.
    AclApplied {
        /// Its version.
        version: AclVersion,
        /// The hash of its canonical encoding.
        acl: AclHash,
    },
    /// The write gate accepted an entry.
    EntryAccepted {
        /// The entry.
        entry: EntryId,
        /// Its section.
        section: SectionId,
        /// The writer's key fingerprint.
        writer: Fingerprint,
    },
    /// The SRS served one re-encryption request (a batch is one event).
    Disclosed {
        /// SHA-256 of the reader's signed operation: the SRS cannot invent a disclosure it
        /// cannot show the reader's signature for.
        operation: Hash,
        /// The reader's key fingerprint.
        reader: Fingerprint,
        /// What was re-encrypted for it (the items served, not the ones refused).
        items: Vec<DisclosedItem>,
    },
    /// An access request changed state (`Pending` when it was filed).
    Request {
        /// The request.
        request: RequestId,
        /// Its new state.
        state: RequestState,
    },
    /// The SRS signs this log's checkpoints with a new key from here on.
    KeyRotated {
        /// The key that signed the checkpoints before.
        old: KeyId,
        /// The key that signs them now.
        new: KeyId,
    },
}

impl Event {
    fn kind(&self) -> u8 {
        match self {
            Event::AclApplied { .. } => 1,
            Event::EntryAccepted { .. } => 2,
            Event::Disclosed { .. } => 3,
            Event::Request { .. } => 4,
            Event::KeyRotated { .. } => 5,
        }
    }

    /// Encodes the event. Leaves are made only by the SRS (at most [`crate::srs::MAX_BATCH`]
    /// items per disclosure) or decoded (checked), so every count fits.
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.kind());
        match self {
            Event::AclApplied { version, acl } => {
                out.extend_from_slice(&version.0.to_be_bytes());
                out.extend_from_slice(acl.as_bytes());
            }
            Event::EntryAccepted {
                entry,
                section,
                writer,
            } => {
                out.extend_from_slice(entry.as_bytes());
                out.extend_from_slice(section.as_bytes());
                out.extend_from_slice(writer.as_bytes());
            }
            Event::Disclosed {
                operation,
                reader,
                items,
            } => {
                out.extend_from_slice(operation);
                out.extend_from_slice(reader.as_bytes());
                let _ = encoding::put_count(out, "disclosure event", items.len());
                for i in items {
                    out.extend_from_slice(i.entry.as_bytes());
                    out.extend_from_slice(i.section.as_bytes());
                    out.extend_from_slice(&i.epoch.0.to_be_bytes());
                }
            }
            Event::Request { request, state } => {
                out.extend_from_slice(request.as_bytes());
                out.push(state.to_byte());
            }
            Event::KeyRotated { old, new } => {
                out.extend_from_slice(old.as_bytes());
                out.extend_from_slice(new.as_bytes());
            }
        }
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(match r.u8()? {
            1 => Event::AclApplied {
                version: AclVersion(r.u64()?),
                acl: AclHash(r.array()?),
            },
            2 => Event::EntryAccepted {
                entry: EntryId::new(r.array()?),
                section: SectionId::new(r.array()?),
                writer: Fingerprint::new(r.array()?),
            },
            3 => {
                let operation = r.array()?;
                let reader = Fingerprint::new(r.array()?);
                let n = r.count(36)?;
                if n == 0 || n > crate::srs::MAX_BATCH {
                    return Err(Error::invalid("disclosure event"));
                }
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(DisclosedItem {
                        entry: EntryId::new(r.array()?),
                        section: SectionId::new(r.array()?),
                        epoch: Epoch(r.u32()?),
                    });
                }
                Event::Disclosed {
                    operation,
                    reader,
                    items,
                }
            }
            4 => Event::Request {
                request: RequestId::new(r.array()?),
                state: RequestState::from_byte(r.u8()?)?,
            },
            5 => Event::KeyRotated {
                old: KeyId(r.array()?),
                new: KeyId(r.array()?),
            },
            _ => return Err(Error::invalid("log event type")),
        })
    }
}

/// One leaf of a record's log: a salted, timed event of one record.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct LogLeaf {
    salt: [u8; 16],
    record: RecordId,
    time: Timestamp,
    event: Event,
}

impl LogLeaf {
    pub(crate) fn new(salt: [u8; 16], record: RecordId, time: Timestamp, event: Event) -> Self {
        Self {
            salt,
            record,
            time,
            event,
        }
    }

    /// The record whose log holds it.
    pub fn record(&self) -> RecordId {
        self.record
    }

    /// When the SRS recorded it (the record's clock: never earlier than the leaf before).
    pub fn time(&self) -> Timestamp {
        self.time
    }

    /// What happened.
    pub fn event(&self) -> &Event {
        &self.event
    }

    /// Its tree hash: `SHA-256(0x00 ‖ lp("sesphr/v1/log") ‖ leaf bytes)`.
    pub fn hash(&self) -> Hash {
        Self::hash_bytes(&self.to_bytes())
    }

    pub(crate) fn hash_bytes(bytes: &[u8]) -> Hash {
        let mut data = Vec::with_capacity(16 + bytes.len());
        encoding::label(&mut data, b"sesphr/v1/log");
        data.extend_from_slice(bytes);
        merkle::leaf_hash(&data)
    }

    /// The canonical encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(128);
        encoding::header(&mut out, Tag::LogLeaf);
        out.extend_from_slice(&self.salt);
        out.extend_from_slice(self.record.as_bytes());
        out.extend_from_slice(&self.time.0.to_be_bytes());
        self.event.encode(&mut out);
        out
    }

    /// Decodes one leaf.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::envelope(bytes, Tag::LogLeaf, "log leaf")?;
        let leaf = Self::read(&mut r)?;
        r.finish()?;
        Ok(leaf)
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(Self {
            salt: r.array()?,
            record: RecordId::new(r.array()?),
            time: Timestamp(r.u64()?),
            event: Event::decode(r)?,
        })
    }
}

crate::macros::serde_via_bytes!(LogLeaf, "log leaf");
