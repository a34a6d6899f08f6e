//! The operator's audit pass: re-validates every row of a store as if it were entering the
//! SRS for the first time — points and subgroups, ACL signatures by the registered owners,
//! the key-set commitments against the key rows, writers' signatures on accepted entries,
//! and the indexes — and reports what fails, row by row.

use alloc::vec::Vec;

use crate::merkle;
use crate::phr::keyset::{key_ids, key_leaf};
use crate::phr::{Limits, PrincipalId, ReKeyId, SignedAcl};
use crate::pre::ReKey;
use crate::sign::Purpose;
use crate::srs::rows::{self, EntryRow, Head, Kind, Registration};
use crate::srs::store::{Row, Store};
use crate::srs::tx::store_error;
use crate::Error;

/// What an audit found.
///
/// serde: `Serialize` only, for logs: `{"rows": n, "problems": [{"key": hex, "error":
/// "…"}]}` (each error as its `Display` text).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditReport {
    /// Rows read.
    pub rows: usize,
    /// Each row that failed, with its key and why.
    pub problems: Vec<(Vec<u8>, Error)>,
}

#[cfg(feature = "serde")]
impl serde::Serialize for AuditReport {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeSeq, SerializeStruct};

        struct Problem<'a>(&'a [u8], &'a Error);
        impl serde::Serialize for Problem<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut st = s.serialize_struct("Problem", 2)?;
                st.serialize_field("key", &Hex(self.0))?;
                st.serialize_field("error", &alloc::string::ToString::to_string(self.1))?;
                st.end()
            }
        }
        struct Hex<'a>(&'a [u8]);
        impl serde::Serialize for Hex<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                crate::serde_bytes::serialize(self.0, s)
            }
        }
        struct Problems<'a>(&'a [(Vec<u8>, Error)]);
        impl serde::Serialize for Problems<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut seq = s.serialize_seq(Some(self.0.len()))?;
                for (k, e) in self.0 {
                    seq.serialize_element(&Problem(k, e))?;
                }
                seq.end()
            }
        }
        let mut st = s.serialize_struct("AuditReport", 2)?;
        st.serialize_field("rows", &self.rows)?;
        st.serialize_field("problems", &Problems(&self.problems))?;
        st.end()
    }
}

impl AuditReport {
    /// Whether every row passed.
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }
}

const PAGE: usize = 1024;

pub(crate) fn each<S: Store + ?Sized>(
    store: &S,
    kind: Kind,
    mut f: impl FnMut(&Row) -> Result<(), Error>,
    report: &mut AuditReport,
) -> Result<(), Error> {
    let prefix = [kind as u8];
    let mut after: Option<Vec<u8>> = None;
    loop {
        let page = store
            .scan(&prefix, after.as_deref(), PAGE)
            .map_err(store_error)?;
        for row in &page {
            report.rows += 1;
            if let Err(e) = f(row) {
                report.problems.push((row.key.clone(), e));
            }
        }
        match page.last() {
            Some(last) if page.len() == PAGE => after = Some(last.key.clone()),
            _ => return Ok(()),
        }
    }
}

fn get<S: Store + ?Sized>(store: &S, key: &[u8]) -> Result<Vec<u8>, Error> {
    store
        .get(key)
        .map_err(store_error)?
        .map(|r| r.value)
        .ok_or(Error::NotFound { what: "row" })
}

fn principal<S: Store + ?Sized>(store: &S, id: PrincipalId) -> Result<Registration, Error> {
    Registration::decode(&get(store, &rows::principal(id))?, true)
}

fn bad(what: &'static str) -> Error {
    Error::invalid(what)
}

pub(crate) fn run<S: Store + ?Sized>(store: &S) -> Result<AuditReport, Error> {
    let mut report = AuditReport::default();
    each(
        store,
        Kind::Principal,
        |row| {
            let reg = Registration::decode(&row.value, true)?;
            let id = rows::decode_id(
                &get(store, &rows::bundle(&reg.bundle.fingerprint()))?,
                Kind::Bundle,
            )?;
            if rows::principal(PrincipalId::new(id)) != row.key {
                return Err(bad("bundle index"));
            }
            Ok(())
        },
        &mut report,
    )?;
    each(
        store,
        Kind::Bundle,
        |row| {
            let id = PrincipalId::new(rows::decode_id(&row.value, Kind::Bundle)?);
            let reg = principal(store, id)?;
            if rows::bundle(&reg.bundle.fingerprint()) != row.key {
                return Err(bad("bundle index"));
            }
            Ok(())
        },
        &mut report,
    )?;
    each(
        store,
        Kind::Head,
        |row| {
            let head = Head::decode(&row.value)?;
            let checked = SignedAcl::from_bytes(&head.acl.to_bytes())?;
            let owner = principal(store, head.owner)?;
            checked.verify(owner.bundle.signing_key())?;
            let acl = checked.acl_unverified();
            if rows::head(acl.record()) != row.key {
                return Err(bad("record head"));
            }
            let leaves = rows::decode_leaves(&get(store, &rows::leaves(acl.record()))?)?;
            let ids = key_ids(acl, Limits::OWNER_MAX_KEYS)?;
            if !leaves.iter().map(|(id, _)| id).eq(ids.iter()) {
                return Err(bad("key leaves"));
            }
            for (id, leaf) in &leaves {
                let rk = ReKey::from_bytes(rows::rekey_bytes(&get(store, &rows::rekey(id))?)?)?;
                if key_leaf(id, &rk) != *leaf {
                    return Err(bad("key row"));
                }
            }
            let hashes: Vec<merkle::Hash> = leaves.iter().map(|(_, h)| *h).collect();
            if merkle::root(&hashes) != *acl.key_set().root() {
                return Err(bad("key-set root"));
            }
            Ok(())
        },
        &mut report,
    )?;
    each(
        store,
        Kind::AclVersion,
        |row| {
            let acl = SignedAcl::from_bytes(&rows::decode_acl_version(&row.value)?.to_bytes())?;
            let head = Head::decode(&get(store, &rows::head(acl.acl_unverified().record()))?)?;
            let owner = principal(store, head.owner)?;
            acl.verify(owner.bundle.signing_key())?;
            let key = rows::acl_version(
                acl.acl_unverified().record(),
                acl.acl_unverified().version(),
            );
            if key != row.key {
                return Err(bad("ACL version row"));
            }
            Ok(())
        },
        &mut report,
    )?;
    each(
        store,
        Kind::Entry,
        |row| {
            let e = EntryRow::decode(&row.value, true)?;
            let named = rows::decode_acl_version(&get(
                store,
                &rows::acl_version(e.header.record(), e.header.acl_version()),
            )?)?;
            let writer = named
                .acl_unverified()
                .writer(&e.header.section(), &e.header.writer())
                .ok_or(bad("entry writer"))?;
            writer.signing_key().verify(
                Purpose::Entry,
                &[&e.header.hash(), &e.body_hash],
                &crate::sign::Signature::from_bytes(&e.signature)?,
            )?;
            if !e.key_block.belongs_to(&e.header) {
                return Err(bad("entry key block"));
            }
            Ok(())
        },
        &mut report,
    )?;
    // Every key row belongs to its record's committed key set (no row added behind the
    // SRS's back).
    let mut leaves_of: Option<(crate::phr::RecordId, Vec<(ReKeyId, merkle::Hash)>)> = None;
    each(
        store,
        Kind::Key,
        |row| {
            let rk = ReKey::from_bytes(rows::rekey_bytes(&row.value)?)?;
            let mut r =
                crate::encoding::Reader::raw(row.key.get(1..).unwrap_or_default(), "key row");
            let id = ReKeyId::decode(&mut r)?;
            r.finish()?;
            if leaves_of.as_ref().is_none_or(|(rec, _)| *rec != id.record) {
                let leaves = rows::decode_leaves(&get(store, &rows::leaves(id.record))?)?;
                leaves_of = Some((id.record, leaves));
            }
            let leaves = leaves_of
                .as_ref()
                .map(|(_, l)| l.as_slice())
                .unwrap_or_default();
            match leaves.binary_search_by(|(k, _)| k.cmp(&id)) {
                Ok(i) if leaves.get(i).map(|(_, h)| *h) == Some(key_leaf(&id, &rk)) => Ok(()),
                _ => Err(bad("key row not in the committed key set")),
            }
        },
        &mut report,
    )?;
    each(
        store,
        Kind::Request,
        |row| rows::decode_request(&row.value).map(drop),
        &mut report,
    )?;
    Ok(report)
}
