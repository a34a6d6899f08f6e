//! The round trips of `tests/encodings.rs`: every listed type through its bytes, JSON and
//! CBOR; the serialize-only types serialized and shown to have no `Deserialize`.
use std::collections::BTreeSet;
use std::fmt::Debug;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex};

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::common::world::World;
use sesphr::dem::{DataKey, NoncePrefix, WrappedKey};
use sesphr::log::{
    AuditPage, ConsistencyProof, Cosignature, DisclosureReceipt, LogLeaf, LogView,
    SignedCheckpoint, Witness,
};
use sesphr::merkle::InclusionProof;
use sesphr::phr::{
    AccessRequest, Acl, AclHash, AclUpdate, AclVersion, BodyHeader, Change, EntryId, Epoch,
    Fingerprint, History, KeyBlock, KeyBundle, KeySetCommitment, Limits, MasterSecret, Owner,
    PrincipalId, ReKeyGrant, ReKeyId, ReaderGrant, RecordId, RequestAction, RequestId,
    RequestState, Right, Role, SealedEntry, SectionId, SectionName, SignedAcl, Timestamp,
};
use sesphr::pre::{
    encapsulate, Capsule, ReCapsule, ReKey, ReaderPublicKey, SectionPublicKey, SectionSecretKey,
};
use sesphr::sign::{ProofOfPossession, Purpose, Signature, VerifyingKey};
use sesphr::srs::{
    Changeset, MemoryStore, Operation, Receipt, Reencrypted, Refusal, Registration, Response, Row,
    RowVersion, SignedOperation, Srs, SrsConfig, SrsId, Store, StoreError, Write,
};
use sesphr::Error;

/// Whether `T` implements `DeserializeOwned`, decided at compile time for a concrete
/// type (an inherent constant wins over the trait's when its bound holds).
struct Probe<T>(PhantomData<T>);
trait NoDeserialize {
    const DESERIALIZE: bool = false;
}
impl<T> NoDeserialize for Probe<T> {}
#[allow(dead_code)]
impl<T: DeserializeOwned> Probe<T> {
    const DESERIALIZE: bool = true;
}

fn name_of<T>() -> &'static str {
    let full = std::any::type_name::<T>();
    let base = full.split('<').next().unwrap();
    base.rsplit("::").next().unwrap()
}

#[derive(Default)]
struct Seen {
    encoded: BTreeSet<&'static str>,
    bytes: BTreeSet<&'static str>,
    serialize_only: BTreeSet<&'static str>,
}

impl Seen {
    /// Through serde JSON and CBOR; returns the JSON.
    fn serde<T>(&mut self, v: &T) -> String
    where
        T: Serialize + DeserializeOwned + PartialEq + Debug,
    {
        let name = name_of::<T>();
        let json = serde_json::to_string(v).unwrap();
        let back: T =
            serde_json::from_str(&json).unwrap_or_else(|e| panic!("{name}: JSON {json}: {e}"));
        assert_eq!(&back, v, "{name} through JSON");
        let mut cbor = Vec::new();
        ciborium::into_writer(v, &mut cbor).unwrap();
        let back: T =
            ciborium::from_reader(&cbor[..]).unwrap_or_else(|e| panic!("{name}: CBOR: {e}"));
        assert_eq!(&back, v, "{name} through CBOR");
        self.encoded.insert(name);
        json
    }

    /// Through the canonical bytes and serde; in JSON the value is the hex of its bytes.
    fn bytes<T, B>(&mut self, v: &T, to: impl Fn(&T) -> B, from: impl Fn(&[u8]) -> Result<T, Error>)
    where
        T: Serialize + DeserializeOwned + PartialEq + Debug,
        B: AsRef<[u8]>,
    {
        let name = name_of::<T>();
        let b = to(v);
        assert_eq!(&from(b.as_ref()).unwrap(), v, "{name} through bytes");
        let json = self.serde(v);
        assert_eq!(json, format!("\"{}\"", hex::encode(b.as_ref())), "{name}");
        // Uppercase hex is accepted too.
        let upper: T = serde_json::from_str(&json.to_uppercase()).unwrap();
        assert_eq!(&upper, v, "{name} from uppercase hex");
        // In CBOR the value is a byte string of the canonical bytes.
        let mut cbor = Vec::new();
        ciborium::into_writer(v, &mut cbor).unwrap();
        let raw: ciborium::Value = ciborium::from_reader(&cbor[..]).unwrap();
        assert_eq!(
            raw,
            ciborium::Value::Bytes(b.as_ref().to_vec()),
            "{name} in CBOR"
        );
        self.bytes.insert(name);
    }

    /// An id or a fingerprint: its hex string in JSON, its bytes in CBOR.
    fn id<T, const N: usize>(&mut self, v: &T, to: impl Fn(&T) -> [u8; N])
    where
        T: Serialize
            + DeserializeOwned
            + PartialEq
            + Debug
            + std::fmt::Display
            + std::str::FromStr<Err = Error>
            + for<'a> TryFrom<&'a [u8], Error = Error>,
    {
        let name = name_of::<T>();
        let b = to(v);
        let hex = hex::encode(b);
        assert_eq!(v.to_string(), hex, "{name} Display");
        assert_eq!(
            &hex.to_uppercase().parse::<T>().unwrap(),
            v,
            "{name} FromStr"
        );
        assert_eq!(&T::try_from(&b[..]).unwrap(), v, "{name} TryFrom");
        assert!(T::try_from(&b[1..]).is_err(), "{name} short");
        assert!(format!("{hex}0").parse::<T>().is_err(), "{name} long");
        assert!(
            format!("g{}", &hex[1..]).parse::<T>().is_err(),
            "{name} junk"
        );
        assert_eq!(self.serde(v), format!("\"{hex}\""), "{name} JSON");
        let mut cbor = Vec::new();
        ciborium::into_writer(v, &mut cbor).unwrap();
        let raw: ciborium::Value = ciborium::from_reader(&cbor[..]).unwrap();
        assert_eq!(raw, ciborium::Value::Bytes(b.to_vec()), "{name} in CBOR");
        self.bytes.insert(name);
    }

    /// Serialize only: it serializes, and it cannot be deserialized.
    fn serialize_only<T: Serialize>(&mut self, v: &T, deserializes: bool) -> serde_json::Value {
        let name = name_of::<T>();
        assert!(!deserializes, "{name} must not implement Deserialize");
        self.serialize_only.insert(name);
        serde_json::to_value(v).unwrap()
    }
}

/// A store that keeps the last changeset it committed.
struct Recording {
    inner: MemoryStore,
    last: Mutex<Option<Changeset>>,
}

impl Store for Recording {
    fn get(&self, key: &[u8]) -> Result<Option<Row>, StoreError> {
        self.inner.get(key)
    }
    fn scan(&self, p: &[u8], after: Option<&[u8]>, n: usize) -> Result<Vec<Row>, StoreError> {
        self.inner.scan(p, after, n)
    }
    fn commit(&self, c: &Changeset) -> Result<(), StoreError> {
        *self.last.lock().unwrap() = Some(c.clone());
        self.inner.commit(c)
    }
}

#[test]
fn every_encoded_type_round_trips_through_bytes_json_and_cbor() {
    let mut seen = Seen::default();
    let mut w = World::new(120);
    let owner = Owner::from_master(MasterSecret::from_raw([120; 32])).unwrap();
    let owner_a = w.enrol(Role::Patient, owner.keys().clone());
    let hospital = w.actor(Role::Hospital);
    let doctor = w.actor(Role::Doctor);
    let record = owner.record_id("main").unwrap();
    let name = SectionName::new("medical").unwrap();
    let section = owner.section_id(&name);
    let until = Timestamp::new(w.now.get() + 10_000);
    let changes = vec![
        Change::AddSection { section },
        Change::GrantWrite {
            section,
            writer: hospital.keys.bundle(),
        },
        Change::GrantRead {
            section,
            reader: doctor.keys.bundle(),
            history: History::All,
        },
        Change::SetDefaultHistory(History::FromEpoch(Epoch::new(0))),
    ];
    let update = owner
        .create_record(record, until, &changes, &mut w.rng)
        .unwrap();
    w.run(&owner_a, Operation::ApplyUpdate(update.clone()))
        .unwrap();
    let acl = update.acl().verify(&owner.verifying_key()).unwrap();
    let entry = hospital
        .keys
        .seal_entry(&acl, section, b"HbA1c 5.4 %", w.now, &mut w.rng)
        .unwrap();
    let receipt = w.submit(&hospital, &entry).unwrap();
    let accepted = receipt
        .verify(&w.srs.verifying_key(), entry.header())
        .unwrap();
    let items = w
        .reencrypt(&doctor, record, vec![entry.header().entry()])
        .unwrap();
    let item: Reencrypted = items.into_iter().next().unwrap().unwrap();

    // pre
    seen.bytes(
        entry.key_block().capsule(),
        |v| v.to_bytes(),
        Capsule::from_bytes,
    );
    seen.bytes(&item.recapsule, |v| v.to_bytes(), ReCapsule::from_bytes);
    let grant: &ReKeyGrant = &update.keys_to_add()[0];
    seen.bytes(&grant.rekey, |v| v.to_bytes(), ReKey::from_bytes);
    let reader_key = *doctor.keys.bundle().reader_key();
    seen.bytes(&reader_key, |v| v.to_bytes(), ReaderPublicKey::from_bytes);
    let section_key = *entry.key_block().section_key();
    seen.bytes(&section_key, |v| v.to_bytes(), SectionPublicKey::from_bytes);

    // dem
    let a = SectionSecretKey::random(&mut w.rng);
    let (_, kek) = encapsulate(&a.public_key(), b"ctx", &mut w.rng).unwrap();
    let wrapped = DataKey::random(&mut w.rng).wrap(&kek, b"aad");
    seen.bytes(&wrapped, |v| v.to_bytes(), WrappedKey::from_bytes);
    let prefix = NoncePrefix::random(&mut w.rng);
    seen.bytes(&prefix, |v| v.to_bytes(), NoncePrefix::from_bytes);
    assert_eq!(NoncePrefix::new(prefix.to_bytes()), prefix);

    // sign
    let vk: VerifyingKey = owner.verifying_key();
    seen.bytes(&vk, |v| v.to_bytes(), VerifyingKey::from_bytes);
    seen.bytes(entry.signature(), |v| v.to_bytes(), Signature::from_bytes);
    let pop = hospital.keys.prove_possession(&mut w.rng).unwrap();
    seen.bytes(&pop, |v| v.to_bytes(), ProofOfPossession::from_bytes);
    assert_eq!(seen.serde(&Purpose::Rewrap), "\"rewrap\"");

    // merkle
    let json = seen.serde(&grant.proof);
    assert!(json.starts_with("{\"index\":"), "{json}");
    let too_long = format!(
        "{{\"index\":0,\"path\":[{}]}}",
        vec![format!("\"{}\"", "00".repeat(32)); 65].join(",")
    );
    let err = serde_json::from_str::<InclusionProof>(&too_long)
        .unwrap_err()
        .to_string();
    assert!(err.contains("inclusion proof"), "{err}");

    // phr: signed and cryptographic values through their bytes
    let signed: &SignedAcl = update.acl();
    seen.bytes(signed, |v| v.to_bytes(), SignedAcl::from_bytes);
    seen.bytes(
        signed.acl_unverified(),
        |v| v.to_bytes().unwrap(),
        Acl::from_bytes,
    );
    seen.bytes(&update, |v| v.to_bytes(), AclUpdate::from_bytes);
    seen.bytes(entry.header(), |v| v.to_bytes(), BodyHeader::from_bytes);
    seen.bytes(entry.key_block(), |v| v.to_bytes(), KeyBlock::from_bytes);
    seen.bytes(&entry, |v| v.to_bytes().unwrap(), SealedEntry::from_bytes);
    seen.bytes(
        &doctor.keys.bundle(),
        |v| v.to_bytes(),
        KeyBundle::from_bytes,
    );

    // phr: ids, fingerprints and hashes as hex strings
    seen.id(&record, RecordId::to_bytes);
    seen.id(&section, SectionId::to_bytes);
    seen.id(&doctor.id, PrincipalId::to_bytes);
    seen.id(&entry.header().entry(), EntryId::to_bytes);
    seen.id(&doctor.keys.bundle().fingerprint(), Fingerprint::to_bytes);
    seen.id(&signed.hash(), AclHash::to_bytes);
    assert_eq!(RecordId::new(record.to_bytes()), record);
    assert_eq!(
        Fingerprint::new(*doctor.keys.bundle().fingerprint().as_bytes()),
        doctor.keys.bundle().fingerprint()
    );

    // phr: numbers, names and plain structures
    assert_eq!(seen.serde(&until), until.get().to_string());
    assert_eq!(seen.serde(&Epoch::new(7)), "7");
    assert_eq!(seen.serde(&AclVersion::new(2)), "2");
    assert_eq!(seen.serde(&name), "\"medical\"");
    assert!(serde_json::from_str::<SectionName>("\"Bad Name\"").is_err());
    assert_eq!(seen.serde(&Role::Pharmacist), "\"pharmacist\"");
    assert_eq!(Role::Pharmacist.to_string(), "pharmacist");
    assert_eq!(seen.serde(&History::None), "\"none\"");
    assert_eq!(seen.serde(&History::All), "\"all\"");
    assert_eq!(seen.serde(&History::FromEpoch(Epoch::new(3))), "3");
    assert_eq!(seen.serde(&Right::Write), "\"write\"");
    assert_eq!(seen.serde(&Right::Read(None)), "\"read\"");
    assert_eq!(
        seen.serde(&Right::Read(Some(History::FromEpoch(Epoch::new(2))))),
        "{\"read\":2}"
    );
    assert_eq!(
        seen.serde(&RequestState::ApprovedNarrower),
        "\"approved-narrower\""
    );
    assert_eq!(seen.serde(&RequestAction::Withdraw), "\"withdraw\"");
    let (fp, grant_r): (_, &ReaderGrant) = acl.section(&section).unwrap().readers().next().unwrap();
    assert_eq!(*fp, doctor.keys.bundle().fingerprint());
    seen.serde(grant_r);
    let json = seen.serde(acl.key_set());
    assert!(json.contains("\"size\":"), "{json}");
    let _: KeySetCommitment = serde_json::from_str(&json).unwrap();
    seen.serde(&Limits::default());
    for c in &changes {
        seen.serde(c);
    }
    assert!(seen.serde(&changes[0]).starts_with("{\"add_section\":"));
    seen.serde(grant);
    let id: &ReKeyId = &grant.id;
    seen.serde(id);

    // A request, approved through the SRS.
    let pharmacist = w.actor(Role::Pharmacist);
    let Response::RequestFiled(request_id) = w
        .run(
            &pharmacist,
            Operation::Request {
                record,
                right: Right::Read(Some(History::All)),
                sections: vec![section],
            },
        )
        .unwrap()
    else {
        panic!("not filed")
    };
    seen.id(&request_id, RequestId::to_bytes);
    let request = w.srs.request(request_id).unwrap().unwrap();
    seen.bytes(
        &request,
        |v| v.to_bytes().unwrap(),
        AccessRequest::from_bytes,
    );

    // srs
    seen.bytes(&w.srs.id(), |v| v.to_bytes(), SrsId::from_bytes);
    seen.bytes(&receipt, |v| v.to_bytes(), Receipt::from_bytes);
    let login = w.sign(&doctor, Operation::Login);
    seen.bytes(&login, |v| v.to_bytes(), SignedOperation::from_bytes);
    let ops = [
        Operation::Login,
        Operation::Activate { target: doctor.id },
        Operation::Reencrypt {
            record,
            entries: vec![entry.header().entry()],
        },
        entry.submission(),
        Operation::ApplyUpdate(update.clone()),
        Operation::Request {
            record,
            right: Right::Write,
            sections: vec![section],
        },
    ];
    for op in &ops {
        seen.serde(op);
    }
    assert_eq!(seen.serde(&Operation::Login), "\"login\"");
    seen.serde(&item);
    let responses = [
        Response::Done,
        Response::Status {
            role: Role::Doctor,
            active: true,
        },
        Response::RequestFiled(request_id),
        Response::Approved(RequestState::Approved),
        Response::Accepted(Box::new(receipt.clone())),
        Response::Reencrypted {
            items: vec![Ok(item.clone()), Err(Refusal::NoReadRight)],
            receipt: None,
        },
    ];
    for r in &responses {
        seen.bytes(r, |v| v.to_bytes(), Response::from_bytes);
    }

    // The disclosure log: a served re-encryption's receipt, an audit page, the owner's
    // view after it, a consistency proof, a witness's cosignature.
    let ask = Operation::Reencrypt {
        record,
        entries: vec![entry.header().entry()],
    };
    let served = w.run(&doctor, ask).unwrap();
    seen.bytes(&served, |v| v.to_bytes(), Response::from_bytes);
    let Response::Reencrypted {
        receipt: Some(disclosure),
        ..
    } = &served
    else {
        panic!("{served:?}")
    };
    seen.bytes(
        &**disclosure,
        |v| v.to_bytes(),
        DisclosureReceipt::from_bytes,
    );
    seen.bytes(disclosure.leaf(), |v| v.to_bytes(), LogLeaf::from_bytes);
    let checkpoint = w.srs.checkpoint(record).unwrap().unwrap();
    seen.bytes(&checkpoint, |v| v.to_bytes(), SignedCheckpoint::from_bytes);
    let size = checkpoint.checkpoint_unverified().size;
    let proof = w.srs.consistency(record, 1, size).unwrap();
    seen.bytes(&proof, |v| v.to_bytes(), ConsistencyProof::from_bytes);
    let Response::Audit(page) = w
        .run(&owner_a, Operation::Audit { record, from: 0 })
        .unwrap()
    else {
        panic!("an audit page")
    };
    seen.bytes(&*page, |v| v.to_bytes(), AuditPage::from_bytes);
    let mut view = LogView::new(record);
    let mut audit = view.audit();
    assert!(audit.add_page(&page, &w.srs.verifying_key()).unwrap());
    audit.finish(&mut view).unwrap();
    seen.bytes(&view, |v| v.to_bytes(), LogView::from_bytes);
    let witness_key = sesphr::sign::SigningKey::random(&mut w.rng);
    let mut witness = Witness::new(witness_key, w.srs.verifying_key());
    let none = ConsistencyProof::new(0, 0, vec![]).unwrap();
    let cosig = witness
        .cosign(&checkpoint, &none, w.now, &mut w.rng)
        .unwrap();
    seen.bytes(&cosig, |v| v.to_bytes(), Cosignature::from_bytes);
    assert_eq!(seen.serde(&Refusal::NoReadRight), "\"no-read-right\"");
    for r in Refusal::ALL {
        seen.serde(r);
    }
    let reg: Registration = w.srs.principal(doctor.id).unwrap().unwrap();
    assert!(seen.serde(&reg).contains("\"role\":\"doctor\""));
    seen.serde(&SrsConfig::default());
    assert_eq!(seen.serde(&RowVersion(9)), "9");
    let rows = w.rows();
    seen.serde(&rows[0]);
    seen.serde(&Write::Put(vec![1, 2], vec![3]));
    seen.serde(&Write::Delete(vec![4]));
    let store = Arc::new(Recording {
        inner: MemoryStore::new(),
        last: Mutex::new(None),
    });
    let mut srs = Srs::new(
        store.clone(),
        w.srs_key.clone(),
        "test",
        SrsConfig::default(),
    );
    let boot = w
        .client(&w.admin.clone())
        .register(Role::Admin, w.now, &mut w.rng)
        .unwrap();
    srs.bootstrap(&boot, w.now).unwrap();
    let changeset = store.last.lock().unwrap().clone().unwrap();
    assert!(!changeset.writes().is_empty());
    seen.serde(&changeset);

    // Serialize only: verified types, reports and views.
    seen.serialize_only(&acl, Probe::<sesphr::phr::VerifiedAcl>::DESERIALIZE);
    let v = seen.serialize_only(
        acl.section(&section).unwrap(),
        Probe::<sesphr::phr::SectionPolicy>::DESERIALIZE,
    );
    assert_eq!(v["epoch"], 0);
    let v = seen.serialize_only(&accepted, Probe::<sesphr::srs::Accepted>::DESERIALIZE);
    assert_eq!(v["header_hash"], hex::encode(entry.header().hash()));
    let report = w.srs.audit().unwrap();
    let v = seen.serialize_only(&report, Probe::<sesphr::srs::AuditReport>::DESERIALIZE);
    assert_eq!(v["problems"], serde_json::json!([]));
    let view = signed.view();
    let v = seen.serialize_only(&view, Probe::<sesphr::phr::AclView>::DESERIALIZE);
    assert_eq!(v["version"], 1);
    assert_eq!(v["hash"], signed.hash().to_string());
    let s = &view.sections[0];
    seen.serialize_only(s, Probe::<sesphr::phr::SectionView>::DESERIALIZE);
    seen.serialize_only(&s.readers[0], Probe::<sesphr::phr::ReaderView>::DESERIALIZE);
    let retired = sesphr::phr::RetiredView {
        id: section,
        next_epoch: Epoch::new(1),
    };
    seen.serialize_only(&retired, Probe::<sesphr::phr::RetiredView>::DESERIALIZE);
    let ev = entry.view();
    seen.serialize_only(&ev, Probe::<sesphr::phr::EntryView>::DESERIALIZE);
    seen.serialize_only(&ev.header, Probe::<sesphr::phr::HeaderView>::DESERIALIZE);
    seen.serialize_only(
        &ev.key_block,
        Probe::<sesphr::phr::KeyBlockView>::DESERIALIZE,
    );

    // Every listed type was exercised, and nothing unlisted.
    let lists = super::modules();
    let encoded: BTreeSet<&str> = lists
        .iter()
        .flat_map(|(_, _, l)| l.0.iter().copied())
        .collect();
    let ser_only: BTreeSet<&str> = lists
        .iter()
        .flat_map(|(_, _, l)| l.1.iter().map(|(n, _)| *n))
        .collect();
    assert_eq!(seen.encoded, encoded, "ENCODED vs round-tripped");
    assert_eq!(
        seen.serialize_only, ser_only,
        "SERIALIZE_ONLY vs serialized"
    );
    // Every type with canonical bytes was checked through them.
    assert!(seen.bytes.len() >= 29, "{:?}", seen.bytes);
    // Secrets have no Deserialize (the probe itself tells a type that has one).
    let probes = [
        Probe::<sesphr::phr::PrincipalKeys>::DESERIALIZE,
        Probe::<sesphr::phr::MasterSecret>::DESERIALIZE,
        Probe::<sesphr::pre::SectionSecretKey>::DESERIALIZE,
        Probe::<SignedAcl>::DESERIALIZE,
    ];
    assert_eq!(probes, [false, false, false, true]);
}

/// Decoding errors say what was being decoded and where it failed.
#[test]
fn serde_errors_name_the_value_and_the_place() {
    let err = |r: Result<SignedAcl, serde_json::Error>| r.unwrap_err().to_string();
    let e = err(serde_json::from_str("\"16zz\""));
    assert!(
        e.contains("signed ACL: invalid hex digit 'z' at position 2"),
        "{e}"
    );
    let e = err(serde_json::from_str("\"160\""));
    assert!(
        e.contains("signed ACL: odd number of hex digits (3)"),
        "{e}"
    );
    let e = err(serde_json::from_str("\"1501\""));
    assert!(
        e.contains("signed ACL: unknown type tag 0x15 for signed ACL"),
        "{e}"
    );
    let e = err(serde_json::from_str("\"1602\""));
    assert!(
        e.contains("signed ACL: invalid encoding of signed ACL (at ACL)"),
        "{e}"
    );
    let e = serde_json::from_str::<RecordId>("\"abcd\"")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("record id: invalid encoding of record id"),
        "{e}"
    );
    let e = serde_json::from_str::<Role>("\"surgeon\"")
        .unwrap_err()
        .to_string();
    assert!(e.contains("role: unknown name \"surgeon\""), "{e}");
    let e = serde_json::from_str::<History>("\"some\"")
        .unwrap_err()
        .to_string();
    assert!(e.contains("history: unknown name"), "{e}");
    assert!(serde_json::from_str::<History>("4294967296").is_err());
    assert!(serde_json::from_str::<Right>("{\"write\": 1}").is_err());
    assert!(serde_json::from_str::<Limits>("{\"sections_per_record\": 1}").is_err());
}
