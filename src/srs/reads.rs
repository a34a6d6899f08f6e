//! The SRS's reads: registrations, ACLs, requests, receipts, listings, the disclosure log's
//! checkpoints and proofs, and the operator's audit. They take no actor: the application
//! decides who may see what (SECURITY.md, known issues).

use alloc::vec::Vec;

use crate::log::{ConsistencyProof, LogLeaf, SignedCheckpoint};
use crate::merkle::InclusionProof;
use crate::phr::{
    AccessRequest, AclVersion, EntryId, Fingerprint, PrincipalId, RecordId, RequestId, SectionId,
    SignedAcl,
};
use crate::srs::rows::{self, Registration};
use crate::srs::store::Store;
use crate::srs::tx::{store_error, Tx};
use crate::srs::{gate, log, records, registry, requests, Receipt, Srs};
use crate::Error;

impl<S: Store> Srs<S> {
    /// A registered principal.
    pub fn principal(&self, id: PrincipalId) -> Result<Option<Registration>, Error> {
        registry::load(&mut Tx::new(&self.store), id)
    }

    /// The newest ACL of a record.
    pub fn acl(&self, record: RecordId) -> Result<Option<SignedAcl>, Error> {
        Ok(records::head(&mut Tx::new(&self.store), record)?.map(|h| h.acl))
    }

    /// One earlier (or the newest) ACL version of a record: readers need the version an
    /// entry names.
    pub fn acl_version(
        &self,
        record: RecordId,
        version: AclVersion,
    ) -> Result<Option<SignedAcl>, Error> {
        records::acl_version(&mut Tx::new(&self.store), record, version)
    }

    /// A request.
    pub fn request(&self, id: RequestId) -> Result<Option<AccessRequest>, Error> {
        requests::load(&mut Tx::new(&self.store), id)
    }

    /// The acceptance receipt of an entry.
    pub fn receipt(&self, record: RecordId, entry: EntryId) -> Result<Option<Receipt>, Error> {
        gate::receipt(&mut Tx::new(&self.store), self.id, record, entry)
    }

    /// One page of a record's accepted entries in a section, after `after`.
    pub fn entries(
        &self,
        record: RecordId,
        section: SectionId,
        after: Option<EntryId>,
        limit: usize,
    ) -> Result<Vec<EntryId>, Error> {
        let prefix = rows::section_entries(record, section);
        let after = after.map(|e| rows::section_entry(record, section, e));
        self.page(&prefix, after, limit, |t| {
            Some(EntryId::new(t.try_into().ok()?))
        })
    }

    /// One page of the requests on records `owner` owns, after `after`.
    pub fn requests_of_owner(
        &self,
        owner: PrincipalId,
        after: Option<RequestId>,
        limit: usize,
    ) -> Result<Vec<RequestId>, Error> {
        let prefix = rows::owner_requests(owner);
        let after = after.map(|r| rows::owner_request(owner, r));
        self.page(&prefix, after, limit, |t| {
            Some(RequestId::new(t.try_into().ok()?))
        })
    }

    /// One page of the records a reader holds grants on, after `after`.
    pub fn records_of_reader(
        &self,
        reader: &Fingerprint,
        after: Option<RecordId>,
        limit: usize,
    ) -> Result<Vec<RecordId>, Error> {
        let prefix = rows::reader_grants(reader);
        let after = after.map(|r| rows::reader_grant(reader, r));
        self.page(&prefix, after, limit, |t| {
            Some(RecordId::new(t.try_into().ok()?))
        })
    }

    fn page<T>(
        &self,
        prefix: &[u8],
        after: Option<Vec<u8>>,
        limit: usize,
        parse: impl Fn(&[u8]) -> Option<T>,
    ) -> Result<Vec<T>, Error> {
        let rows = self
            .store
            .scan(prefix, after.as_deref(), limit)
            .map_err(store_error)?;
        Ok(rows
            .iter()
            .filter_map(|r| rows::key_tail(&r.key, prefix.len()).and_then(&parse))
            .collect())
    }

    /// The newest signed checkpoint of a record's disclosure log.
    pub fn checkpoint(&self, record: RecordId) -> Result<Option<SignedCheckpoint>, Error> {
        Ok(log::head(&mut Tx::new(&self.store), record)?.map(|h| h.checkpoint))
    }

    /// The consistency proof from the first `from` leaves of a record's log to the first
    /// `to` (what a witness holding a checkpoint of size `from` needs): `O(log n)` rows.
    pub fn consistency(
        &self,
        record: RecordId,
        from: u64,
        to: u64,
    ) -> Result<ConsistencyProof, Error> {
        log::consistency(&mut Tx::new(&self.store), record, from, to)
    }

    /// Leaf `index` of a record's log and its inclusion proof in the first `size` leaves:
    /// `O(log n)` rows.
    pub fn inclusion(
        &self,
        record: RecordId,
        index: u64,
        size: u64,
    ) -> Result<(LogLeaf, InclusionProof), Error> {
        log::inclusion(&mut Tx::new(&self.store), record, index, size)
    }

    /// Re-validates every row of the store (points, subgroups, signatures, commitments,
    /// indexes, and every disclosure log against its checkpoint): the operator's audit pass.
    /// Reads the whole store, page by page.
    pub fn audit(&self) -> Result<crate::srs::AuditReport, Error> {
        let mut report = crate::srs::audit::run(&self.store)?;
        log::audit(&self.store, &self.key.verifying_key(), &mut report)?;
        Ok(report)
    }
}
