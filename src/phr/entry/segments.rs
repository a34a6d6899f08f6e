//! Entries sealed and opened one segment at a time, in memory bounded by one segment: the
//! writer's [`EntrySealer`], and the reader's [`EntryOpener`] whose plaintext stays
//! [`Unverified`] until the writer's signature over the whole body is checked.

use alloc::vec::Vec;

use rand_core::{CryptoRng, RngCore};
use sha2::{Digest, Sha256};

use super::*;

/// Seals an entry one segment at a time (bounded memory).
pub struct EntrySealer<'k> {
    keys: &'k PrincipalKeys,
    header: BodyHeader,
    key_block: KeyBlock,
    body: BodySealer,
    hasher: Sha256,
}

impl<'k> EntrySealer<'k> {
    /// Starts an entry in `section` under the current ACL `acl` at time `now`.
    pub fn new<R: RngCore + CryptoRng + ?Sized>(
        keys: &'k PrincipalKeys,
        acl: &VerifiedAcl,
        section: SectionId,
        now: Timestamp,
        rng: &mut R,
    ) -> Result<Self, Error> {
        let (header, key_block, dk) = start_entry(keys, acl, section, now, rng)?;
        let body = BodySealer::new(&dk, &header.nonce_prefix, &key_block.header_hash);
        Ok(Self {
            keys,
            header,
            key_block,
            body,
            hasher: Sha256::new(),
        })
    }

    /// The header and key block, to store before the body.
    pub fn header(&self) -> (&BodyHeader, &KeyBlock) {
        (&self.header, &self.key_block)
    }

    /// Seals a non-final 64 KiB segment.
    pub fn seal_segment(&mut self, plaintext: &[u8]) -> Result<Vec<u8>, Error> {
        let ct = self.body.seal_segment(plaintext)?;
        self.hasher.update(&ct);
        Ok(ct)
    }

    /// Seals the final segment and signs: returns it and the writer signature.
    pub fn finish<R: RngCore + CryptoRng + ?Sized>(
        self,
        plaintext: &[u8],
        rng: &mut R,
    ) -> Result<(Vec<u8>, Signature), Error> {
        let ct = self.body.seal_last(plaintext)?;
        let mut hasher = self.hasher;
        hasher.update(&ct);
        let body_hash: [u8; 32] = hasher.finalize().into();
        let sig = self.keys.signing_key().sign(
            Purpose::Entry,
            &[&self.key_block.header_hash, &body_hash],
            rng,
        )?;
        Ok((ct, sig))
    }
}

pub(super) fn start_entry<R: RngCore + CryptoRng + ?Sized>(
    keys: &PrincipalKeys,
    acl: &VerifiedAcl,
    section: SectionId,
    now: Timestamp,
    rng: &mut R,
) -> Result<(BodyHeader, KeyBlock, DataKey), Error> {
    if acl.not_after() < now {
        return Err(Error::acl_rejected(
            acl,
            AclProblem::Expired {
                not_after: acl.not_after(),
                now,
            },
        ));
    }
    let policy = acl.section_or_refused(section, None)?;
    let writer = keys.bundle().fingerprint();
    if acl.writer(&section, &writer).is_none() {
        return Err(Error::refused_in(
            Refusal::NoWriteRight,
            section,
            Some(policy.epoch()),
            Some(writer),
        ));
    }
    let header = BodyHeader {
        record: acl.record(),
        section,
        entry: EntryId::random(rng),
        writer,
        acl_version: acl.version(),
        nonce_prefix: NoncePrefix::random(rng),
    };
    let dk = DataKey::random(rng);
    let key_block = KeyBlock::seal(&dk, header.hash(), policy.epoch(), *policy.key(), rng)?;
    Ok((header, key_block, dk))
}

/// Plaintext that has passed its segment's GCM tag but not yet the writer's signature.
/// Only [`EntryOpener::finish`] says the whole body is the writer's.
#[derive(Debug, PartialEq, Eq)]
pub struct Unverified(Vec<u8>);

impl Unverified {
    /// The bytes, which the caller takes responsibility for using before verification.
    pub fn into_unverified(self) -> Vec<u8> {
        self.0
    }
}

/// Opens an entry one segment at a time (bounded memory).
pub struct EntryOpener {
    writer: VerifyingKey,
    accepted: Accepted,
    header_hash: [u8; 32],
    body: BodyOpener,
    hasher: Sha256,
}

impl EntryOpener {
    pub(super) fn new(
        writer: VerifyingKey,
        accepted: Accepted,
        header: &BodyHeader,
        header_hash: [u8; 32],
        dk: &DataKey,
    ) -> Self {
        Self {
            writer,
            accepted,
            header_hash,
            body: BodyOpener::new(dk, &header.nonce_prefix, &header_hash),
            hasher: Sha256::new(),
        }
    }

    /// Opens a non-final segment. The plaintext is [`Unverified`] until [`EntryOpener::finish`].
    pub fn open_segment(&mut self, ciphertext: &[u8]) -> Result<Unverified, Error> {
        let pt = self.body.open_segment(ciphertext)?;
        self.hasher.update(ciphertext);
        Ok(Unverified(pt))
    }

    /// Opens the final segment and checks the writer signature over the whole body: only
    /// now is everything returned so far known to be the writer's.
    pub fn finish(self, ciphertext: &[u8], signature: &Signature) -> Result<Vec<u8>, Error> {
        let pt = self.body.open_last(ciphertext)?;
        let mut hasher = self.hasher;
        hasher.update(ciphertext);
        let body_hash: [u8; 32] = hasher.finalize().into();
        self.accepted.check_body(&body_hash)?;
        verify_entry_signature(&self.writer, &self.header_hash, &body_hash, signature)?;
        Ok(pt)
    }
}
