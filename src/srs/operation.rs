//! Authenticated operations (SPEC §8): what a principal asks the SRS to do, signed by that
//! principal with purpose [`Purpose::Op`] over
//! `format version ‖ SRS id ‖ principal id ‖ signer's key fingerprint ‖ time ‖ nonce ‖
//! operation type ‖ operation body`. The identity of the actor comes from this signature,
//! never from a parameter.

use alloc::vec::Vec;

use rand_core::{CryptoRng, RngCore};

use crate::encoding::{self, Reader, Tag};
use crate::phr::{
    AclUpdate, BodyHeader, EntryId, Fingerprint, KeyBlock, KeyBundle, PrincipalId, PrincipalKeys,
    RecordId, RequestId, Right, Role, SectionId, Timestamp,
};
use crate::sign::{Purpose, Signature, VerifyingKey};
use crate::Error;

/// The SRS's identity: `SHA-256(lp("sesphr/v1/srs-id") ‖ lp(verifying key) ‖ lp(name))` over
/// its signing key and its deployment name. Operations name it, so one signed for another
/// SRS (or another deployment with the same key) is refused.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SrsId(pub(crate) [u8; 32]);

impl SrsId {
    /// The id of the SRS with `key` deployed as `name`.
    pub fn new(key: &VerifyingKey, name: &str) -> Self {
        let mut m = Vec::new();
        encoding::label(&mut m, b"sesphr/v1/srs-id");
        encoding::put_lp_short(&mut m, &key.to_bytes());
        encoding::put_lp_short(&mut m, name.as_bytes());
        Self(encoding::sha256(&[&m]))
    }

    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The 32 bytes, as an array (its canonical encoding).
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0
    }

    /// From its 32 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        Ok(Self(
            bytes.try_into().map_err(|_| Error::invalid("SRS id"))?,
        ))
    }
}

crate::macros::serde_via_bytes!(SrsId, "SRS id");

impl core::fmt::Debug for SrsId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "SrsId(")?;
        for b in self.0.iter().take(6) {
            write!(f, "{b:02x}")?;
        }
        write!(f, "..)")
    }
}

/// The most entries one re-encryption batch may name.
pub const MAX_BATCH: usize = 256;

/// A batch names one to [`MAX_BATCH`] distinct entries.
pub(crate) fn check_batch(entries: &[EntryId]) -> Result<(), Error> {
    if entries.len() > MAX_BATCH {
        return Err(Error::LimitExceeded {
            what: "entries per re-encryption batch",
            limit: MAX_BATCH as u64,
        });
    }
    let mut sorted = entries.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    if entries.is_empty() || sorted.len() != entries.len() {
        return Err(Error::invalid(
            "re-encryption batch (one or more distinct entries)",
        ));
    }
    Ok(())
}

/// What a principal asks the SRS to do.
///
/// serde: externally tagged in snake case (`"login"`, `{"activate": {"target": …}}`); the
/// signed form is [`SignedOperation`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(rename_all = "snake_case", deny_unknown_fields)
)]
#[non_exhaustive]
pub enum Operation {
    /// Registers the signer under its principal id with these keys (inactive until an
    /// administrator activates it). The operation's signature, by `bundle`'s signing key over
    /// the SRS id and the principal id, is the proof of possession.
    Register {
        /// The role asked for.
        role: Role,
        /// The public keys.
        bundle: KeyBundle,
    },
    /// An administrator activates a principal.
    Activate {
        /// Whom.
        target: PrincipalId,
    },
    /// An administrator deactivates a principal.
    Deactivate {
        /// Whom.
        target: PrincipalId,
    },
    /// Returns the signer's registration status (login). A read-only status query: it
    /// records no nonce, so anyone holding the signed bytes can replay it within the time
    /// window and learn the same status. It proves the key holder signed recently, not who
    /// is on the other end of a connection: applications bind sessions with their
    /// transport.
    Login,
    /// The owner applies an ACL update (a record's first ACL creates the record).
    ApplyUpdate(AclUpdate),
    /// Asks the owner of `record` for `right` on `sections`.
    Request {
        /// The record.
        record: RecordId,
        /// The right.
        right: Right,
        /// The sections (distinct, at least one).
        sections: Vec<SectionId>,
    },
    /// The owner approves a request with the update that grants it.
    Approve {
        /// The request.
        request: RequestId,
        /// The update.
        update: AclUpdate,
    },
    /// The owner rejects a request.
    Reject {
        /// The request.
        request: RequestId,
    },
    /// The requester withdraws its request.
    Withdraw {
        /// The request.
        request: RequestId,
    },
    /// The requester or the record owner deletes a closed request.
    DeleteRequest {
        /// The request.
        request: RequestId,
    },
    /// A writer submits a new entry to the write gate.
    SubmitEntry {
        /// The entry's header.
        header: BodyHeader,
        /// Its key block.
        key_block: KeyBlock,
        /// SHA-256 of its body ciphertext.
        #[cfg_attr(feature = "serde", serde(with = "crate::serde_bytes::hex"))]
        body_hash: [u8; 32],
        /// The writer's signature over the header and body hashes.
        signature: Signature,
    },
    /// A reader asks for re-encryptions of accepted entries of one record.
    Reencrypt {
        /// The record.
        record: RecordId,
        /// The entries (at most [`MAX_BATCH`], distinct).
        entries: Vec<EntryId>,
    },
    /// The owner replaces an accepted entry's key block (re-wrap).
    Rewrap {
        /// The record.
        record: RecordId,
        /// The entry.
        entry: EntryId,
        /// The owner-signed replacement key block.
        key_block: KeyBlock,
    },
    /// The owner asks for its record's disclosure log from leaf `from` (the size of its
    /// last verified view): one page of events and the newest checkpoint. A read-only
    /// query, like [`Operation::Login`]: it records no nonce.
    Audit {
        /// The record.
        record: RecordId,
        /// The first leaf wanted.
        from: u64,
    },
}

impl Operation {
    fn kind(&self) -> u8 {
        match self {
            Operation::Register { .. } => 1,
            Operation::Activate { .. } => 2,
            Operation::Deactivate { .. } => 3,
            Operation::Login => 4,
            Operation::ApplyUpdate(_) => 5,
            Operation::Request { .. } => 6,
            Operation::Approve { .. } => 7,
            Operation::Reject { .. } => 8,
            Operation::Withdraw { .. } => 9,
            Operation::DeleteRequest { .. } => 10,
            Operation::SubmitEntry { .. } => 11,
            Operation::Reencrypt { .. } => 12,
            Operation::Rewrap { .. } => 13,
            Operation::Audit { .. } => 14,
        }
    }

    fn body(&self) -> Result<Vec<u8>, Error> {
        let mut b = Vec::new();
        match self {
            Operation::Register { role, bundle } => {
                b.push(role.to_byte());
                b.extend_from_slice(&bundle.to_bytes());
            }
            Operation::Activate { target } | Operation::Deactivate { target } => {
                b.extend_from_slice(target.as_bytes());
            }
            Operation::Login => {}
            Operation::ApplyUpdate(u) => b.extend_from_slice(&u.to_bytes()),
            Operation::Request {
                record,
                right,
                sections,
            } => {
                b.extend_from_slice(record.as_bytes());
                crate::phr::encode_right(*right, &mut b);
                encoding::put_count(&mut b, "request sections", sections.len())?;
                for s in sections {
                    b.extend_from_slice(s.as_bytes());
                }
            }
            Operation::Approve { request, update } => {
                b.extend_from_slice(request.as_bytes());
                b.extend_from_slice(&update.to_bytes());
            }
            Operation::Reject { request }
            | Operation::Withdraw { request }
            | Operation::DeleteRequest { request } => b.extend_from_slice(request.as_bytes()),
            Operation::SubmitEntry {
                header,
                key_block,
                body_hash,
                signature,
            } => {
                b.extend_from_slice(&header.to_bytes());
                b.extend_from_slice(body_hash);
                b.extend_from_slice(&signature.to_bytes());
                b.extend_from_slice(&key_block.to_bytes());
            }
            Operation::Reencrypt { record, entries } => {
                check_batch(entries)?;
                b.extend_from_slice(record.as_bytes());
                encoding::put_count(&mut b, "batch", entries.len())?;
                for e in entries {
                    b.extend_from_slice(e.as_bytes());
                }
            }
            Operation::Rewrap {
                record,
                entry,
                key_block,
            } => {
                b.extend_from_slice(record.as_bytes());
                b.extend_from_slice(entry.as_bytes());
                b.extend_from_slice(&key_block.to_bytes());
            }
            Operation::Audit { record, from } => {
                b.extend_from_slice(record.as_bytes());
                b.extend_from_slice(&from.to_be_bytes());
            }
        }
        Ok(b)
    }

    fn decode(kind: u8, body: &[u8]) -> Result<Self, Error> {
        let what = "operation";
        let mut r = Reader::raw(body, what);
        let op = match kind {
            1 => Operation::Register {
                role: Role::from_byte(r.u8()?)?,
                bundle: KeyBundle::from_bytes(r.take(KeyBundle::SIZE)?)?,
            },
            2 => Operation::Activate {
                target: PrincipalId::new(r.array()?),
            },
            3 => Operation::Deactivate {
                target: PrincipalId::new(r.array()?),
            },
            4 => Operation::Login,
            5 => Operation::ApplyUpdate(AclUpdate::from_bytes(r.rest())?),
            6 => Operation::Request {
                record: RecordId::new(r.array()?),
                right: crate::phr::decode_right(&mut r)?,
                sections: {
                    let n = r.count(16)?;
                    let mut s = Vec::with_capacity(n);
                    for _ in 0..n {
                        s.push(SectionId::new(r.array()?));
                    }
                    s
                },
            },
            7 => Operation::Approve {
                request: RequestId::new(r.array()?),
                update: AclUpdate::from_bytes(r.rest())?,
            },
            8 => Operation::Reject {
                request: RequestId::new(r.array()?),
            },
            9 => Operation::Withdraw {
                request: RequestId::new(r.array()?),
            },
            10 => Operation::DeleteRequest {
                request: RequestId::new(r.array()?),
            },
            11 => Operation::SubmitEntry {
                header: BodyHeader::from_bytes(r.take(BodyHeader::SIZE)?)?,
                body_hash: r.array()?,
                signature: Signature::from_bytes(r.take(Signature::SIZE)?)?,
                key_block: KeyBlock::from_bytes(r.rest())?,
            },
            12 => {
                let record = RecordId::new(r.array()?);
                let n = r.count(16)?;
                if n > MAX_BATCH {
                    return Err(Error::LimitExceeded {
                        what: "entries per re-encryption batch",
                        limit: MAX_BATCH as u64,
                    });
                }
                let mut entries = Vec::with_capacity(n);
                for _ in 0..n {
                    entries.push(EntryId::new(r.array()?));
                }
                check_batch(&entries)?;
                Operation::Reencrypt { record, entries }
            }
            13 => Operation::Rewrap {
                record: RecordId::new(r.array()?),
                entry: EntryId::new(r.array()?),
                key_block: KeyBlock::from_bytes(r.rest())?,
            },
            14 => Operation::Audit {
                record: RecordId::new(r.array()?),
                from: r.u64()?,
            },
            _ => return Err(Error::invalid(what)),
        };
        r.finish()?;
        Ok(op)
    }
}

/// The largest operation body the SRS decodes (an ACL update at the default limits is well
/// below it).
pub const MAX_BODY: usize = 8 << 20;

/// The operation type of a registration (its body carries the key that verifies it).
pub(crate) const REGISTER: u8 = 1;

/// An operation signed by the principal it acts for.
///
/// Decoding reads only the envelope: the body is decoded by [`SignedOperation::operation`],
/// which the SRS calls only after the signature verified, so an unauthenticated sender
/// cannot make it check thousands of curve points.
#[derive(Clone, Debug)]
pub struct SignedOperation {
    pub(crate) srs: SrsId,
    pub(crate) principal: PrincipalId,
    pub(crate) signer: Fingerprint,
    pub(crate) time: Timestamp,
    pub(crate) nonce: [u8; 16],
    kind: u8,
    /// The operation, when this value was signed here (not decoded from bytes).
    op: Option<Operation>,
    body: Vec<u8>,
    pub(crate) signature: Signature,
}

impl PartialEq for SignedOperation {
    fn eq(&self, other: &Self) -> bool {
        self.to_bytes() == other.to_bytes()
    }
}

impl Eq for SignedOperation {}

impl SignedOperation {
    /// Signs `op` for the SRS `srs`, acting as `principal` with `keys` at time `now`, with a
    /// fresh random nonce.
    pub fn sign<R: RngCore + CryptoRng + ?Sized>(
        keys: &PrincipalKeys,
        srs: SrsId,
        principal: PrincipalId,
        op: Operation,
        now: Timestamp,
        rng: &mut R,
    ) -> Result<Self, Error> {
        let mut nonce = [0u8; 16];
        rng.fill_bytes(&mut nonce);
        Self::sign_with_nonce(keys, srs, principal, op, now, nonce, rng)
    }

    /// [`SignedOperation::sign`] with a nonce the caller chose (a client that derives its
    /// nonces, e.g. to make retries reproducible). A nonce used for one operation must never
    /// be used for another: the SRS refuses the second as a replay.
    pub fn sign_with_nonce<R: RngCore + CryptoRng + ?Sized>(
        keys: &PrincipalKeys,
        srs: SrsId,
        principal: PrincipalId,
        op: Operation,
        now: Timestamp,
        nonce: [u8; 16],
        rng: &mut R,
    ) -> Result<Self, Error> {
        let body = op.body()?;
        if body.len() > MAX_BODY {
            return Err(Error::TooLong { what: "operation" });
        }
        let signer = keys.bundle().fingerprint();
        let f = Self::fields(&srs, principal, &signer, now, &nonce, op.kind(), &body);
        let refs: Vec<&[u8]> = f.iter().map(|c| c.as_ref()).collect();
        let signature = keys.signing_key().sign(Purpose::Op, &refs, rng)?;
        Ok(Self {
            srs,
            principal,
            signer,
            time: now,
            nonce,
            kind: op.kind(),
            op: Some(op),
            body,
            signature,
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn fields<'a>(
        srs: &'a SrsId,
        principal: PrincipalId,
        signer: &'a Fingerprint,
        time: Timestamp,
        nonce: &'a [u8; 16],
        kind: u8,
        body: &'a [u8],
    ) -> [alloc::borrow::Cow<'a, [u8]>; 8] {
        use alloc::borrow::Cow;
        // The body is signed by its hash: bodies may exceed a signed field's 64 KiB.
        [
            Cow::Owned(alloc::vec![Tag::SignedOperation.version()]),
            Cow::Borrowed(srs.as_bytes()),
            Cow::Owned(principal.as_bytes().to_vec()),
            Cow::Borrowed(signer.as_bytes()),
            Cow::Owned(time.0.to_be_bytes().to_vec()),
            Cow::Borrowed(nonce),
            Cow::Owned(alloc::vec![kind]),
            Cow::Owned(encoding::sha256(&[body]).to_vec()),
        ]
    }

    /// Checks the signature against `key` (the principal's registered signing key).
    pub(crate) fn verify(&self, key: &VerifyingKey) -> Result<(), Error> {
        let f = Self::fields(
            &self.srs,
            self.principal,
            &self.signer,
            self.time,
            &self.nonce,
            self.kind,
            &self.body,
        );
        let refs: Vec<&[u8]> = f.iter().map(|c| c.as_ref()).collect();
        key.verify(Purpose::Op, &refs, &self.signature)
    }

    /// The operation: decoded from the body (with every check) if this value was decoded
    /// from bytes. The SRS decodes it only after the signature verified.
    pub fn operation(&self) -> Result<Operation, Error> {
        match &self.op {
            Some(op) => Ok(op.clone()),
            None => Operation::decode(self.kind, &self.body),
        }
    }

    /// The operation type byte.
    pub(crate) fn kind(&self) -> u8 {
        self.kind
    }

    /// Who it acts for.
    pub fn principal(&self) -> PrincipalId {
        self.principal
    }

    /// When it was signed (the signer's clock).
    pub fn time(&self) -> Timestamp {
        self.time
    }

    /// Its nonce.
    pub fn nonce(&self) -> &[u8; 16] {
        &self.nonce
    }

    /// SHA-256 of its canonical encoding: what an exact retry must match.
    pub fn hash(&self) -> [u8; 32] {
        encoding::sha256(&[&self.to_bytes()])
    }

    /// The canonical encoding: tag, version, SRS id, principal, signer fingerprint, time,
    /// nonce, operation type, u32-prefixed body, signature.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(2 + 32 + 16 + 32 + 8 + 16 + 1 + 4 + self.body.len() + 82);
        encoding::header(&mut out, Tag::SignedOperation);
        out.extend_from_slice(self.srs.as_bytes());
        out.extend_from_slice(self.principal.as_bytes());
        out.extend_from_slice(self.signer.as_bytes());
        out.extend_from_slice(&self.time.0.to_be_bytes());
        out.extend_from_slice(&self.nonce);
        out.push(self.kind);
        // Bodies are far below 4 GiB: a batch is bounded, an update by its own limits.
        let _ = encoding::put_lp32(&mut out, "operation", &self.body);
        out.extend_from_slice(&self.signature.to_bytes());
        out
    }

    /// Decodes (the SRS checks the signature against the registered key).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::envelope(bytes, Tag::SignedOperation, "signed operation")?;
        let srs = SrsId(r.array()?);
        let principal = PrincipalId::new(r.array()?);
        let signer = Fingerprint::new(r.array()?);
        let time = Timestamp(r.u64()?);
        let nonce = r.array()?;
        let kind = r.u8()?;
        if !(1..=13).contains(&kind) {
            return Err(Error::invalid("operation type"));
        }
        let body = r.lp32()?;
        if body.len() > MAX_BODY {
            return Err(Error::TooLong { what: "operation" });
        }
        let body = body.to_vec();
        let signature = Signature::from_bytes(r.take(Signature::SIZE)?)?;
        r.finish()?;
        Ok(Self {
            srs,
            principal,
            signer,
            time,
            nonce,
            kind,
            op: None,
            body,
            signature,
        })
    }
}

crate::macros::serde_via_bytes!(SignedOperation, "signed operation");
