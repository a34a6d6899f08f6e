//! Reference integration: sharing a FHIR R4 record section by section.
//!
//! ```text
//! cargo run --example fhir_sharing                      # the synthetic bundle below
//! cargo run --example fhir_sharing -- my-bundle.json    # any FHIR R4 Bundle (JSON)
//! ```
//!
//! **The data is synthetic.** `examples/data/synthetic_fhir_bundle.json` was written for this
//! project; it describes no real person. The bundle and every resource in it carry the HL7
//! `HTEST` ("test health data") security label and a `SYNTHETIC — not a real patient` tag.
//!
//! What happens, with every value that crosses a boundary moved as bytes (signed operations
//! and the SRS's answers included: they have canonical encodings, so any transport carries
//! them unchanged):
//!
//! 1. The SRS starts over a store (here in memory) with its administrator; the patient
//!    (owner), a hospital (writer), a doctor, a pharmacist and an insurer make their own keys,
//!    register with a signed operation, and are activated by the admin's signed operation.
//!    The owner compares each key's fingerprint, in its short form, with the one the
//!    principal shows on its own device, never trusting the SRS registry alone.
//! 2. The owner's [`ResourcePolicy`] maps FHIR resource types to section names; types it
//!    does not list go to a section the owner chooses, never dropped. The names stay on the
//!    owner's device: the hospital gets a routing table of opaque section ids.
//! 3. The owner creates the record (one section per name, the hospital may write them all);
//!    the hospital seals every resource of the bundle, verbatim, as one entry, and submits
//!    each to the SRS's write gate, which answers with a signed receipt. Entries and
//!    receipts go to the cloud.
//! 4. The owner grants the doctor medical + prescription, the pharmacist prescription and the
//!    insurer insurance, with history (the entries were written before the grants).
//! 5. Each reader asks the SRS, in one signed batch, to re-encrypt every entry of the record
//!    by id; the SRS refuses, item by item, the sections the reader was not granted. The
//!    reader checks each receipt against the SRS's key, opens what it got and rebuilds a FHIR
//!    `Bundle` of only what it may see, which is parsed back with `serde_json`.
//! 6. The owner opens every entry with its own section keys and the receipts: nothing was
//!    dropped.
//!
//! `tests/fhir.rs` runs this same [`run`] and checks every role's resources exactly.

use std::collections::{BTreeMap, BTreeSet};
use std::error::Error as StdError;

use serde_json::value::RawValue;
use serde_json::{json, Value};
use sesphr::phr::{
    AclVerifier, AclVersion, Change, Fingerprint, History, KeyBundle, Owner, PrincipalId,
    PrincipalKeys, RecordId, Role, SealedEntry, SectionId, SectionName, SignedAcl, Timestamp,
    VerifiedAcl,
};
use sesphr::pre::ReCapsule;
use sesphr::rand_core::{CryptoRng, RngCore};
use sesphr::sign::{SigningKey, VerifyingKey};
use sesphr::srs::{
    Client, MemoryStore, Operation, Receipt, Refusal, Response, SignedOperation, Srs, SrsConfig,
    SrsId, MAX_BATCH,
};

/// The errors of this integration: the crate's own, JSON, and FHIR shape problems.
pub type BoxError = Box<dyn StdError + Send + Sync>;

/// The synthetic bundle (SYNTHETIC — not a real patient).
pub const SYNTHETIC_BUNDLE: &str = include_str!("data/synthetic_fhir_bundle.json");

/// The readers of this example: who they are and which sections the owner grants them.
pub const READERS: [(&str, Role, &[&str]); 3] = [
    ("doctor", Role::Doctor, &["medical", "prescription"]),
    ("pharmacist", Role::Pharmacist, &["prescription"]),
    ("insurer", Role::Insurer, &["insurance"]),
];

/// The owner's section policy: FHIR resource type → section name, and the section that
/// receives every type the policy does not list.
#[derive(Clone, Debug)]
pub struct ResourcePolicy {
    by_type: BTreeMap<String, String>,
    fallback: String,
}

impl ResourcePolicy {
    /// The original system's four sections; unlisted types go to `medical`.
    pub fn standard() -> Self {
        let table = [
            ("personal", "Patient RelatedPerson"),
            ("insurance", "Coverage Claim ExplanationOfBenefit"),
            (
                "medical",
                "Condition Observation Procedure DiagnosticReport AllergyIntolerance ImagingStudy",
            ),
            (
                "prescription",
                "MedicationRequest MedicationStatement MedicationDispense",
            ),
        ];
        let by_type = table
            .iter()
            .flat_map(|(section, types)| types.split(' ').map(|t| (t.into(), section.to_string())))
            .collect();
        Self {
            by_type,
            fallback: "medical".into(),
        }
    }

    /// The same policy with unlisted types sent to `section` (which may be a new section,
    /// e.g. `other`, that no reader has been granted).
    pub fn with_fallback(mut self, section: &str) -> Self {
        self.fallback = section.into();
        self
    }

    /// The section of a resource type, and whether it got there by the fallback rule.
    pub fn section_for(&self, resource_type: &str) -> (&str, bool) {
        match self.by_type.get(resource_type) {
            Some(section) => (section, false),
            None => (&self.fallback, true),
        }
    }

    /// Every section the policy names, the fallback included.
    pub fn sections(&self) -> BTreeSet<&str> {
        let mut all: BTreeSet<&str> = self.by_type.values().map(String::as_str).collect();
        all.insert(&self.fallback);
        all
    }

    /// What the owner hands a writer: the same policy with opaque section ids instead of
    /// names (`ids` maps every name of [`ResourcePolicy::sections`] to its id).
    pub fn routing(&self, ids: &BTreeMap<String, SectionId>) -> Result<Routing, BoxError> {
        let id = |name: &str| {
            ids.get(name)
                .copied()
                .ok_or_else(|| format!("no id for section {name}"))
        };
        let mut by_type = BTreeMap::new();
        for (resource_type, name) in &self.by_type {
            by_type.insert(resource_type.clone(), id(name)?);
        }
        Ok(Routing {
            by_type,
            fallback: id(&self.fallback)?,
        })
    }
}

/// A writer's routing table: resource type → opaque section id, and the id for every other
/// type. It tells the writer where to write, not what the sections are called.
#[derive(Clone, Debug)]
pub struct Routing {
    by_type: BTreeMap<String, SectionId>,
    fallback: SectionId,
}

impl Routing {
    /// The section a resource of this type is written to.
    pub fn section_for(&self, resource_type: &str) -> SectionId {
        self.by_type
            .get(resource_type)
            .copied()
            .unwrap_or(self.fallback)
    }
}

/// One resource of a source bundle, exactly as the hospital holds it.
#[derive(Clone, Debug)]
pub struct SourceResource {
    /// Its `resourceType`.
    pub resource_type: String,
    /// Its `id`.
    pub id: String,
    /// Its JSON text, verbatim from the bundle: the bytes that get sealed.
    pub json: String,
}

/// Splits a FHIR `Bundle` into its resources, keeping each resource's JSON text verbatim.
pub fn split_bundle(bundle_json: &str) -> Result<Vec<SourceResource>, BoxError> {
    let top: BTreeMap<String, &RawValue> = serde_json::from_str(bundle_json)?;
    let kind: String = match top.get("resourceType") {
        Some(raw) => serde_json::from_str(raw.get())?,
        None => return Err("not a FHIR resource: no resourceType".into()),
    };
    if kind != "Bundle" {
        return Err(format!("expected a Bundle, found a {kind}").into());
    }
    let entries: Vec<BTreeMap<String, &RawValue>> = match top.get("entry") {
        Some(raw) => serde_json::from_str(raw.get())?,
        None => Vec::new(),
    };
    let mut out = Vec::with_capacity(entries.len());
    for (i, entry) in entries.iter().enumerate() {
        let raw = entry
            .get("resource")
            .ok_or_else(|| format!("bundle entry {i} has no resource"))?;
        let value: Value = serde_json::from_str(raw.get())?;
        let (resource_type, id) = type_and_id(&value)
            .ok_or_else(|| format!("bundle entry {i}: resource without resourceType or id"))?;
        out.push(SourceResource {
            resource_type,
            id,
            json: raw.get().to_owned(),
        });
    }
    Ok(out)
}

fn type_and_id(resource: &Value) -> Option<(String, String)> {
    Some((
        resource.get("resourceType")?.as_str()?.to_owned(),
        resource.get("id")?.as_str()?.to_owned(),
    ))
}

/// A resource sealed by the hospital: where the owner's policy put it, and its wire size.
#[derive(Clone, Debug)]
pub struct Sealed {
    /// The resource.
    pub resource: SourceResource,
    /// The section name (known to the owner only; the entry carries an opaque id).
    pub section: String,
    /// Whether the section came from the policy's fallback (a type the policy does not list).
    pub by_fallback: bool,
    /// `SealedEntry::to_bytes().len()`.
    pub entry_bytes: usize,
}

/// A resource one principal decrypted.
#[derive(Clone, Debug)]
pub struct Received {
    /// Position of the entry in the record (the order the hospital wrote them in).
    pub entry: usize,
    /// Its `resourceType`.
    pub resource_type: String,
    /// Its `id`.
    pub id: String,
    /// The decrypted bytes.
    pub json: Vec<u8>,
    /// Size of the sealed entry fetched from the cloud.
    pub entry_bytes: usize,
    /// Size of the re-encrypted capsule from the SRS (0 for the owner, who needs none).
    pub recapsule_bytes: usize,
}

/// An entry the SRS would not re-encrypt for a reader.
#[derive(Clone, Debug)]
pub struct Refused {
    /// Position of the entry in the record.
    pub entry: usize,
    /// The entry's (opaque) section.
    pub section: SectionId,
    /// The SRS's refusal of that item of the batch.
    pub refusal: Refusal,
}

/// What one principal could see.
#[derive(Clone, Debug)]
pub struct View {
    /// Who.
    pub name: &'static str,
    /// The section names it was granted (all of them for the owner).
    pub granted: Vec<String>,
    /// What it decrypted, in entry order.
    pub received: Vec<Received>,
    /// What the SRS refused, in entry order.
    pub refused: Vec<Refused>,
    /// Bytes of the signed re-encryption batches sent and of the SRS's answers (0 for the
    /// owner, who asks the SRS nothing).
    pub batch_bytes: (usize, usize),
    /// The FHIR `Bundle` it rebuilt, serialized and parsed back.
    pub bundle: Value,
    /// The size of that bundle's JSON text.
    pub bundle_json_bytes: usize,
}

/// Everything the flow did, for printing and for `tests/fhir.rs`.
#[derive(Clone, Debug)]
pub struct Report {
    /// Every resource of the source bundle, as sealed, in entry order.
    pub sealed: Vec<Sealed>,
    /// The owner's section names and their opaque ids.
    pub sections: BTreeMap<String, SectionId>,
    /// Each principal's key fingerprint, checked out of band against the SRS registry.
    pub fingerprints: Vec<(&'static str, Fingerprint)>,
    /// The owner's view: every entry, opened with its section keys.
    pub owner: View,
    /// The readers' views, in [`READERS`] order.
    pub readers: Vec<View>,
}

impl Report {
    /// The owner's name for an opaque section id.
    pub fn section_name(&self, id: &SectionId) -> &str {
        self.sections
            .iter()
            .find(|(_, s)| *s == id)
            .map_or("?", |(name, _)| name)
    }
}

/// A writer or reader: its keys (which never leave it) and its id at the SRS.
struct Principal {
    name: &'static str,
    id: PrincipalId,
    keys: PrincipalKeys,
}

impl Principal {
    fn new<R: RngCore + CryptoRng + ?Sized>(name: &'static str, rng: &mut R) -> Self {
        let keys = PrincipalKeys::random(rng);
        let id = PrincipalId::random(rng);
        Self { name, id, keys }
    }

    /// Signs this principal's operations for the SRS `srs`.
    fn client(&self, srs: SrsId) -> Client<'_> {
        Client::new(&self.keys, self.id, srs)
    }

    /// What the principal shows on its own device (its screen, a QR code, read aloud).
    fn shown_fingerprint(&self) -> Fingerprint {
        self.keys.bundle().fingerprint()
    }
}

/// The SRS as this integration reaches it: over a transport, so the signed operation and the
/// answer cross as bytes.
struct Service {
    srs: Srs<MemoryStore>,
    /// Bytes sent and received so far.
    wire: (usize, usize),
}

impl Service {
    /// `who` signs `op` at `now`; the SRS runs it (its clock reads `now` too).
    fn call<R: RngCore + CryptoRng + ?Sized>(
        &mut self,
        who: &Client<'_>,
        op: Operation,
        now: Timestamp,
        rng: &mut R,
    ) -> Result<Response, BoxError> {
        let request = who.sign(op, now, rng)?.to_bytes();
        let signed = SignedOperation::from_bytes(&request)?;
        let answer = self.srs.execute(&signed, now, rng)?.to_bytes();
        self.wire.0 += request.len();
        self.wire.1 += answer.len();
        Ok(Response::from_bytes(&answer)?)
    }

    /// Registers `who` with `role` (signed by the key being registered) and has `admin`
    /// activate it.
    fn enrol<R: RngCore + CryptoRng + ?Sized>(
        &mut self,
        admin: &Client<'_>,
        who: &Client<'_>,
        role: Role,
        now: Timestamp,
        rng: &mut R,
    ) -> Result<(), BoxError> {
        let bundle = who.keys().bundle();
        self.call(who, Operation::Register { role, bundle }, now, rng)?;
        let target = who.id();
        self.call(admin, Operation::Activate { target }, now, rng)?;
        Ok(())
    }

    /// A principal's keys as the SRS registry serves them, accepted only if their
    /// fingerprint equals `shown`, the one the principal showed out of band: the registry is
    /// not trusted for key authenticity.
    fn checked_bundle(
        &self,
        id: PrincipalId,
        name: &str,
        shown: Fingerprint,
    ) -> Result<KeyBundle, BoxError> {
        let claimed = self
            .srs
            .principal(id)?
            .ok_or_else(|| format!("{name} is not registered"))?
            .bundle;
        if claimed.fingerprint() != shown {
            return Err(format!(
                "{name}: the SRS serves key {}, but {name} shows {}",
                claimed.fingerprint().short(),
                shown.short()
            )
            .into());
        }
        Ok(claimed)
    }

    /// The ACL version `version` of `record`, as the SRS keeps every version (an entry names
    /// the one its writer relied on), checked against the owner's key (which the caller
    /// authenticated out of band).
    fn acl(
        &self,
        record: RecordId,
        version: AclVersion,
        owner: &VerifyingKey,
    ) -> Result<VerifiedAcl, BoxError> {
        let signed = self
            .srs
            .acl_version(record, version)?
            .ok_or_else(|| format!("the SRS has no ACL version {}", version.get()))?;
        Ok(SignedAcl::from_bytes(&signed.to_bytes())?.verify(owner)?)
    }
}

/// The cloud: opaque bytes only. Each entry is stored with the SRS's receipt for it.
#[derive(Default)]
struct Cloud {
    entries: Vec<(Vec<u8>, Vec<u8>)>,
}

/// What readers and the owner trust, configured out of band: the owner's key (for ACLs) and
/// the SRS's key (for receipts).
struct Trust {
    owner: VerifyingKey,
    srs: VerifyingKey,
}

/// Runs the whole flow on `bundle_json` with the owner's `policy`.
pub fn run<R: RngCore + CryptoRng + ?Sized>(
    bundle_json: &str,
    policy: &ResourcePolicy,
    rng: &mut R,
) -> Result<Report, BoxError> {
    // The crate reads no clock: the caller passes the time (here 2024-04-02, Unix seconds).
    let now = Timestamp::new(1_712_052_000);
    let until = Timestamp::new(now.get() + 365 * 24 * 3600);
    let resources = split_bundle(bundle_json)?;
    let mut cloud = Cloud::default();

    // 1. The SRS over its store, and its administrator; everyone else registers and is
    //    activated, each by a signed operation.
    let srs = Srs::new(
        MemoryStore::new(),
        SigningKey::random(rng),
        "fhir-sharing",
        SrsConfig::default(),
    );
    let srs_id = srs.id();
    let mut service = Service { srs, wire: (0, 0) };
    let admin = Principal::new("admin", rng);
    let admin_c = admin.client(srs_id);
    service
        .srs
        .bootstrap(&admin_c.register(Role::Admin, now, rng)?, now)?;
    let owner = Owner::random(rng);
    let owner_c = Client::new(owner.keys(), PrincipalId::random(rng), srs_id);
    service.enrol(&admin_c, &owner_c, Role::Patient, now, rng)?;
    let hospital = Principal::new("hospital", rng);
    let hospital_c = hospital.client(srs_id);
    service.enrol(&admin_c, &hospital_c, Role::Hospital, now, rng)?;
    let mut readers = Vec::with_capacity(READERS.len());
    for (name, role, sections) in READERS {
        let reader = Principal::new(name, rng);
        service.enrol(&admin_c, &reader.client(srs_id), role, now, rng)?;
        readers.push((reader, sections));
    }
    let mut fingerprints = vec![
        (admin.name, admin.shown_fingerprint()),
        ("owner", owner.keys().bundle().fingerprint()),
        (hospital.name, hospital.shown_fingerprint()),
    ];
    fingerprints.extend(readers.iter().map(|(p, _)| (p.name, p.shown_fingerprint())));
    // Everyone who checks an ACL needs the owner's key, and everyone who opens an entry the
    // SRS's receipt key, both authenticated out of band.
    let owner_fp = owner.keys().bundle().fingerprint();
    let trust = Trust {
        owner: *service
            .checked_bundle(owner_c.id(), "owner", owner_fp)?
            .signing_key(),
        srs: service.srs.verifying_key(),
    };

    // 2. The owner's sections: names stay on its device, ids go on the wire. The hospital
    //    gets only the routing table of ids.
    let mut sections = BTreeMap::new();
    for name in policy.sections() {
        let id = owner.section_id(&SectionName::new(name)?);
        sections.insert(name.to_owned(), id);
    }
    let routing = policy.routing(&sections)?;

    // 3. The record, writable by the hospital (whose key the owner checked).
    let record: RecordId = owner.record_id("fhir")?;
    let hospital_bundle =
        service.checked_bundle(hospital.id, hospital.name, hospital.shown_fingerprint())?;
    let mut changes = Vec::new();
    for id in sections.values() {
        changes.push(Change::AddSection { section: *id });
        changes.push(Change::GrantWrite {
            section: *id,
            writer: hospital_bundle,
        });
    }
    let v1 = owner.create_record(record, until, &changes, rng)?;
    let current: VerifiedAcl = v1.acl().verify(&trust.owner)?;
    service.call(&owner_c, Operation::ApplyUpdate(v1), now, rng)?;

    // The hospital accepts the newest ACL from the SRS (refusing rollbacks and expired
    // versions), seals each resource, verbatim, as one entry of its section, and submits it
    // to the write gate; the entry and its receipt go to the cloud.
    let mut hospital_view = AclVerifier::new(record, trust.owner);
    let newest = service
        .srs
        .acl(record)?
        .ok_or("the SRS has no ACL for the record")?;
    let acl = hospital_view.accept(&SignedAcl::from_bytes(&newest.to_bytes())?, now)?;
    let mut sealed = Vec::with_capacity(resources.len());
    for resource in resources {
        let section = routing.section_for(&resource.resource_type);
        let entry = hospital
            .keys
            .seal_entry(&acl, section, resource.json.as_bytes(), now, rng)?;
        let Response::Accepted(receipt) =
            service.call(&hospital_c, entry.submission(), now, rng)?
        else {
            return Err("the write gate answered without a receipt".into());
        };
        let bytes = entry.to_bytes()?;
        let (name, by_fallback) = policy.section_for(&resource.resource_type);
        sealed.push(Sealed {
            section: name.to_owned(),
            by_fallback,
            entry_bytes: bytes.len(),
            resource,
        });
        cloud.entries.push((bytes, receipt.to_bytes().to_vec()));
    }

    // 4. The owner grants each reader its sections, for the key it checked. `History::All`
    //    because the entries already exist; `History::None` would rotate the section first
    //    and the reader would see only what is written after the grant.
    let mut grants = Vec::new();
    for (reader, names) in &readers {
        let bundle = service.checked_bundle(reader.id, reader.name, reader.shown_fingerprint())?;
        for name in names.iter() {
            let section = *sections
                .get(*name)
                .ok_or_else(|| format!("the policy has no section {name}"))?;
            grants.push(Change::GrantRead {
                section,
                reader: bundle,
                history: History::All,
            });
        }
    }
    let v2 = owner.update(&current, until, &grants, rng)?;
    service.call(&owner_c, Operation::ApplyUpdate(v2), now, rng)?;

    // 5. Each reader asks the SRS to re-encrypt every entry of the record.
    let mut views = Vec::with_capacity(readers.len());
    for (reader, names) in &readers {
        let before = service.wire;
        let (received, refused) =
            read_record(reader, &mut service, &cloud, record, &trust, now, rng)?;
        let batch_bytes = (service.wire.0 - before.0, service.wire.1 - before.1);
        let granted = names.iter().map(|s| s.to_string()).collect();
        views.push(view(reader.name, granted, received, refused, batch_bytes)?);
    }

    // 6. The owner opens every entry with its own section keys: nothing was dropped.
    let mut all = Vec::with_capacity(cloud.entries.len());
    for (i, (bytes, receipt)) in cloud.entries.iter().enumerate() {
        let entry = SealedEntry::from_bytes(bytes)?;
        let accepted = Receipt::from_bytes(receipt)?.verify(&trust.srs, entry.header())?;
        let acl = service.acl(record, entry.header().acl_version(), &trust.owner)?;
        let json = owner.open_entry(&entry, &accepted, &acl)?;
        all.push(received_resource(i, json, bytes.len(), 0)?);
    }
    let names = sections.keys().cloned().collect();
    let owner_view = view("owner", names, all, Vec::new(), (0, 0))?;

    Ok(Report {
        sealed,
        sections,
        fingerprints,
        owner: owner_view,
        readers: views,
    })
}

/// A reader's side: fetch the entries from the cloud, ask the SRS in signed batches (at most
/// [`MAX_BATCH`] entries each) to re-encrypt them by id, and for each item the SRS answered:
/// put the SRS's current key block on the entry, check the receipt against the SRS's key
/// and the writer against the ACL version the entry names, decrypt. The SRS's per-entry
/// refusals are collected; any other failure (a bad signature, a tampered entry or receipt,
/// a whole batch refused) is an error.
fn read_record<R: RngCore + CryptoRng + ?Sized>(
    reader: &Principal,
    service: &mut Service,
    cloud: &Cloud,
    record: RecordId,
    trust: &Trust,
    now: Timestamp,
    rng: &mut R,
) -> Result<(Vec<Received>, Vec<Refused>), BoxError> {
    let client = reader.client(service.srs.id());
    let mut received = Vec::new();
    let mut refused = Vec::new();
    for (batch, stored) in cloud.entries.chunks(MAX_BATCH).enumerate() {
        let entries = stored
            .iter()
            .map(|(bytes, _)| SealedEntry::from_bytes(bytes))
            .collect::<Result<Vec<_>, _>>()?;
        let ids = entries.iter().map(|e| e.header().entry()).collect();
        let op = Operation::Reencrypt {
            record,
            entries: ids,
        };
        let Response::Reencrypted { items, .. } = service.call(&client, op, now, rng)? else {
            return Err("the SRS answered a batch with something else".into());
        };
        if items.len() != entries.len() {
            return Err("the SRS answered a batch with the wrong number of items".into());
        }
        let rows = entries.into_iter().zip(stored).zip(items);
        for (j, ((entry, (bytes, receipt)), item)) in rows.enumerate() {
            let i = batch * MAX_BATCH + j;
            let item = match item {
                Ok(item) if item.entry == entry.header().entry() => item,
                Ok(_) => return Err(format!("entry {i}: the SRS answered for another").into()),
                Err(refusal) => {
                    let section = entry.header().section();
                    refused.push(Refused {
                        entry: i,
                        section,
                        refusal,
                    });
                    continue;
                }
            };
            // The answer was decoded from bytes with every GT check (`Response::from_bytes`).
            let recapsule_bytes = item.recapsule.to_bytes().len();
            let entry = entry.with_key_block(item.key_block);
            let accepted = Receipt::from_bytes(receipt)?.verify(&trust.srs, entry.header())?;
            let acl = service.acl(record, entry.header().acl_version(), &trust.owner)?;
            let json = reader
                .keys
                .open_entry(&entry, &accepted, &item.recapsule, &acl)?;
            received.push(received_resource(i, json, bytes.len(), recapsule_bytes)?);
        }
    }
    Ok((received, refused))
}

fn received_resource(
    entry: usize,
    json: Vec<u8>,
    entry_bytes: usize,
    recapsule_bytes: usize,
) -> Result<Received, BoxError> {
    let value: Value = serde_json::from_slice(&json)?;
    let (resource_type, id) =
        type_and_id(&value).ok_or_else(|| format!("entry {entry}: not a FHIR resource"))?;
    Ok(Received {
        entry,
        resource_type,
        id,
        json,
        entry_bytes,
        recapsule_bytes,
    })
}

/// Rebuilds a FHIR `Bundle` from what a principal received, serializes it, parses it back
/// and checks its shape.
fn view(
    name: &'static str,
    granted: Vec<String>,
    received: Vec<Received>,
    refused: Vec<Refused>,
    batch_bytes: (usize, usize),
) -> Result<View, BoxError> {
    let text = serde_json::to_string_pretty(&rebuild_bundle(&received)?)?;
    let bundle: Value = serde_json::from_str(&text)?;
    check_bundle(&bundle)?;
    Ok(View {
        name,
        granted,
        received,
        refused,
        batch_bytes,
        bundle,
        bundle_json_bytes: text.len(),
    })
}

/// A `collection` Bundle of the received resources. Only the resource was sealed, so the
/// entry's `fullUrl` is rebuilt as `urn:uuid:<id>` where the id is a UUID (as in bundles
/// that reference each other by `urn:uuid:`), and left out otherwise (it is optional).
pub fn rebuild_bundle(received: &[Received]) -> Result<Value, BoxError> {
    let mut entries = Vec::with_capacity(received.len());
    for r in received {
        let resource: Value = serde_json::from_slice(&r.json)?;
        entries.push(if is_uuid(&r.id) {
            json!({ "fullUrl": format!("urn:uuid:{}", r.id), "resource": resource })
        } else {
            json!({ "resource": resource })
        });
    }
    Ok(json!({ "resourceType": "Bundle", "type": "collection", "entry": entries }))
}

fn is_uuid(id: &str) -> bool {
    id.len() == 36
        && id.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// The structural rules of a FHIR R4 `Bundle` that a rebuilt one could break: it is a
/// Bundle of type `collection`, every entry has a resource with a `resourceType` and an
/// `id`, and `fullUrl`s are unique (invariant bdl-7).
pub fn check_bundle(bundle: &Value) -> Result<(), BoxError> {
    if bundle["resourceType"] != "Bundle" || bundle["type"] != "collection" {
        return Err("not a collection Bundle".into());
    }
    let entries = bundle["entry"]
        .as_array()
        .ok_or("Bundle.entry is not an array")?;
    let mut urls = BTreeSet::new();
    for (i, entry) in entries.iter().enumerate() {
        type_and_id(&entry["resource"])
            .ok_or_else(|| format!("Bundle.entry[{i}].resource lacks resourceType or id"))?;
        if let Some(url) = entry.get("fullUrl") {
            let url = url.as_str().ok_or("fullUrl is not a string")?;
            if !urls.insert(url) {
                return Err(format!("duplicate fullUrl {url} (bdl-7)").into());
            }
        }
    }
    Ok(())
}

/// `Condition ×4, Observation ×18` in first-seen order.
fn type_counts<'a>(types: impl Iterator<Item = &'a str>) -> String {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for t in types {
        match counts.iter_mut().find(|(seen, _)| *seen == t) {
            Some((_, n)) => *n += 1,
            None => counts.push((t, 1)),
        }
    }
    let parts: Vec<String> = counts.iter().map(|(t, n)| format!("{t} ×{n}")).collect();
    parts.join(", ")
}

#[allow(dead_code)] // also compiled as a module of tests/fhir.rs, which has its own main
fn print_report(source: &str, synthetic: bool, report: &Report) {
    let total = report.sealed.len();
    let types: BTreeSet<&str> = report
        .sealed
        .iter()
        .map(|s| s.resource.resource_type.as_str())
        .collect();
    println!("sesphr · FHIR reference integration");
    if synthetic {
        println!("SYNTHETIC data, written for this project: not a real patient");
    }
    println!(
        "source: {source}: Bundle, {total} resources of {} types\n",
        types.len()
    );

    println!("key fingerprints (short form; compare out of band, never via the SRS alone):");
    for (name, fp) in &report.fingerprints {
        println!("  {name:<11} {}", fp.short());
    }

    println!("\nowner's section policy (names stay on the owner's device; the wire sees ids):");
    for (name, id) in &report.sections {
        let here: Vec<&Sealed> = report
            .sealed
            .iter()
            .filter(|s| &s.section == name)
            .collect();
        let bytes: usize = here.iter().map(|s| s.entry_bytes).sum();
        let fallback: BTreeSet<&str> = here
            .iter()
            .filter(|s| s.by_fallback)
            .map(|s| s.resource.resource_type.as_str())
            .collect();
        println!(
            "  {name:<13} {id:?}  {:>2} entries, {bytes:>6} B: {}",
            here.len(),
            type_counts(here.iter().map(|s| s.resource.resource_type.as_str()))
        );
        if !fallback.is_empty() {
            let list: Vec<&str> = fallback.into_iter().collect();
            println!(
                "  {:<13} (not in the policy, sent to the owner's fallback: {})",
                "",
                list.join(", ")
            );
        }
    }

    println!(
        "\nreaders (each asks the SRS, in one signed batch, to re-encrypt every entry of the record):"
    );
    for v in &report.readers {
        let entry_bytes: usize = v.received.iter().map(|r| r.entry_bytes).sum();
        let recap_bytes: usize = v.received.iter().map(|r| r.recapsule_bytes).sum();
        println!("  {} · granted {}", v.name, v.granted.join(", "));
        println!(
            "    received {} resources: {}",
            v.received.len(),
            type_counts(v.received.iter().map(|r| r.resource_type.as_str()))
        );
        println!(
            "    wire: {} entries = {entry_bytes} B, {} recapsules = {recap_bytes} B ({} B each)",
            v.received.len(),
            v.received.len(),
            ReCapsule::SIZE
        );
        println!(
            "          signed batch = {} B sent, the SRS's answer (key blocks and recapsules) = {} B",
            v.batch_bytes.0, v.batch_bytes.1
        );
        // Refusals grouped by reason, then by (the owner's name for) the section.
        let mut refused: BTreeMap<String, BTreeMap<&str, usize>> = BTreeMap::new();
        for r in &v.refused {
            let by_section = refused.entry(r.refusal.to_string()).or_default();
            *by_section
                .entry(report.section_name(&r.section))
                .or_default() += 1;
        }
        for (reason, by_section) in &refused {
            let n: usize = by_section.values().sum();
            let list: Vec<String> = by_section
                .iter()
                .map(|(s, n)| format!("{s} ×{n}"))
                .collect();
            println!(
                "    SRS refused {n} entries ({}): {reason}",
                list.join(", ")
            );
        }
        println!(
            "    rebuilt Bundle: {} entries, {} B of JSON, parsed back with serde_json",
            v.bundle["entry"].as_array().map_or(0, Vec::len),
            v.bundle_json_bytes
        );
    }

    let o = &report.owner;
    println!(
        "\nowner: opened all {} of {total} entries with its own section keys and the receipts (no SRS); \
         its rebuilt Bundle has {} entries, {} B of JSON",
        o.received.len(),
        o.bundle["entry"].as_array().map_or(0, Vec::len),
        o.bundle_json_bytes
    );
}

#[allow(dead_code)] // also compiled as a module of tests/fhir.rs, which has its own main
fn main() -> Result<(), BoxError> {
    let path = std::env::args().nth(1);
    let json = match &path {
        Some(p) => std::fs::read_to_string(p)?,
        None => SYNTHETIC_BUNDLE.to_owned(),
    };
    let source = path
        .as_deref()
        .unwrap_or("examples/data/synthetic_fhir_bundle.json");
    let report = run(
        &json,
        &ResourcePolicy::standard(),
        &mut sesphr::rand_core::OsRng,
    )?;
    print_report(source, path.is_none(), &report);
    Ok(())
}
