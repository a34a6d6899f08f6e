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
//! What happens, with every value that crosses a boundary moved as bytes:
//!
//! 1. The SRS starts with its administrator; the patient (owner), a hospital (writer), a
//!    doctor, a pharmacist and an insurer make their own keys, register, and are activated.
//!    The owner compares each key's fingerprint, in its short form, with the one the
//!    principal shows on its own device, never trusting the SRS registry alone.
//! 2. The owner's [`ResourcePolicy`] maps FHIR resource types to section names; types it
//!    does not list go to a section the owner chooses, never dropped. The names stay on the
//!    owner's device: the hospital gets a routing table of opaque section ids.
//! 3. The owner creates the record (one section per name, the hospital may write them all);
//!    the hospital seals every resource of the bundle, verbatim, as one entry.
//! 4. The owner grants the doctor medical + prescription, the pharmacist prescription and the
//!    insurer insurance, with history (the entries were written before the grants).
//! 5. Each reader asks the SRS to re-encrypt every entry of the record; the SRS refuses the
//!    sections the reader was not granted. The reader opens what it got and rebuilds a FHIR
//!    `Bundle` of only what it may see, which is parsed back with `serde_json`.
//! 6. The owner opens every entry with its own section keys: nothing was dropped.
//!
//! `tests/fhir.rs` runs this same [`run`] and checks every role's resources exactly.

use std::collections::{BTreeMap, BTreeSet};
use std::error::Error as StdError;

use serde_json::value::RawValue;
use serde_json::{json, Value};
use sesphr::phr::{
    AclVerifier, AclVersion, Change, Fingerprint, History, KeyBundle, Owner, PrincipalId,
    PrincipalKeys, RecordId, Role, SealedEntry, SectionId, SectionName, SignedAcl, Srs, Timestamp,
    VerifiedAcl,
};
use sesphr::pre::ReCapsule;
use sesphr::rand_core::{CryptoRng, RngCore};
use sesphr::sign::VerifyingKey;

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
        let table: [(&str, &[&str]); 4] = [
            ("personal", &["Patient", "RelatedPerson"]),
            ("insurance", &["Coverage", "Claim", "ExplanationOfBenefit"]),
            (
                "medical",
                &[
                    "Condition",
                    "Observation",
                    "Procedure",
                    "DiagnosticReport",
                    "AllergyIntolerance",
                    "ImagingStudy",
                ],
            ),
            (
                "prescription",
                &[
                    "MedicationRequest",
                    "MedicationStatement",
                    "MedicationDispense",
                ],
            ),
        ];
        let by_type = table
            .iter()
            .flat_map(|(section, types)| types.iter().map(|t| (t.to_string(), section.to_string())))
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
    /// The SRS's refusal.
    pub error: sesphr::Error,
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
    /// Makes keys, registers with a proof of possession, and has the admin activate it.
    fn enrol<R: RngCore + CryptoRng + ?Sized>(
        name: &'static str,
        role: Role,
        srs: &mut Srs,
        admin: PrincipalId,
        rng: &mut R,
    ) -> Result<Self, BoxError> {
        let keys = PrincipalKeys::random(rng);
        let id = PrincipalId::random(rng);
        srs.register(id, role, keys.bundle(), &keys.prove_possession(rng)?)?;
        srs.activate(admin, id)?;
        Ok(Self { name, id, keys })
    }

    /// What the principal shows on its own device (its screen, a QR code, read aloud).
    fn shown_fingerprint(&self) -> Fingerprint {
        self.keys.bundle().fingerprint()
    }
}

/// A principal's keys as the SRS registry serves them, accepted only if their fingerprint
/// equals `shown`, the one the principal showed out of band: the registry is not trusted for
/// key authenticity.
fn checked_bundle(
    srs: &Srs,
    id: PrincipalId,
    name: &str,
    shown: Fingerprint,
) -> Result<KeyBundle, BoxError> {
    let claimed = srs
        .principal(id)
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

/// The cloud store: opaque bytes only. It keeps every signed ACL version, because an entry
/// names the version its writer relied on and readers check the writer against that one.
#[derive(Default)]
struct Cloud {
    acls: BTreeMap<AclVersion, Vec<u8>>,
    entries: Vec<Vec<u8>>,
}

impl Cloud {
    /// The ACL version `version` of the record, checked against the owner's key (which the
    /// caller authenticated out of band).
    fn acl(&self, version: AclVersion, owner: &VerifyingKey) -> Result<VerifiedAcl, BoxError> {
        let bytes = self
            .acls
            .get(&version)
            .ok_or_else(|| format!("ACL version {} is not in the store", version.0))?;
        Ok(SignedAcl::from_bytes(bytes)?.verify(owner)?)
    }
}

/// Runs the whole flow on `bundle_json` with the owner's `policy`.
pub fn run<R: RngCore + CryptoRng + ?Sized>(
    bundle_json: &str,
    policy: &ResourcePolicy,
    rng: &mut R,
) -> Result<Report, BoxError> {
    // The crate reads no clock: the caller passes the time (here 2024-04-02, Unix seconds).
    let now = Timestamp(1_712_052_000);
    let until = Timestamp(now.0 + 365 * 24 * 3600);
    let resources = split_bundle(bundle_json)?;
    let mut cloud = Cloud::default();

    // 1. The SRS and its administrator; everyone else registers and is activated.
    let admin_id = PrincipalId::random(rng);
    let admin = PrincipalKeys::random(rng);
    let mut srs = Srs::new(admin_id, admin.bundle(), &admin.prove_possession(rng)?)?;
    let owner = Owner::random(rng);
    let owner_id = PrincipalId::random(rng);
    let owner_keys = owner.keys();
    srs.register(
        owner_id,
        Role::Patient,
        owner_keys.bundle(),
        &owner_keys.prove_possession(rng)?,
    )?;
    srs.activate(admin_id, owner_id)?;
    let hospital = Principal::enrol("hospital", Role::Hospital, &mut srs, admin_id, rng)?;
    let mut readers = Vec::with_capacity(READERS.len());
    for (name, role, sections) in READERS {
        let reader = Principal::enrol(name, role, &mut srs, admin_id, rng)?;
        readers.push((reader, sections));
    }
    let mut fingerprints = vec![
        ("admin", admin.bundle().fingerprint()),
        ("owner", owner_keys.bundle().fingerprint()),
        (hospital.name, hospital.shown_fingerprint()),
    ];
    fingerprints.extend(readers.iter().map(|(p, _)| (p.name, p.shown_fingerprint())));
    // Everyone who checks an ACL or an entry needs the owner's key, authenticated out of band.
    let owner_fp = owner_keys.bundle().fingerprint();
    let owner_key = *checked_bundle(&srs, owner_id, "owner", owner_fp)?.signing_key();

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
    let hospital_bundle = checked_bundle(
        &srs,
        hospital.id,
        hospital.name,
        hospital.shown_fingerprint(),
    )?;
    let mut changes = Vec::new();
    for id in sections.values() {
        changes.push(Change::AddSection { section: *id });
        changes.push(Change::GrantWrite {
            section: *id,
            writer: hospital_bundle,
        });
    }
    let v1 = owner.create_record(record, until, &changes, rng)?;
    srs.apply_update(owner_id, &v1, now)?;
    cloud
        .acls
        .insert(v1.acl().acl_unverified().version(), v1.acl().to_bytes());

    // The hospital accepts the newest ACL from the SRS (refusing rollbacks and expired
    // versions) and seals each resource, verbatim, as one entry of its section.
    let mut hospital_view = AclVerifier::new(record, owner_key);
    let newest = srs.acl(record).ok_or("the SRS has no ACL for the record")?;
    let acl = hospital_view.accept(&SignedAcl::from_bytes(&newest.to_bytes())?, now)?;
    let mut sealed = Vec::with_capacity(resources.len());
    for resource in resources {
        let section = routing.section_for(&resource.resource_type);
        let entry = hospital
            .keys
            .seal_entry(&acl, section, resource.json.as_bytes(), now, rng)?;
        let bytes = entry.to_bytes()?;
        let (name, by_fallback) = policy.section_for(&resource.resource_type);
        sealed.push(Sealed {
            section: name.to_owned(),
            by_fallback,
            entry_bytes: bytes.len(),
            resource,
        });
        cloud.entries.push(bytes);
    }

    // 4. The owner grants each reader its sections, for the key it checked. `History::All`
    //    because the entries already exist; `History::None` would rotate the section first
    //    and the reader would see only what is written after the grant.
    let mut grants = Vec::new();
    for (reader, names) in &readers {
        let bundle = checked_bundle(&srs, reader.id, reader.name, reader.shown_fingerprint())?;
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
    let current: VerifiedAcl = v1.acl().verify(&owner_key)?;
    let v2 = owner.update(&current, until, &grants, rng)?;
    srs.apply_update(owner_id, &v2, now)?;
    cloud
        .acls
        .insert(v2.acl().acl_unverified().version(), v2.acl().to_bytes());

    // 5. Each reader asks the SRS to re-encrypt every entry of the record.
    let mut views = Vec::with_capacity(readers.len());
    for (reader, names) in &readers {
        let (received, refused) = read_record(reader, &srs, &cloud, &owner_key, now)?;
        let granted = names.iter().map(|s| s.to_string()).collect();
        views.push(view(reader.name, granted, received, refused)?);
    }

    // 6. The owner opens every entry with its own section keys: nothing was dropped.
    let mut all = Vec::with_capacity(cloud.entries.len());
    for (i, bytes) in cloud.entries.iter().enumerate() {
        let entry = SealedEntry::from_bytes(bytes)?;
        let acl = cloud.acl(entry.header().acl_version(), &owner_key)?;
        all.push(received_resource(
            i,
            owner.open_entry(&entry, &acl)?,
            bytes.len(),
            0,
        )?);
    }
    let owner_view = view("owner", sections.keys().cloned().collect(), all, Vec::new())?;

    Ok(Report {
        sealed,
        sections,
        fingerprints,
        owner: owner_view,
        readers: views,
    })
}

/// A reader's side: fetch each entry from the cloud, have the SRS re-encrypt its capsule,
/// check the writer against the ACL version the entry names, decrypt. The SRS's refusals
/// are collected; any other failure (a bad signature, a tampered entry) is an error.
fn read_record(
    reader: &Principal,
    srs: &Srs,
    cloud: &Cloud,
    owner_key: &VerifyingKey,
    now: Timestamp,
) -> Result<(Vec<Received>, Vec<Refused>), BoxError> {
    let mut received = Vec::new();
    let mut refused = Vec::new();
    for (i, bytes) in cloud.entries.iter().enumerate() {
        let entry = SealedEntry::from_bytes(bytes)?;
        match srs.reencrypt(reader.id, entry.header(), entry.key_block(), now) {
            Ok(recapsule) => {
                let wire = recapsule.to_bytes();
                let recapsule = ReCapsule::from_bytes(&wire)?;
                let acl = cloud.acl(entry.header().acl_version(), owner_key)?;
                let json = reader.keys.open_entry(&entry, &recapsule, &acl)?;
                received.push(received_resource(i, json, bytes.len(), wire.len())?);
            }
            Err(error @ sesphr::Error::NotAuthorized(_)) => refused.push(Refused {
                entry: i,
                section: entry.header().section(),
                error,
            }),
            Err(other) => return Err(other.into()),
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
) -> Result<View, BoxError> {
    let text = serde_json::to_string_pretty(&rebuild_bundle(&received)?)?;
    let bundle: Value = serde_json::from_str(&text)?;
    check_bundle(&bundle)?;
    Ok(View {
        name,
        granted,
        received,
        refused,
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

    println!("\nreaders (each asks the SRS to re-encrypt every entry of the record):");
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
        // Refusals grouped by reason, then by (the owner's name for) the section.
        let mut refused: BTreeMap<String, BTreeMap<&str, usize>> = BTreeMap::new();
        for r in &v.refused {
            let by_section = refused.entry(r.error.to_string()).or_default();
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
        "\nowner: opened all {} of {total} entries with its own section keys (no SRS); \
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
