//! Known-answer vectors in `tests/vectors/`: deterministic seeds → exact bytes, and hostile
//! encodings → exact errors. Each file says what it exercises and what it expects.
//!
//! Regenerate (only when the format changes on purpose, with a note in the changelog):
//! `SESPHR_WRITE_VECTORS=1 cargo test --test vectors`.

mod common;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use ark_bls12_381::{Fq, Fq12};
use ark_ff::{BigInteger, One, PrimeField, Zero};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sesphr::dem::{seal_body, DataKey, NoncePrefix, WrappedKey};
use sesphr::phr::{
    AclUpdate, Change, EntryId, Epoch, History, MasterSecret, Owner, PrincipalId, PrincipalKeys,
    RecordId, RequestId, RequestState, Role, SectionName, SignedAcl, Timestamp,
};
use sesphr::pre::{
    encapsulate, Capsule, ReCapsule, ReKey, ReaderSecretKey, SectionPublicKey, SectionSecretKey,
};
use sesphr::sign::{Purpose, Signature, SigningKey};
use sesphr::srs::{
    Client, MemoryStore, Operation, Receipt, Refusal, Response, SignedOperation, Srs, SrsConfig,
    MAX_BATCH,
};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn sha(b: &[u8]) -> String {
    use sha2::Digest;
    hex(&sha2::Sha256::digest(b))
}

/// A vector file: `# comments`, then `key: value` lines.
struct Vector {
    comment: String,
    fields: Vec<(String, String)>,
}

impl Vector {
    fn render(&self) -> String {
        let mut s = String::new();
        for line in self.comment.lines() {
            writeln!(s, "# {line}").unwrap();
        }
        for (k, v) in &self.fields {
            writeln!(s, "{k}: {v}").unwrap();
        }
        s
    }

    fn parse(text: &str) -> BTreeMap<String, String> {
        text.lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|l| {
                let (k, v) = l.split_once(": ").expect("key: value");
                (k.to_string(), v.to_string())
            })
            .collect()
    }
}

fn data(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 31 + 7) as u8).collect()
}

/// Recomputes a full KEM + DEM + signature chain from the inputs of a KAT file.
fn kat_outputs(inputs: &BTreeMap<String, String>) -> Vec<(String, String)> {
    let seed = |k: &str| -> [u8; 32] { unhex(&inputs[k]).try_into().expect("32-byte seed") };
    let a = SectionSecretKey::from_seed(&seed("section_seed")).unwrap();
    let b = ReaderSecretKey::from_seed(&seed("reader_seed")).unwrap();
    let sk = SigningKey::from_seed(&seed("signing_seed")).unwrap();
    let mut rng = ChaCha20Rng::from_seed(seed("rng_seed"));
    let context = unhex(&inputs["context"]);
    let plaintext = data(inputs["plaintext_len"].parse().unwrap());

    let (capsule, k) = encapsulate(&a.public_key(), &context, &mut rng).unwrap();
    let rk = ReKey::new(&a, &b.public_key());
    let rc = rk.reencrypt(&capsule);
    let k_reader = b
        .decapsulate_reencrypted(&rc, &a.public_key(), &context)
        .unwrap();
    assert_eq!(k_reader, k);
    assert_eq!(a.decapsulate(&capsule, &context).unwrap(), k);
    let dk = DataKey::random(&mut rng);
    let prefix = NoncePrefix::random(&mut rng);
    let wrapped = dk.wrap(&k, &context);
    let body = seal_body(&dk, &prefix, &context, &plaintext).unwrap();
    let sig = sk
        .sign(
            Purpose::Entry,
            &[&context, &body[..body.len().min(64)]],
            &mut rng,
        )
        .unwrap();
    sk.verifying_key()
        .verify(
            Purpose::Entry,
            &[&context, &body[..body.len().min(64)]],
            &sig,
        )
        .unwrap();
    vec![
        ("section_public_key".into(), hex(&a.public_key().to_bytes())),
        ("section_secret_key".into(), hex(&a.to_bytes()[..])),
        ("reader_public_key".into(), hex(&b.public_key().to_bytes())),
        ("verifying_key".into(), hex(&sk.verifying_key().to_bytes())),
        ("capsule".into(), hex(&capsule.to_bytes())),
        ("shared_key".into(), hex(k.as_bytes())),
        ("rekey".into(), hex(&rk.to_bytes())),
        ("recapsule".into(), hex(&rc.to_bytes())),
        ("data_key_wrapped".into(), hex(&wrapped.to_bytes())),
        ("nonce_prefix".into(), hex(&prefix.to_bytes())),
        ("body_len".into(), body.len().to_string()),
        ("body_sha256".into(), sha(&body)),
        ("body_head".into(), hex(&body[..body.len().min(64)])),
        ("signature".into(), hex(&sig.to_bytes())),
    ]
}

fn kat_inputs(i: u8, context: &[u8], len: usize) -> Vec<(String, String)> {
    vec![
        ("section_seed".into(), hex(&[i; 32])),
        ("reader_seed".into(), hex(&[i + 100; 32])),
        ("signing_seed".into(), hex(&[i + 200; 32])),
        ("rng_seed".into(), hex(&[i ^ 0x5a; 32])),
        ("context".into(), hex(context)),
        ("plaintext_len".into(), len.to_string()),
    ]
}

fn owner_outputs(inputs: &BTreeMap<String, String>) -> Vec<(String, String)> {
    let master: [u8; 32] = unhex(&inputs["master"]).try_into().unwrap();
    let owner = Owner::from_master(MasterSecret::from_raw(master)).unwrap();
    let record = owner.record_id(&inputs["record_name"]).unwrap();
    let section = owner.section_id(&SectionName::new(&inputs["section_name"]).unwrap());
    let mut out = vec![
        (
            "owner_bundle".into(),
            hex(&owner.keys().bundle().to_bytes()),
        ),
        ("record_id".into(), hex(record.as_bytes())),
        ("section_id".into(), hex(section.as_bytes())),
    ];
    for e in 0..3 {
        let k = owner.section_key(record, section, Epoch::new(e)).unwrap();
        out.push((
            format!("section_key_epoch_{e}"),
            hex(&k.public_key().to_bytes()),
        ));
    }
    out
}

/// A record's first two ACL versions from seeds: the owner-signed ACL bytes (format v2), their
/// hashes and key-set roots, and the update bytes with their key proofs (SPEC §7).
fn acl_outputs(inputs: &BTreeMap<String, String>) -> Vec<(String, String)> {
    let master: [u8; 32] = unhex(&inputs["master"]).try_into().unwrap();
    let owner = Owner::from_master(MasterSecret::from_raw(master)).unwrap();
    let reader_seed: [u8; 32] = unhex(&inputs["reader_seed"]).try_into().unwrap();
    let reader = PrincipalKeys::from_parts(
        SigningKey::from_seed(&reader_seed).unwrap(),
        ReaderSecretKey::from_seed(&reader_seed).unwrap(),
    );
    let rng_seed: [u8; 32] = unhex(&inputs["rng_seed"]).try_into().unwrap();
    let mut rng = ChaCha20Rng::from_seed(rng_seed);
    let record = owner.record_id("main").unwrap();
    let section = owner.section_id(&SectionName::new("medical").unwrap());
    let until = Timestamp::new(1_900_000_000);
    let v1 = owner
        .create_record(
            record,
            until,
            &[
                Change::AddSection { section },
                Change::GrantRead {
                    section,
                    reader: reader.bundle(),
                    history: History::None,
                },
            ],
            &mut rng,
        )
        .unwrap();
    let acl1 = v1.acl().verify(&owner.verifying_key()).unwrap();
    let v2 = owner
        .update(&acl1, until, &[Change::Rotate { section }], &mut rng)
        .unwrap();
    let mut out = Vec::new();
    for (n, u) in [(1, &v1), (2, &v2)] {
        assert_eq!(AclUpdate::from_bytes(&u.to_bytes()).unwrap(), *u);
        let acl = u.acl().acl_unverified();
        out.push((format!("acl_v{n}"), hex(&acl.to_bytes().unwrap())));
        out.push((format!("acl_v{n}_hash"), hex(u.acl().hash().as_bytes())));
        out.push((format!("acl_v{n}_keys_root"), hex(acl.key_set().root())));
        out.push((format!("update_v{n}"), hex(&u.to_bytes())));
    }
    assert_eq!(v2.acl().acl_unverified().previous(), v1.acl().hash());
    out
}

fn seed32(inputs: &BTreeMap<String, String>, k: &str) -> [u8; 32] {
    unhex(&inputs[k]).try_into().expect("32-byte seed")
}

fn seeded_keys(seed: &[u8; 32]) -> PrincipalKeys {
    PrincipalKeys::from_parts(
        SigningKey::from_seed(seed).unwrap(),
        ReaderSecretKey::from_seed(seed).unwrap(),
    )
}

/// An SRS over an empty in-memory store, its signing key from a seed.
fn seeded_srs(inputs: &BTreeMap<String, String>) -> Srs<MemoryStore> {
    Srs::new(
        MemoryStore::new(),
        SigningKey::from_seed(&seed32(inputs, "srs_seed")).unwrap(),
        &inputs["srs_name"],
        SrsConfig::default(),
    )
}

fn outcome<T>(r: Result<T, sesphr::Error>, ok: impl FnOnce(T) -> String) -> String {
    match r {
        Ok(v) => ok(v),
        Err(e) => format!("error {e:?}"),
    }
}

/// One signed operation from seeds (SPEC §8): the SRS id of a seeded SRS key and deployment
/// name, a seeded principal, the time, and a seeded ChaCha20 RNG that draws the nonce (16
/// bytes) and then the signature's nonce. Also what a fresh SRS with that key answers: a
/// registration is applied; any other operation of the (registered, not yet active)
/// principal is refused as `Inactive` — after its signature verified.
fn signed_op_outputs(inputs: &BTreeMap<String, String>) -> Vec<(String, String)> {
    let keys = seeded_keys(&seed32(inputs, "principal_seed"));
    let principal = PrincipalId::new(unhex(&inputs["principal_id"]).try_into().unwrap());
    let time = Timestamp::new(inputs["time"].parse().unwrap());
    let mut srs = seeded_srs(inputs);
    let client = Client::new(&keys, principal, srs.id());
    let op = match inputs["operation"].as_str() {
        "register" => Operation::Register {
            role: Role::from_name(&inputs["role"]),
            bundle: keys.bundle(),
        },
        "reencrypt" => Operation::Reencrypt {
            record: RecordId::new(unhex(&inputs["record"]).try_into().unwrap()),
            entries: unhex(&inputs["entries"])
                .chunks(16)
                .map(|c| EntryId::new(c.try_into().unwrap()))
                .collect(),
        },
        other => panic!("unknown operation {other}"),
    };
    let register = matches!(op, Operation::Register { .. });
    let mut rng = ChaCha20Rng::from_seed(seed32(inputs, "rng_seed"));
    let signed = client.sign(op, time, &mut rng).unwrap();
    let bytes = signed.to_bytes();
    assert_eq!(SignedOperation::from_bytes(&bytes).unwrap(), signed);
    if !register {
        // The principal registers first (with its own RNG: not part of the vector).
        let reg = client
            .register(Role::Doctor, time, &mut ChaCha20Rng::from_seed([0; 32]))
            .unwrap();
        srs.execute(&reg, time, &mut ChaCha20Rng::from_seed([0; 32]))
            .unwrap();
    }
    let answer = outcome(
        srs.execute(&signed, time, &mut ChaCha20Rng::from_seed([0; 32])),
        |r| format!("ok {r:?}"),
    );
    vec![
        ("srs_id".into(), hex(srs.id().as_bytes())),
        ("signer".into(), hex(keys.bundle().fingerprint().as_bytes())),
        ("nonce".into(), hex(signed.nonce())),
        ("signed_operation".into(), hex(&bytes)),
        ("sha256".into(), hex(&signed.hash())),
        ("srs_answer".into(), answer),
    ]
}

trait RoleName {
    fn from_name(name: &str) -> Role;
}

impl RoleName for Role {
    fn from_name(name: &str) -> Role {
        match name {
            "patient" => Role::Patient,
            "hospital" => Role::Hospital,
            "doctor" => Role::Doctor,
            "admin" => Role::Admin,
            other => panic!("role {other}"),
        }
    }
}

/// A whole SRS flow from seeds, in one store: an administrator, an owner, a writer and a
/// reader register and are activated; the owner creates record "main" with section
/// "medical" (the writer writes it, the reader reads it without history); the writer's
/// entry passes the write gate (the receipt); the reader asks for that entry and one the SRS
/// never accepted (the re-encryption response: one item served, one refused). The reader
/// opens the entry with the response and the receipt. One ChaCha20 RNG drives everything.
fn srs_flow_outputs(inputs: &BTreeMap<String, String>) -> Vec<(String, String)> {
    let time = Timestamp::new(inputs["time"].parse().unwrap());
    let mut rng = ChaCha20Rng::from_seed(seed32(inputs, "rng_seed"));
    let mut srs = seeded_srs(inputs);
    let owner = Owner::from_master(MasterSecret::from_raw(seed32(inputs, "master"))).unwrap();
    let (admin, writer, reader) = (
        seeded_keys(&seed32(inputs, "admin_seed")),
        seeded_keys(&seed32(inputs, "writer_seed")),
        seeded_keys(&seed32(inputs, "reader_seed")),
    );
    let client = |keys, n: u8| Client::new(keys, PrincipalId::new([n; 16]), srs.id());
    let (admin_c, owner_c, writer_c, reader_c) = (
        client(&admin, 1),
        client(owner.keys(), 2),
        client(&writer, 3),
        client(&reader, 4),
    );
    srs.bootstrap(
        &admin_c.register(Role::Admin, time, &mut rng).unwrap(),
        time,
    )
    .unwrap();
    for (c, role) in [
        (owner_c, Role::Patient),
        (writer_c, Role::Hospital),
        (reader_c, Role::Doctor),
    ] {
        let reg = c.register(role, time, &mut rng).unwrap();
        srs.execute(&reg, time, &mut rng).unwrap();
        let activate = Operation::Activate { target: c.id() };
        srs.execute(
            &admin_c.sign(activate, time, &mut rng).unwrap(),
            time,
            &mut rng,
        )
        .unwrap();
    }
    let record = owner.record_id("main").unwrap();
    let section = owner.section_id(&SectionName::new("medical").unwrap());
    let update = owner
        .create_record(
            record,
            Timestamp::new(time.get() + 86_400),
            &[
                Change::AddSection { section },
                Change::GrantWrite {
                    section,
                    writer: writer.bundle(),
                },
                Change::GrantRead {
                    section,
                    reader: reader.bundle(),
                    history: History::None,
                },
            ],
            &mut rng,
        )
        .unwrap();
    let apply = owner_c
        .sign(Operation::ApplyUpdate(update.clone()), time, &mut rng)
        .unwrap();
    srs.execute(&apply, time, &mut rng).unwrap();
    let acl = update.acl().verify(&owner.verifying_key()).unwrap();
    let plaintext = unhex(&inputs["plaintext"]);
    let entry = writer
        .seal_entry(&acl, section, &plaintext, time, &mut rng)
        .unwrap();
    let submit = writer_c.sign(entry.submission(), time, &mut rng).unwrap();
    let accepted = srs.execute(&submit, time, &mut rng).unwrap();
    let Response::Accepted(receipt) = &accepted else {
        panic!("not accepted: {accepted:?}")
    };
    let unknown = EntryId::new([0xee; 16]);
    let ask = Operation::Reencrypt {
        record,
        entries: vec![entry.header().entry(), unknown],
    };
    let ask = reader_c.sign(ask, time, &mut rng).unwrap();
    let reencrypted = srs.execute(&ask, time, &mut rng).unwrap();
    let Response::Reencrypted { items, .. } = &reencrypted else {
        panic!("{reencrypted:?}")
    };
    assert_eq!(items[1], Err(Refusal::UnknownEntry));
    let item = items[0].as_ref().unwrap();
    let verified = receipt
        .verify(&srs.verifying_key(), entry.header())
        .unwrap();
    assert_eq!(
        reader
            .open_entry(&entry, &verified, &item.recapsule, &acl)
            .unwrap(),
        plaintext
    );
    assert_eq!(
        Receipt::from_bytes(&receipt.to_bytes()).as_ref(),
        Ok(&**receipt)
    );
    for r in [&accepted, &reencrypted] {
        assert_eq!(Response::from_bytes(&r.to_bytes()).as_ref(), Ok(r));
    }
    let mut out = vec![
        ("srs_id".into(), hex(srs.id().as_bytes())),
        (
            "srs_verifying_key".into(),
            hex(&srs.verifying_key().to_bytes()),
        ),
        ("entry_header".into(), hex(&entry.header().to_bytes())),
    ];
    match inputs["output"].as_str() {
        "receipt" => {
            out.push(("submit_operation_sha256".into(), hex(&submit.hash())));
            out.push(("receipt".into(), hex(&receipt.to_bytes())));
            out.push(("response_accepted".into(), hex(&accepted.to_bytes())));
        }
        "response-reencrypted" => {
            out.push(("reencrypt_operation".into(), hex(&ask.to_bytes())));
            out.push(("response_reencrypted".into(), hex(&reencrypted.to_bytes())));
        }
        other => panic!("unknown output {other}"),
    }
    out
}

/// The small responses, from fixed values: one encoding per variant.
fn response_outputs() -> Vec<(String, String)> {
    vec![
        ("done".into(), hex(&Response::Done.to_bytes())),
        (
            "status_doctor_active".into(),
            hex(&Response::Status {
                role: Role::Doctor,
                active: true,
            }
            .to_bytes()),
        ),
        (
            "status_patient_inactive".into(),
            hex(&Response::Status {
                role: Role::Patient,
                active: false,
            }
            .to_bytes()),
        ),
        (
            "request_filed".into(),
            hex(&Response::RequestFiled(RequestId::new([0x5a; 16])).to_bytes()),
        ),
        (
            "approved".into(),
            hex(&Response::Approved(RequestState::Approved).to_bytes()),
        ),
        (
            "approved_narrower".into(),
            hex(&Response::Approved(RequestState::ApprovedNarrower).to_bytes()),
        ),
        (
            "every_refusal".into(),
            hex(&Response::Reencrypted {
                items: Refusal::ALL.iter().map(|r| Err(*r)).collect(),
                receipt: None,
            }
            .to_bytes()),
        ),
    ]
}

fn signed_op_inputs(operation: &str) -> Vec<(String, String)> {
    let mut v = vec![
        ("srs_seed".to_string(), hex(&[0x21; 32])),
        ("srs_name".into(), "vectors".into()),
        ("principal_seed".into(), hex(&[0x22; 32])),
        ("principal_id".into(), hex(&[0x07; 16])),
        ("time".into(), "1700000000".into()),
        ("rng_seed".into(), hex(&[0x23; 32])),
        ("operation".into(), operation.into()),
    ];
    match operation {
        "register" => v.push(("role".into(), "doctor".into())),
        _ => {
            v.push(("record".into(), hex(&[0x0d; 16])));
            v.push((
                "entries".into(),
                hex(&[[0x01; 16], [0x02; 16], [0x03; 16]].concat()),
            ));
        }
    }
    v
}

fn srs_flow_inputs(output: &str) -> Vec<(String, String)> {
    vec![
        ("srs_seed".to_string(), hex(&[0x31; 32])),
        ("srs_name".into(), "vectors".into()),
        ("admin_seed".into(), hex(&[0x32; 32])),
        ("master".into(), hex(&[0x33; 32])),
        ("writer_seed".into(), hex(&[0x34; 32])),
        ("reader_seed".into(), hex(&[0x35; 32])),
        ("rng_seed".into(), hex(&[0x36; 32])),
        ("time".into(), "1700000000".into()),
        ("plaintext".into(), hex(b"HbA1c 5.4 %")),
        ("output".into(), output.into()),
    ]
}

/// The SRS's vectors: signed operations, the receipt, the responses (SPEC §8).
fn srs_vectors() -> Vec<(String, Vector)> {
    let mut v = Vec::new();
    for (operation, what) in [
        (
            "register",
            "a registration (role doctor),\nsigned by the key it registers: its proof of possession, bound to the SRS id and the\nprincipal id",
        ),
        (
            "reencrypt",
            "a re-encryption batch of three\nentries of one record",
        ),
    ] {
        let inputs = signed_op_inputs(operation);
        let parsed: BTreeMap<_, _> = inputs.iter().cloned().collect();
        let mut fields = vec![
            ("kind".to_string(), "signed-op".to_string()),
            ("expect".into(), "success".into()),
        ];
        fields.extend(inputs);
        fields.extend(signed_op_outputs(&parsed));
        v.push((
            format!("kat-signed-operation-{operation}.txt"),
            Vector {
                comment: format!("A signed SRS operation from seeds (SPEC §8): {what}.\nThe nonce and the signature's nonce come from the seeded ChaCha20 RNG; srs_answer is\nwhat a fresh SRS with that key answers (a registration is applied; any other operation\nof the registered, inactive principal is refused as Inactive, after its signature\nverified)."),
                fields,
            },
        ));
    }
    for (output, what) in [
        (
            "receipt",
            "the write gate's signed acceptance receipt and the response carrying it",
        ),
        (
            "response-reencrypted",
            "the reader's batch (the accepted entry and one never accepted) and the\nresponse: one item served (entry id, the stored key block, the recapsule), one refused\n(UnknownEntry)",
        ),
    ] {
        let inputs = srs_flow_inputs(output);
        let parsed: BTreeMap<_, _> = inputs.iter().cloned().collect();
        let mut fields = vec![
            ("kind".to_string(), "srs-flow".to_string()),
            ("expect".into(), "success".into()),
        ];
        fields.extend(inputs);
        fields.extend(srs_flow_outputs(&parsed));
        v.push((
            format!("kat-{output}.txt"),
            Vector {
                comment: format!("A whole SRS flow from seeds in one in-memory store (SPEC §8): admin, owner,\nwriter and reader registered and activated; record \"main\", section \"medical\"; one\nentry through the write gate; one re-encryption batch. Pinned here:\n{what}."),
                fields,
            },
        ));
    }
    let mut fields = vec![
        ("kind".to_string(), "responses".to_string()),
        ("expect".into(), "success".into()),
    ];
    fields.extend(response_outputs());
    v.push((
        "kat-responses.txt".into(),
        Vector {
            comment: "The SRS's small responses from fixed values, one per variant, and a batch\nresponse refusing one item with every refusal in order (their bytes are part of the\nformat).".into(),
            fields,
        },
    ));
    v
}

fn positive_vectors() -> Vec<(String, Vector)> {
    let mut v = Vec::new();
    for (i, (ctx, len, what)) in [
        (
            &b""[..],
            0usize,
            "empty context, empty body (one empty final segment)",
        ),
        (b"entry-header-hash", 1, "one-byte body"),
        (
            &[0xab; 32][..],
            65_536,
            "exactly one full segment, flagged last",
        ),
        (
            &[0x01; 32][..],
            65_537,
            "two segments, the second holding one byte",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let inputs = kat_inputs(i as u8 + 1, ctx, len);
        let parsed: BTreeMap<_, _> = inputs.iter().cloned().collect();
        let mut fields = vec![
            ("kind".to_string(), "kat".to_string()),
            ("expect".into(), "success".into()),
        ];
        fields.extend(inputs);
        fields.extend(kat_outputs(&parsed));
        v.push((
            format!("kat-chain-{}.txt", i + 1),
            Vector { comment: format!("Full chain from seeds: keys, capsule, rekey, recapsule, shared key,\nwrapped data key, STREAM body, signature. Edge: {what}."), fields },
        ));
    }
    let inputs = vec![
        ("master".to_string(), hex(&[0x42; 32])),
        ("record_name".into(), "main".into()),
        ("section_name".into(), "mental-health".into()),
    ];
    let parsed: BTreeMap<_, _> = inputs.iter().cloned().collect();
    let mut fields = vec![
        ("kind".to_string(), "owner".to_string()),
        ("expect".into(), "success".into()),
    ];
    fields.extend(inputs);
    fields.extend(owner_outputs(&parsed));
    v.push((
        "kat-owner-derivations.txt".into(),
        Vector { comment: "Owner derivations from a master secret: owner keys, opaque record and\nsection ids, section keys of epochs 0..2 (SPEC §4).".into(), fields },
    ));
    let inputs = vec![
        ("master".to_string(), hex(&[0x42; 32])),
        ("reader_seed".into(), hex(&[0x17; 32])),
        ("rng_seed".into(), hex(&[0x05; 32])),
    ];
    let parsed: BTreeMap<_, _> = inputs.iter().cloned().collect();
    let mut fields = vec![
        ("kind".to_string(), "acl".to_string()),
        ("expect".into(), "success".into()),
    ];
    fields.extend(inputs);
    fields.extend(acl_outputs(&parsed));
    v.push((
        "kat-acl-chain.txt".into(),
        Vector { comment: "A record's first two ACL versions (format 2): owner-signed ACL bytes, their\nhashes (v2 chains to v1) and key-set roots, and the updates with their key proofs\n(SPEC §4, §7). Record \"main\", section \"medical\", one reader granted without\nhistory, then a rotation.".into(), fields },
    ));
    v
}

/// The first ACL of the ACL vector, re-encoded with `patch` applied (hostile ACLs).
fn patched_acl(patch: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let inputs: BTreeMap<String, String> = [
        ("master".to_string(), hex(&[0x42; 32])),
        ("reader_seed".into(), hex(&[0x17; 32])),
        ("rng_seed".into(), hex(&[0x05; 32])),
    ]
    .into_iter()
    .collect();
    let outputs: BTreeMap<String, String> = acl_outputs(&inputs).into_iter().collect();
    let mut acl = unhex(&outputs["acl_v1"]);
    patch(&mut acl);
    acl
}

/// Offsets in an ACL with one section (`docs/encoding.md`).
const ACL_KEYS_SIZE_AT: usize = 2 + 16 + 8 + 8 + 32 + 32;
const ACL_EPOCH_AT: usize = ACL_KEYS_SIZE_AT + 8 + sesphr::phr::KeyBundle::SIZE + 5 + 4 + 16;

/// Hostile encodings, each with the exact error it must produce.
fn negative_vectors() -> Vec<(String, Vector)> {
    let a = SectionSecretKey::from_seed(&[1; 32]).unwrap();
    let b = ReaderSecretKey::from_seed(&[2; 32]).unwrap();
    let mut rng = ChaCha20Rng::from_seed([3; 32]);
    let (capsule, _) = encapsulate(&a.public_key(), b"", &mut rng).unwrap();
    let rc = ReKey::new(&a, &b.public_key())
        .reencrypt(&capsule)
        .to_bytes();
    let t = Fq12::deserialize_uncompressed(&rc[50..]).unwrap();
    let with_t = |f: Fq12| {
        let mut out = rc.to_vec();
        let mut enc = Vec::new();
        f.serialize_uncompressed(&mut enc).unwrap();
        out[50..].copy_from_slice(&enc);
        out
    };
    let mut ident = vec![0x03, 1, 0xc0];
    ident.extend([0u8; 47]);
    let mut off = vec![0x03, 1];
    off.extend(off_subgroup_point());
    let mut noncanon_scalar = vec![0x08, 1];
    noncanon_scalar.extend(ark_bls12_381::Fr::MODULUS.to_bytes_le());
    let mut bad_gt_coord = rc.to_vec();
    bad_gt_coord[50..98].copy_from_slice(&Fq::MODULUS.to_bytes_le());
    let mut sig_zero_s = {
        let sk = SigningKey::from_seed(&[9; 32]).unwrap();
        sk.sign(Purpose::Acl, &[b"x"], &mut rng)
            .unwrap()
            .to_bytes()
            .to_vec()
    };
    sig_zero_s[50..].fill(0);
    let cases: Vec<(&str, &str, Vec<u8>, &str)> = vec![
        ("acl-valid", "acl", patched_acl(|_| ()), "ok"),
        (
            "acl-format-1",
            "acl",
            patched_acl(|a| a[1] = 1),
            "UnknownVersion { what: \"ACL\", version: 1 }",
        ),
        (
            "acl-first-after-epoch",
            "acl",
            patched_acl(|a| a[ACL_EPOCH_AT + 4..ACL_EPOCH_AT + 8].copy_from_slice(&[0, 0, 0, 9])),
            "InvalidEncoding { what: \"ACL\", field: Some(\"section first epoch\") }",
        ),
        (
            "acl-key-count-mismatch",
            "acl",
            patched_acl(|a| a[ACL_KEYS_SIZE_AT + 7] ^= 1),
            "InvalidEncoding { what: \"ACL\", field: Some(\"key set size (not what the grants imply)\") }",
        ),
        (
            "acl-update-format-1",
            "acl-update",
            vec![0x1c, 1, 0, 0, 0, 0],
            "UnknownVersion { what: \"ACL update\", version: 1 }",
        ),
        (
            "signed-acl-format-1",
            "signed-acl",
            vec![0x16, 1, 0, 0, 0, 0],
            "UnknownVersion { what: \"signed ACL\", version: 1 }",
        ),
        ("recapsule-valid", "recapsule", rc.to_vec(), "ok"),
        (
            "recapsule-t-one",
            "recapsule",
            with_t(Fq12::one()),
            "InvalidGtElement(Trivial)",
        ),
        (
            "recapsule-t-zero",
            "recapsule",
            with_t(Fq12::zero()),
            "InvalidGtElement(Trivial)",
        ),
        (
            "recapsule-t-not-cyclotomic",
            "recapsule",
            with_t(t + Fq12::one()),
            "InvalidGtElement(NotCyclotomic)",
        ),
        (
            "recapsule-t-times-omega",
            "recapsule",
            with_t(t * common::cube_root_of_unity()),
            "InvalidGtElement(NotCyclotomic)",
        ),
        (
            "recapsule-order-4513",
            "recapsule",
            with_t(common::order_4513()),
            "InvalidGtElement(WrongOrder)",
        ),
        (
            "recapsule-t-times-order-4513",
            "recapsule",
            with_t(t * common::order_4513()),
            "InvalidGtElement(WrongOrder)",
        ),
        (
            "recapsule-noncanonical-coordinate",
            "recapsule",
            bad_gt_coord,
            "InvalidEncoding { what: \"re-encrypted capsule\", field: Some(\"GT element\") }",
        ),
        (
            "recapsule-truncated",
            "recapsule",
            rc[..rc.len() - 1].to_vec(),
            "InvalidEncoding { what: \"re-encrypted capsule\", field: None }",
        ),
        (
            "recapsule-trailing-byte",
            "recapsule",
            [&rc[..], &[0]].concat(),
            "InvalidEncoding { what: \"re-encrypted capsule\", field: Some(\"trailing bytes\") }",
        ),
        (
            "recapsule-unknown-version",
            "recapsule",
            [&[0x05, 2], &rc[2..]].concat(),
            "UnknownVersion { what: \"re-encrypted capsule\", version: 2 }",
        ),
        (
            "capsule-valid",
            "capsule",
            capsule.to_bytes().to_vec(),
            "ok",
        ),
        (
            "capsule-identity",
            "capsule",
            ident,
            "IdentityPoint { what: \"capsule\" }",
        ),
        (
            "capsule-off-subgroup",
            "capsule",
            off,
            "NotInSubgroup { what: \"capsule\" }",
        ),
        (
            "capsule-wrong-tag",
            "capsule",
            [&[0x01, 1], &capsule.to_bytes()[2..]].concat(),
            "UnknownTag { what: \"capsule\", tag: 1 }",
        ),
        (
            "section-secret-zero",
            "section-secret-key",
            [&[0x08, 1][..], &[0u8; 32]].concat(),
            "ZeroScalar { what: \"section secret key\" }",
        ),
        (
            "section-secret-noncanonical",
            "section-secret-key",
            noncanon_scalar,
            "NonCanonicalScalar { what: \"section secret key\" }",
        ),
        (
            "signature-zero-s",
            "signature",
            sig_zero_s,
            "ZeroScalar { what: \"signature\" }",
        ),
        (
            "wrapped-key-short",
            "wrapped-key",
            vec![0x0b, 1, 0, 0],
            "InvalidEncoding { what: \"wrapped key\", field: None }",
        ),
    ];
    decode_vectors(cases)
}

/// Hostile encodings of the SRS's wire values, each with the exact error it must produce.
fn srs_negative_vectors() -> Vec<(String, Vector)> {
    let op_inputs: BTreeMap<String, String> = signed_op_inputs("register").into_iter().collect();
    let op_outputs: BTreeMap<String, String> = signed_op_outputs(&op_inputs).into_iter().collect();
    let op = unhex(&op_outputs["signed_operation"]);
    // Offsets in a signed operation (`docs/encoding.md`).
    const KIND_AT: usize = 2 + 32 + 16 + 32 + 8 + 16;
    const BODY_AT: usize = KIND_AT + 1 + 4;
    let mut unknown_type = op.clone();
    unknown_type[KIND_AT] = 0xff;
    let mut type_zero = op.clone();
    type_zero[KIND_AT] = 0;
    // A login (empty body) whose body carries one byte.
    let mut login_extra = op[..KIND_AT].to_vec();
    login_extra.push(4);
    login_extra.extend(1u32.to_be_bytes());
    login_extra.push(0);
    login_extra.extend(&op[op.len() - Signature::SIZE..]);
    // A re-encryption batch one entry over the limit (clients cannot sign one: built from a
    // one-entry operation's bytes; the decoder refuses it before any signature check).
    let keys = seeded_keys(&[0x22; 32]);
    let srs = seeded_srs(&op_inputs);
    let one = Client::new(&keys, PrincipalId::new([7; 16]), srs.id())
        .sign(
            Operation::Reencrypt {
                record: RecordId::new([0x0d; 16]),
                entries: vec![EntryId::new([0; 16])],
            },
            Timestamp::new(1_700_000_000),
            &mut ChaCha20Rng::from_seed([0x24; 32]),
        )
        .unwrap()
        .to_bytes();
    let mut body = vec![0x0d; 16];
    body.extend(((MAX_BATCH + 1) as u32).to_be_bytes());
    for i in 0..=MAX_BATCH {
        body.extend([(i % 251) as u8; 16]);
    }
    let mut over = one[..=KIND_AT].to_vec();
    over.extend((body.len() as u32).to_be_bytes());
    over.extend(&body);
    over.extend(&one[one.len() - Signature::SIZE..]);
    let mut op_v2 = op.clone();
    op_v2[1] = 2;

    let flow_inputs: BTreeMap<String, String> = srs_flow_inputs("response-reencrypted")
        .into_iter()
        .collect();
    let flow: BTreeMap<String, String> = srs_flow_outputs(&flow_inputs).into_iter().collect();
    let response = unhex(&flow["response_reencrypted"]);
    let receipt_inputs: BTreeMap<String, String> = srs_flow_inputs("receipt").into_iter().collect();
    let receipt_flow: BTreeMap<String, String> =
        srs_flow_outputs(&receipt_inputs).into_iter().collect();
    let receipt = unhex(&receipt_flow["receipt"]);
    let refusals = |items: u32, refusal: u8| {
        let mut r = vec![0x21, 1, 5];
        r.extend(items.to_be_bytes());
        for _ in 0..items {
            r.extend([1, refusal]);
        }
        r.push(0); // no disclosure receipt
        r
    };
    let mut item_tag = refusals(1, 1);
    item_tag[7] = 2;
    let mut receipt_as_response = receipt.clone();
    receipt_as_response[0] = 0x21;

    let cases: Vec<(&str, &str, Vec<u8>, &str)> = vec![
        (
            "signed-operation-valid",
            "signed-operation",
            op.clone(),
            "ok",
        ),
        (
            "signed-operation-unknown-type",
            "signed-operation",
            unknown_type,
            "InvalidEncoding { what: \"operation type\", field: None }",
        ),
        (
            "signed-operation-type-zero",
            "signed-operation",
            type_zero,
            "InvalidEncoding { what: \"operation type\", field: None }",
        ),
        (
            "signed-operation-body-trailing-byte",
            "signed-operation",
            login_extra,
            "InvalidEncoding { what: \"operation\", field: Some(\"trailing bytes\") }",
        ),
        (
            "signed-operation-batch-over-max",
            "signed-operation",
            over,
            "LimitExceeded { what: \"entries per re-encryption batch\", limit: 256 }",
        ),
        (
            "signed-operation-truncated",
            "signed-operation",
            op[..op.len() - 1].to_vec(),
            "InvalidEncoding { what: \"signed operation\", field: None }",
        ),
        (
            "signed-operation-body-truncated",
            "signed-operation",
            op[..BODY_AT + 10].to_vec(),
            "InvalidEncoding { what: \"signed operation\", field: None }",
        ),
        (
            "signed-operation-trailing-byte",
            "signed-operation",
            [&op[..], &[0]].concat(),
            "InvalidEncoding { what: \"signed operation\", field: Some(\"trailing bytes\") }",
        ),
        (
            "signed-operation-format-2",
            "signed-operation",
            op_v2,
            "UnknownVersion { what: \"signed operation\", version: 2 }",
        ),
        ("response-valid", "response", response.clone(), "ok"),
        (
            "response-unknown-refusal",
            "response",
            refusals(1, 0xff),
            "InvalidEncoding { what: \"refusal\", field: None }",
        ),
        (
            "response-refusal-zero",
            "response",
            refusals(1, 0),
            "InvalidEncoding { what: \"refusal\", field: None }",
        ),
        (
            "response-batch-at-max",
            "response",
            refusals(MAX_BATCH as u32, 1),
            "ok",
        ),
        (
            "response-batch-over-max",
            "response",
            refusals(MAX_BATCH as u32 + 1, 1),
            "InvalidEncoding { what: \"response\", field: None }",
        ),
        (
            "response-count-beyond-input",
            "response",
            refusals(2, 1)[..9].to_vec(),
            "InvalidEncoding { what: \"response\", field: None }",
        ),
        (
            "response-unknown-item-tag",
            "response",
            item_tag,
            "InvalidEncoding { what: \"response\", field: None }",
        ),
        (
            "response-unknown-variant",
            "response",
            vec![0x21, 1, 7],
            "InvalidEncoding { what: \"response\", field: None }",
        ),
        (
            "response-truncated",
            "response",
            response[..response.len() - 1].to_vec(),
            "InvalidEncoding { what: \"response\", field: None }",
        ),
        (
            "response-trailing-byte",
            "response",
            [&response[..], &[0]].concat(),
            "InvalidEncoding { what: \"response\", field: Some(\"trailing bytes\") }",
        ),
        ("receipt-valid", "receipt", receipt.clone(), "ok"),
        (
            "receipt-truncated",
            "receipt",
            receipt[..receipt.len() - 1].to_vec(),
            "InvalidEncoding { what: \"receipt\", field: None }",
        ),
        (
            "receipt-trailing-byte",
            "receipt",
            [&receipt[..], &[0]].concat(),
            "InvalidEncoding { what: \"receipt\", field: Some(\"trailing bytes\") }",
        ),
        (
            "receipt-wrong-tag",
            "receipt",
            receipt_as_response,
            "UnknownTag { what: \"receipt\", tag: 33 }",
        ),
    ];
    decode_vectors(cases)
}

/// The secrets' encodings (`sesphr::secret`) from seeds: master secret, owner, principal keys
/// and the keys inside them.
fn secret_outputs(inputs: &BTreeMap<String, String>) -> Vec<(String, String)> {
    let master = MasterSecret::from_raw(seed32(inputs, "master"));
    let owner = Owner::from_master(master.clone()).unwrap();
    let keys = seeded_keys(&seed32(inputs, "keys_seed"));
    vec![
        ("master_secret".into(), hex(&master.to_bytes()[..])),
        ("owner".into(), hex(&owner.to_bytes()[..])),
        ("principal_keys".into(), hex(&keys.to_bytes()[..])),
        (
            "signing_key".into(),
            hex(&keys.signing_key().to_bytes()[..]),
        ),
        ("reader_key".into(), hex(&keys.reader_key().to_bytes()[..])),
        ("bundle".into(), hex(&keys.bundle().to_bytes())),
    ]
}

/// The secrets' KAT and their hostile encodings.
fn secret_vectors() -> Vec<(String, Vector)> {
    let inputs = vec![
        ("master".to_string(), hex(&[0x42; 32])),
        ("keys_seed".into(), hex(&[0x17; 32])),
    ];
    let parsed: BTreeMap<_, _> = inputs.iter().cloned().collect();
    let outputs: BTreeMap<String, String> = secret_outputs(&parsed).into_iter().collect();
    let mut fields = vec![
        ("kind".to_string(), "secrets".to_string()),
        ("expect".into(), "success".into()),
    ];
    fields.extend(inputs);
    fields.extend(secret_outputs(&parsed));
    let mut v = vec![(
        "kat-secret-encodings.txt".to_string(),
        Vector {
            comment: "The secrets' one encoding each (tag, version, fields): master secret (34 bytes),\nowner (66: master secret and its bundle fingerprint), principal keys (102: signing\nkey, reader key, bundle fingerprint), from seeds.".into(),
            fields,
        },
    )];
    let keys = unhex(&outputs["principal_keys"]);
    let owner = unhex(&outputs["owner"]);
    let other = seeded_keys(&[0x18; 32]);
    let mut mixed = keys.clone();
    mixed[36..70].copy_from_slice(&other.reader_key().to_bytes()[..]);
    let mut noncanonical = keys.clone();
    noncanonical[4..36].fill(0xff);
    let mut zero = keys.clone();
    zero[38..70].fill(0);
    let mut wrong_owner = owner.clone();
    wrong_owner[2] ^= 1;
    let keys_what = "InvalidEncoding { what: \"principal keys\", field: None }";
    let cases = vec![
        ("principal-keys-valid", "principal-keys", keys.clone(), "ok"),
        (
            "principal-keys-mixed-halves",
            "principal-keys",
            mixed,
            "InvalidEncoding { what: \"principal keys (the keys do not match the stored fingerprint)\", field: None }",
        ),
        (
            "principal-keys-noncanonical-scalar",
            "principal-keys",
            noncanonical,
            "NonCanonicalScalar { what: \"signing key\" }",
        ),
        (
            "principal-keys-zero-scalar",
            "principal-keys",
            zero,
            "ZeroScalar { what: \"reader secret key\" }",
        ),
        (
            "principal-keys-truncated",
            "principal-keys",
            keys[..keys.len() - 1].to_vec(),
            keys_what,
        ),
        (
            "principal-keys-trailing-byte",
            "principal-keys",
            [&keys[..], &[0]].concat(),
            "InvalidEncoding { what: \"principal keys\", field: Some(\"trailing bytes\") }",
        ),
        ("owner-valid", "owner", owner.clone(), "ok"),
        (
            "owner-other-master-secret",
            "owner",
            wrong_owner,
            "InvalidEncoding { what: \"owner (the keys do not match the stored fingerprint)\", field: None }",
        ),
        (
            "master-secret-raw-bytes",
            "master-secret",
            vec![0x42; 32],
            "UnknownTag { what: \"master secret\", tag: 66 }",
        ),
        (
            "master-secret-valid",
            "master-secret",
            unhex(&outputs["master_secret"]),
            "ok",
        ),
    ];
    v.extend(decode_vectors(cases));
    v
}

fn decode_vectors(cases: Vec<(&str, &str, Vec<u8>, &str)>) -> Vec<(String, Vector)> {
    cases
        .into_iter()
        .map(|(name, ty, input, expect)| {
            let comment = format!("Decoding {ty}: {}.", name.replace('-', " "));
            let fields = vec![
                ("kind".to_string(), "decode".to_string()),
                ("type".into(), ty.to_string()),
                ("input".into(), hex(&input)),
                (
                    "expect".into(),
                    if expect == "ok" {
                        "ok".into()
                    } else {
                        format!("error {expect}")
                    },
                ),
            ];
            (format!("decode-{name}.txt"), Vector { comment, fields })
        })
        .collect()
}

fn off_subgroup_point() -> [u8; 48] {
    let mut x = Fq::from(1u64);
    loop {
        if let Some(p) = ark_bls12_381::G1Affine::get_point_from_x_unchecked(x, true) {
            if !p.is_in_correct_subgroup_assuming_on_curve() {
                let mut out = [0u8; 48];
                p.serialize_compressed(&mut out[..]).unwrap();
                return out;
            }
        }
        x += Fq::one();
    }
}

fn decode(ty: &str, input: &[u8]) -> Result<(), sesphr::Error> {
    match ty {
        "recapsule" => ReCapsule::from_bytes(input).map(drop),
        "capsule" => Capsule::from_bytes(input).map(drop),
        "section-public-key" => SectionPublicKey::from_bytes(input).map(drop),
        "section-secret-key" => SectionSecretKey::from_bytes(input).map(drop),
        "signature" => Signature::from_bytes(input).map(drop),
        "wrapped-key" => WrappedKey::from_bytes(input).map(drop),
        "acl" => sesphr::phr::Acl::from_bytes(input).map(drop),
        "acl-update" => AclUpdate::from_bytes(input).map(drop),
        "signed-acl" => SignedAcl::from_bytes(input).map(drop),
        "signed-operation" => SignedOperation::from_bytes(input)
            .and_then(|o| o.operation())
            .map(drop),
        "response" => Response::from_bytes(input).map(drop),
        "receipt" => Receipt::from_bytes(input).map(drop),
        "principal-keys" => PrincipalKeys::from_bytes(input).map(drop),
        "owner" => Owner::from_bytes(input).map(drop),
        "master-secret" => MasterSecret::from_bytes(input).map(drop),
        other => panic!("unknown vector type {other}"),
    }
}

fn check(name: &str, text: &str) {
    let f = Vector::parse(text);
    match f["kind"].as_str() {
        "kat" => {
            for (k, v) in kat_outputs(&f) {
                assert_eq!(f.get(&k), Some(&v), "{name}: field {k}");
            }
        }
        "acl" => {
            for (k, v) in acl_outputs(&f) {
                assert_eq!(f.get(&k), Some(&v), "{name}: field {k}");
            }
        }
        "owner" => {
            for (k, v) in owner_outputs(&f) {
                assert_eq!(f.get(&k), Some(&v), "{name}: field {k}");
            }
        }
        "secrets" => {
            for (k, v) in secret_outputs(&f) {
                assert_eq!(f.get(&k), Some(&v), "{name}: field {k}");
            }
        }
        "signed-op" => {
            for (k, v) in signed_op_outputs(&f) {
                assert_eq!(f.get(&k), Some(&v), "{name}: field {k}");
            }
        }
        "srs-flow" => {
            for (k, v) in srs_flow_outputs(&f) {
                assert_eq!(f.get(&k), Some(&v), "{name}: field {k}");
            }
        }
        "responses" => {
            for (k, v) in response_outputs() {
                assert_eq!(f.get(&k), Some(&v), "{name}: field {k}");
                assert_eq!(
                    Response::from_bytes(&unhex(&v)).unwrap().to_bytes(),
                    unhex(&v),
                    "{name}: field {k} round trip"
                );
            }
        }
        "decode" => {
            let got = match decode(&f["type"], &unhex(&f["input"])) {
                Ok(()) => "ok".to_string(),
                Err(e) => format!("error {e:?}"),
            };
            assert_eq!(got, f["expect"], "{name}");
        }
        k => panic!("{name}: unknown kind {k}"),
    }
}

#[test]
fn vectors_match() {
    let all: Vec<(String, Vector)> = positive_vectors()
        .into_iter()
        .chain(negative_vectors())
        .chain(srs_vectors())
        .chain(srs_negative_vectors())
        .chain(secret_vectors())
        .collect();
    if std::env::var_os("SESPHR_WRITE_VECTORS").is_some() {
        std::fs::create_dir_all(dir()).unwrap();
        for (name, v) in &all {
            std::fs::write(dir().join(name), v.render()).unwrap();
        }
    }
    let mut files: Vec<_> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(
        files.len() >= all.len(),
        "vector files missing: run with SESPHR_WRITE_VECTORS=1"
    );
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        check(&path.file_name().unwrap().to_string_lossy(), &text);
    }
    // Every generated vector exists on disk with the same content: the files are the truth,
    // and a change to a derivation or an encoding shows up as a failing field above.
    for (name, v) in &all {
        let on_disk = std::fs::read_to_string(dir().join(name)).unwrap_or_default();
        assert_eq!(
            on_disk,
            v.render(),
            "{name} differs from what the code produces"
        );
    }
}
