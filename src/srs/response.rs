//! What the SRS answers (canonical encodings, so any transport carries them unchanged and an
//! exact retry of a committed operation gets the same bytes back).

use alloc::boxed::Box;
use alloc::vec::Vec;

use crate::encoding::{self, Reader, Tag};
use crate::log::{AuditPage, DisclosureReceipt};
use crate::phr::{EntryId, KeyBlock, RequestId, RequestState, Role};
use crate::pre::ReCapsule;
use crate::srs::{Receipt, Refusal};
use crate::Error;

/// One re-encrypted entry: the key block the SRS holds (possibly re-wrapped since the entry
/// was written) and the re-encrypted capsule of that key block.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct Reencrypted {
    /// The entry.
    pub entry: EntryId,
    /// The current key block (put it on the entry with
    /// [`crate::phr::SealedEntry::with_key_block`]).
    pub key_block: KeyBlock,
    /// The re-encrypted capsule.
    pub recapsule: ReCapsule,
}

/// The SRS's answer to a committed operation.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Response {
    /// The operation was applied; nothing to return.
    Done,
    /// The signer's registration (login).
    Status {
        /// Its role.
        role: Role,
        /// Whether it is active.
        active: bool,
    },
    /// A request was filed under this id.
    RequestFiled(RequestId),
    /// A request was approved with this outcome.
    Approved(RequestState),
    /// An entry was accepted (boxed: a receipt is much larger than the other answers).
    Accepted(Box<Receipt>),
    /// One result per entry asked for, in order, and — if any was served and the SRS
    /// keeps the disclosure log — the receipt of the disclosure (boxed: it is large).
    Reencrypted {
        /// One result per entry asked for.
        items: Vec<Result<Reencrypted, Refusal>>,
        /// The log's receipt for the served items.
        receipt: Option<Box<DisclosureReceipt>>,
    },
    /// One page of the record's disclosure log (the owner's audit).
    Audit(Box<AuditPage>),
}

impl Response {
    /// The canonical encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        encoding::header(&mut out, Tag::Response);
        match self {
            Response::Done => out.push(0),
            Response::Status { role, active } => {
                out.push(1);
                out.push(role.to_byte());
                out.push(u8::from(*active));
            }
            Response::RequestFiled(id) => {
                out.push(2);
                out.extend_from_slice(id.as_bytes());
            }
            Response::Approved(state) => {
                out.push(3);
                out.push(state.to_byte());
            }
            Response::Accepted(receipt) => {
                out.push(4);
                out.extend_from_slice(&receipt.to_bytes());
            }
            Response::Reencrypted { items, receipt } => {
                out.push(5);
                // A batch is at most MAX_BATCH items.
                let _ = encoding::put_count(&mut out, "batch", items.len());
                for item in items {
                    match item {
                        Ok(r) => {
                            out.push(0);
                            out.extend_from_slice(r.entry.as_bytes());
                            let kb = r.key_block.to_bytes();
                            let _ = encoding::put_lp32(&mut out, "key block", &kb);
                            out.extend_from_slice(&r.recapsule.to_bytes());
                        }
                        Err(refusal) => {
                            out.push(1);
                            out.push(refusal.to_byte());
                        }
                    }
                }
                match receipt {
                    Some(receipt) => {
                        out.push(1);
                        receipt.write(&mut out);
                    }
                    None => out.push(0),
                }
            }
            Response::Audit(page) => {
                out.push(6);
                page.write(&mut out);
            }
        }
        out
    }

    /// Decodes, checking every point and GT element (a response comes from the SRS: not
    /// trusted by readers).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        Self::decode(bytes, false)
    }

    /// Decodes a response the SRS stored itself (an exact retry's answer): no point or GT
    /// checks, so replaying a captured batch costs the SRS a row read, not 256 subgroup
    /// checks.
    pub(crate) fn from_bytes_trusted(bytes: &[u8]) -> Result<Self, Error> {
        Self::decode(bytes, true)
    }

    fn decode(bytes: &[u8], trusted: bool) -> Result<Self, Error> {
        let what = "response";
        let mut r = Reader::envelope(bytes, Tag::Response, what)?;
        if trusted {
            r = r.trusting();
        }
        let out = match r.u8()? {
            0 => Response::Done,
            1 => Response::Status {
                role: Role::from_byte(r.u8()?)?,
                active: r.bool()?,
            },
            2 => Response::RequestFiled(RequestId::new(r.array()?)),
            3 => Response::Approved(RequestState::from_byte(r.u8()?)?),
            4 => Response::Accepted(Box::new(Receipt::from_bytes(r.take(Receipt::SIZE)?)?)),
            5 => {
                let n = r.count(2)?;
                if n > crate::srs::MAX_BATCH {
                    return Err(Error::invalid(what));
                }
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(match r.u8()? {
                        0 => {
                            let entry = EntryId::new(r.array()?);
                            let (kb, rc) = (r.lp32()?, r.take(ReCapsule::SIZE)?);
                            let (key_block, recapsule) = if trusted {
                                (
                                    KeyBlock::from_bytes_trusted(kb)?,
                                    ReCapsule::from_bytes_trusted(rc)?,
                                )
                            } else {
                                (KeyBlock::from_bytes(kb)?, ReCapsule::from_bytes(rc)?)
                            };
                            Ok(Reencrypted {
                                entry,
                                key_block,
                                recapsule,
                            })
                        }
                        1 => Err(Refusal::from_byte(r.u8()?)?),
                        _ => return Err(Error::invalid(what)),
                    });
                }
                let receipt = match r.bool()? {
                    true => Some(Box::new(DisclosureReceipt::read(&mut r)?)),
                    false => None,
                };
                Response::Reencrypted { items, receipt }
            }
            6 => Response::Audit(Box::new(AuditPage::read(&mut r)?)),
            _ => return Err(Error::invalid(what)),
        };
        r.finish()?;
        Ok(out)
    }
}

crate::macros::serde_via_bytes!(Response, "response");
