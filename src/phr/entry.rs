//! Entries ([SPEC §3](crate::notes::spec)): body header, replaceable key block, STREAM body, writer signature;
//! sealing by writers, opening by the owner and by readers, re-wrap and re-seal.

use alloc::vec::Vec;

use rand_core::{CryptoRng, RngCore};

use crate::dem::{self, BodyOpener, BodySealer, DataKey, NoncePrefix, WrappedKey};
use crate::encoding::{self, Reader, Tag};
use crate::phr::{
    AclProblem, AclVersion, EntryId, Epoch, Fingerprint, Owner, PrincipalKeys, RecordId, SectionId,
    Timestamp, VerifiedAcl,
};
use crate::pre::{encapsulate, Capsule, ReCapsule, SectionPublicKey, SharedKey};
use crate::sign::{Purpose, Signature, VerifyingKey};
use crate::srs::{Accepted, Refusal};
use crate::Error;

mod segments;
#[cfg(feature = "std")]
mod stream;

use segments::start_entry;
pub use segments::{EntryOpener, EntrySealer, Unverified};
#[cfg(feature = "std")]
pub use stream::{
    stream_error, EntryReader, EntryStream, EntryWriter, SeekableEntryWriter, StreamedEntry,
    UnverifiedEntryReader,
};

/// Written once by the writer; hashed into every segment, the key wrap and the signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BodyHeader {
    record: RecordId,
    section: SectionId,
    entry: EntryId,
    writer: Fingerprint,
    acl_version: AclVersion,
    nonce_prefix: NoncePrefix,
}

impl BodyHeader {
    /// Size of the encoding.
    pub const SIZE: usize = 2 + 16 + 16 + 16 + 32 + 8 + 7;

    /// The record.
    pub fn record(&self) -> RecordId {
        self.record
    }
    /// The section.
    pub fn section(&self) -> SectionId {
        self.section
    }
    /// The entry id.
    pub fn entry(&self) -> EntryId {
        self.entry
    }
    /// The writer's fingerprint.
    pub fn writer(&self) -> Fingerprint {
        self.writer
    }
    /// The ACL version the writer relied on.
    pub fn acl_version(&self) -> AclVersion {
        self.acl_version
    }
    /// The STREAM nonce prefix of the body.
    pub fn nonce_prefix(&self) -> NoncePrefix {
        self.nonce_prefix
    }

    /// The canonical encoding.
    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        let mut out = Vec::with_capacity(Self::SIZE);
        encoding::header(&mut out, Tag::BodyHeader);
        out.extend_from_slice(self.record.as_bytes());
        out.extend_from_slice(self.section.as_bytes());
        out.extend_from_slice(self.entry.as_bytes());
        out.extend_from_slice(self.writer.as_bytes());
        out.extend_from_slice(&self.acl_version.0.to_be_bytes());
        out.extend_from_slice(&self.nonce_prefix.0);
        let mut fixed = [0u8; Self::SIZE];
        fixed.copy_from_slice(&out);
        fixed
    }

    /// Decodes: length, tag, version.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::envelope(bytes, Tag::BodyHeader, "body header")?;
        let h = Self {
            record: RecordId::new(r.at("record").array()?),
            section: SectionId::new(r.at("section").array()?),
            entry: EntryId::new(r.at("entry id").array()?),
            writer: Fingerprint(r.at("writer").array()?),
            acl_version: AclVersion(r.at("ACL version").u64()?),
            nonce_prefix: NoncePrefix(r.at("nonce prefix").array()?),
        };
        r.finish()?;
        Ok(h)
    }

    /// `H(body header)`: SHA-256 of the encoding.
    pub fn hash(&self) -> [u8; 32] {
        encoding::sha256(&[&self.to_bytes()])
    }
}

/// The replaceable key block: epoch, section key, capsule, wrapped data key, and the hash of
/// the header it belongs to; signed by the owner when re-wrapped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyBlock {
    epoch: Epoch,
    section_key: SectionPublicKey,
    capsule: Capsule,
    wrapped: WrappedKey,
    header_hash: [u8; 32],
    rewrap: Option<Signature>,
}

impl KeyBlock {
    /// The epoch of the section key.
    pub fn epoch(&self) -> Epoch {
        self.epoch
    }
    /// The section public key the data key was encapsulated to.
    pub fn section_key(&self) -> &SectionPublicKey {
        &self.section_key
    }
    /// The capsule.
    pub fn capsule(&self) -> &Capsule {
        &self.capsule
    }
    /// The hash of the body header this key block belongs to.
    pub fn header_hash(&self) -> [u8; 32] {
        self.header_hash
    }
    /// Whether the owner re-wrapped (and signed) this key block.
    pub fn is_rewrapped(&self) -> bool {
        self.rewrap.is_some()
    }

    /// Whether this key block was made for `header` (its header hash matches).
    pub fn belongs_to(&self, header: &BodyHeader) -> bool {
        header.hash() == self.header_hash
    }

    fn core_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(2 + 4 + 3 * 50 + 32 + 1 + Signature::SIZE);
        encoding::header(&mut out, Tag::KeyBlock);
        out.extend_from_slice(&self.epoch.0.to_be_bytes());
        out.extend_from_slice(&self.section_key.to_bytes());
        out.extend_from_slice(&self.capsule.to_bytes());
        out.extend_from_slice(&self.wrapped.to_bytes());
        out.extend_from_slice(&self.header_hash);
        out
    }

    /// The canonical encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.core_bytes();
        match &self.rewrap {
            None => out.push(0),
            Some(sig) => {
                out.push(1);
                out.extend_from_slice(&sig.to_bytes());
            }
        }
        out
    }

    /// Decodes and checks every point.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        Self::decode(Reader::envelope(bytes, Tag::KeyBlock, "key block")?)
    }

    /// Decodes a key block this crate wrote to a trusted store (no point checks).
    pub(crate) fn from_bytes_trusted(bytes: &[u8]) -> Result<Self, Error> {
        Self::decode(Reader::envelope(bytes, Tag::KeyBlock, "key block")?.trusting())
    }

    fn decode(mut r: Reader<'_>) -> Result<Self, Error> {
        let epoch = Epoch(r.at("epoch").u32()?);
        let section_key = SectionPublicKey::read(r.at("section key"))?;
        let capsule = Capsule::read(r.at("capsule"))?;
        let wrapped = WrappedKey::from_bytes(r.at("wrapped key").take(WrappedKey::SIZE)?)?;
        let header_hash = r.at("header hash").array()?;
        let rewrap = if r.at("re-wrap flag").bool()? {
            Some(Signature::read(r.at("re-wrap signature"))?)
        } else {
            None
        };
        r.finish()?;
        Ok(Self {
            epoch,
            section_key,
            capsule,
            wrapped,
            header_hash,
            rewrap,
        })
    }

    /// The key-wrap associated data: `lp(H(header)) ‖ lp(u32be(epoch)) ‖ lp(C)`.
    fn wrap_aad(header_hash: &[u8; 32], epoch: Epoch, capsule: &Capsule) -> Vec<u8> {
        let mut aad = Vec::with_capacity(2 + 32 + 2 + 4 + 2 + 48);
        encoding::put_lp_short(&mut aad, header_hash);
        encoding::put_lp_short(&mut aad, &epoch.0.to_be_bytes());
        encoding::put_lp_short(&mut aad, &capsule.point_bytes());
        aad
    }

    /// Encapsulates `dk` to `section_key` for the header hashing to `header_hash`.
    fn seal<R: RngCore + CryptoRng + ?Sized>(
        dk: &DataKey,
        header_hash: [u8; 32],
        epoch: Epoch,
        section_key: SectionPublicKey,
        rng: &mut R,
    ) -> Result<Self, Error> {
        let (capsule, kek) = encapsulate(&section_key, &header_hash, rng)?;
        let wrapped = dk.wrap(&kek, &Self::wrap_aad(&header_hash, epoch, &capsule));
        Ok(Self {
            epoch,
            section_key,
            capsule,
            wrapped,
            header_hash,
            rewrap: None,
        })
    }

    fn unwrap(&self, kek: &SharedKey) -> Result<DataKey, Error> {
        self.wrapped.unwrap(
            kek,
            &Self::wrap_aad(&self.header_hash, self.epoch, &self.capsule),
        )
    }

    fn check_header(&self, header: &BodyHeader) -> Result<[u8; 32], Error> {
        let hh = header.hash();
        if hh != self.header_hash {
            return Err(Error::DecryptionFailed);
        }
        Ok(hh)
    }

    pub(crate) fn check_rewrap(&self, owner: &VerifyingKey) -> Result<(), Error> {
        match &self.rewrap {
            None => Ok(()),
            Some(sig) => owner.verify(
                Purpose::Rewrap,
                &[&encoding::sha256(&[&self.core_bytes()])],
                sig,
            ),
        }
    }
}

crate::macros::serde_via_bytes!(BodyHeader, "body header");
crate::macros::serde_via_bytes!(KeyBlock, "key block");
crate::macros::serde_via_bytes!(fallible SealedEntry, "sealed entry");

/// A sealed entry: header, key block, body ciphertext, writer signature over
/// `tag(entry) ‖ lp(H(header)) ‖ lp(H(body))`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealedEntry {
    header: BodyHeader,
    key_block: KeyBlock,
    body: Vec<u8>,
    signature: Signature,
}

impl SealedEntry {
    /// The body header.
    pub fn header(&self) -> &BodyHeader {
        &self.header
    }
    /// The key block.
    pub fn key_block(&self) -> &KeyBlock {
        &self.key_block
    }
    /// The body ciphertext.
    pub fn body(&self) -> &[u8] {
        &self.body
    }
    /// SHA-256 of the body ciphertext (what the writer signed with the header hash).
    pub fn body_hash(&self) -> [u8; 32] {
        encoding::sha256(&[&self.body])
    }
    /// The operation that submits this entry to the SRS's write gate.
    pub fn submission(&self) -> crate::srs::Operation {
        crate::srs::Operation::SubmitEntry {
            header: self.header,
            key_block: self.key_block,
            body_hash: self.body_hash(),
            signature: self.signature,
        }
    }
    /// The writer's signature.
    pub fn signature(&self) -> &Signature {
        &self.signature
    }

    /// The same entry with another key block (the result of a re-wrap).
    pub fn with_key_block(mut self, key_block: KeyBlock) -> Self {
        self.key_block = key_block;
        self
    }

    /// The canonical encoding: tag, version, header, u32-prefixed key block, u32-prefixed
    /// body, signature.
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        let kb = self.key_block.to_bytes();
        let mut out = Vec::with_capacity(BodyHeader::SIZE + kb.len() + self.body.len() + 100);
        encoding::header(&mut out, Tag::SealedEntry);
        out.extend_from_slice(&self.header.to_bytes());
        encoding::put_lp32(&mut out, "key block", &kb)?;
        encoding::put_lp32(&mut out, "body", &self.body)?;
        out.extend_from_slice(&self.signature.to_bytes());
        Ok(out)
    }

    /// Decodes (signatures and the body are checked when opening).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::envelope(bytes, Tag::SealedEntry, "sealed entry")?;
        let header = BodyHeader::from_bytes(r.at("header").take(BodyHeader::SIZE)?)?;
        let key_block = KeyBlock::from_bytes(r.at("key block").lp32()?)?;
        let body = r.at("body").lp32()?.to_vec();
        let signature = Signature::from_bytes(r.at("signature").take(Signature::SIZE)?)?;
        r.finish()?;
        Ok(Self {
            header,
            key_block,
            body,
            signature,
        })
    }

    /// Checks the writer: the ACL is the version the entry names and for its record, the
    /// writer holds `Write` on the section there (or is the owner), and its signature over
    /// the header and body verifies.
    pub fn verify_writer(&self, acl: &VerifiedAcl) -> Result<(), Error> {
        let writer = writer_key(&self.header, acl)?;
        verify_entry_signature(
            &writer,
            &self.header.hash(),
            &encoding::sha256(&[&self.body]),
            &self.signature,
        )
    }
}

fn writer_key(header: &BodyHeader, acl: &VerifiedAcl) -> Result<VerifyingKey, Error> {
    if acl.record() != header.record {
        return Err(Error::acl_rejected(
            acl,
            AclProblem::WrongRecord {
                expected: header.record,
            },
        ));
    }
    if acl.version() != header.acl_version {
        return Err(Error::acl_rejected(
            acl,
            AclProblem::VersionMismatch {
                named: header.acl_version,
            },
        ));
    }
    acl.writer(&header.section, &header.writer)
        .map(|b| *b.signing_key())
        .ok_or(Error::refused_in(
            Refusal::NoWriteRight,
            header.section,
            None,
            Some(header.writer),
        ))
}

fn verify_entry_signature(
    writer: &VerifyingKey,
    hh: &[u8; 32],
    body_hash: &[u8; 32],
    sig: &Signature,
) -> Result<(), Error> {
    writer.verify(Purpose::Entry, &[hh, body_hash], sig)
}

impl PrincipalKeys {
    /// Seals `plaintext` as a new entry of `section`, signed by this writer, to the section
    /// key of `acl` (which must be current and unexpired at `now`; keep an
    /// [`crate::phr::AclVerifier`] to refuse rollbacks).
    pub fn seal_entry<R: RngCore + CryptoRng + ?Sized>(
        &self,
        acl: &VerifiedAcl,
        section: SectionId,
        plaintext: &[u8],
        now: Timestamp,
        rng: &mut R,
    ) -> Result<SealedEntry, Error> {
        let (header, key_block, dk) = start_entry(self, acl, section, now, rng)?;
        let body = dem::seal_body(&dk, &header.nonce_prefix, &key_block.header_hash, plaintext)?;
        let body_hash = encoding::sha256(&[&body]);
        let signature =
            self.signing_key()
                .sign(Purpose::Entry, &[&key_block.header_hash, &body_hash], rng)?;
        Ok(SealedEntry {
            header,
            key_block,
            body,
            signature,
        })
    }

    fn reader_data_key(
        &self,
        header: &BodyHeader,
        key_block: &KeyBlock,
        recapsule: &ReCapsule,
        acl: &VerifiedAcl,
    ) -> Result<([u8; 32], DataKey), Error> {
        let hh = key_block.check_header(header)?;
        key_block.check_rewrap(acl.owner().signing_key())?;
        if recapsule.capsule() != &key_block.capsule {
            return Err(Error::DecryptionFailed);
        }
        let kek =
            self.reader_key()
                .decapsulate_reencrypted(recapsule, &key_block.section_key, &hh)?;
        Ok((hh, key_block.unwrap(&kek)?))
    }

    /// Opens an entry re-encrypted for this reader: checks the SRS's acceptance receipt
    /// (a revoked writer's entries have none), the writer against `acl` (the version the
    /// entry names), the writer signature, the key block, then decrypts.
    pub fn open_entry(
        &self,
        entry: &SealedEntry,
        accepted: &Accepted,
        recapsule: &ReCapsule,
        acl: &VerifiedAcl,
    ) -> Result<Vec<u8>, Error> {
        accepted.check(&entry.header, &entry.body_hash())?;
        entry.verify_writer(acl)?;
        let (hh, dk) = self.reader_data_key(&entry.header, &entry.key_block, recapsule, acl)?;
        dem::open_body(&dk, &entry.header.nonce_prefix, &hh, &entry.body)
    }

    /// Starts opening an entry segment by segment (the body stays in the caller's storage).
    pub fn entry_opener(
        &self,
        header: &BodyHeader,
        key_block: &KeyBlock,
        accepted: &Accepted,
        recapsule: &ReCapsule,
        acl: &VerifiedAcl,
    ) -> Result<EntryOpener, Error> {
        accepted.check_header(header)?;
        let writer = writer_key(header, acl)?;
        let (hh, dk) = self.reader_data_key(header, key_block, recapsule, acl)?;
        Ok(EntryOpener::new(writer, *accepted, header, hh, &dk))
    }
}

impl Owner {
    fn owner_data_key(
        &self,
        header: &BodyHeader,
        key_block: &KeyBlock,
    ) -> Result<([u8; 32], DataKey), Error> {
        let hh = key_block.check_header(header)?;
        key_block.check_rewrap(&self.verifying_key())?;
        let section = self.section_key(header.record, header.section, key_block.epoch)?;
        if section.public_key() != key_block.section_key {
            return Err(Error::DecryptionFailed);
        }
        let kek = section.decapsulate(&key_block.capsule, &hh)?;
        Ok((hh, key_block.unwrap(&kek)?))
    }

    /// Opens any entry of the owner's records: the SRS's acceptance receipt, the writer
    /// against `acl` (the version the entry names), then decryption with the derived
    /// section key.
    pub fn open_entry(
        &self,
        entry: &SealedEntry,
        accepted: &Accepted,
        acl: &VerifiedAcl,
    ) -> Result<Vec<u8>, Error> {
        accepted.check(&entry.header, &entry.body_hash())?;
        entry.verify_writer(acl)?;
        let (hh, dk) = self.owner_data_key(&entry.header, &entry.key_block)?;
        dem::open_body(&dk, &entry.header.nonce_prefix, &hh, &entry.body)
    }

    /// Re-wrap: a new key block for the same data key under the section's current epoch in
    /// `current`, signed by the owner. Body and writer signature stay valid. Stops readers
    /// (and an SRS holding old re-encryption keys) that never obtained this entry's data key.
    pub fn rewrap<R: RngCore + CryptoRng + ?Sized>(
        &self,
        entry: &SealedEntry,
        current: &VerifiedAcl,
        rng: &mut R,
    ) -> Result<KeyBlock, Error> {
        self.rewrap_key_block(&entry.header, &entry.key_block, current, rng)
    }

    /// [`Owner::rewrap`] on the parts it needs (the streaming re-wrap has no body in memory).
    fn rewrap_key_block<R: RngCore + CryptoRng + ?Sized>(
        &self,
        header: &BodyHeader,
        key_block: &KeyBlock,
        current: &VerifiedAcl,
        rng: &mut R,
    ) -> Result<KeyBlock, Error> {
        if current.record() != header.record {
            return Err(Error::acl_rejected(
                current,
                AclProblem::WrongRecord {
                    expected: header.record,
                },
            ));
        }
        let policy = current.section_or_refused(header.section, Some(key_block.epoch))?;
        let (hh, dk) = self.owner_data_key(header, key_block)?;
        let mut kb = KeyBlock::seal(&dk, hh, policy.epoch(), *policy.key(), rng)?;
        let digest = encoding::sha256(&[&kb.core_bytes()]);
        kb.rewrap = Some(
            self.keys()
                .signing_key()
                .sign(Purpose::Rewrap, &[&digest], rng)?,
        );
        Ok(kb)
    }

    /// Re-seal: decrypts the entry (checked against `named`, the ACL version it names) and
    /// seals the plaintext again under a fresh data key and the current ACL, with the owner
    /// as signer. The only way to cut off a reader that already held the old data key.
    ///
    /// The result is a new entry (new id, the owner as writer): submit it to the SRS's
    /// write gate like any other.
    pub fn reseal<R: RngCore + CryptoRng + ?Sized>(
        &self,
        entry: &SealedEntry,
        accepted: &Accepted,
        named: &VerifiedAcl,
        current: &VerifiedAcl,
        now: Timestamp,
        rng: &mut R,
    ) -> Result<SealedEntry, Error> {
        let plaintext = zeroize::Zeroizing::new(self.open_entry(entry, accepted, named)?);
        self.keys()
            .seal_entry(current, entry.header.section, &plaintext, now, rng)
    }
}
