//! The health-record layer end to end (issue 5, SPEC §4, §6), on the axes of the SeSPHR
//! evaluation (encryption time vs file size, key generation vs number of users).
//!
//! Run: `cargo bench --bench phr` (add `--features rayon` for parallel body segments).
//! Slow rows use flat sampling with few samples so the whole run stays short.

use std::cell::RefCell;
use std::hint::black_box;
use std::time::Duration;

use criterion::{
    criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sesphr::dem::{open_body, seal_body, DataKey, NoncePrefix};
use sesphr::phr::{
    Change, EntryStream, History, Limits, Owner, PrincipalId, PrincipalKeys, RecordId, Role,
    SealedEntry, SectionId, SectionName, Timestamp, VerifiedAcl,
};
use sesphr::pre::{encapsulate, ReCapsule, ReKey, ReaderSecretKey, SectionSecretKey};
use sesphr::sign::{Purpose, SigningKey};
use sesphr::srs::{
    Accepted, Client, MemoryStore, Operation, Response, SignedOperation, Srs, SrsConfig,
};

const NOW: Timestamp = Timestamp::new(1_700_000_000);
const UNTIL: Timestamp = Timestamp::new(1_800_000_000);
/// Readers registered and granted on the `medical` section.
const READERS: usize = 100;
/// Extra sections, for the grant rows.
const SECTIONS: usize = 64;

/// Body sizes: the four, plus the SeSPHR paper's 50 KB and 2 MB.
const SIZES: [(usize, &str); 6] = [
    (1 << 10, "1 KiB"),
    (50_000, "50 KB"),
    (64 << 10, "64 KiB"),
    (1 << 20, "1 MiB"),
    (2_000_000, "2 MB"),
    (16 << 20, "16 MiB"),
];

/// Rows whose cost depends on the `rayon` feature carry a suffix in the run with it.
fn suffix() -> &'static str {
    if cfg!(feature = "rayon") {
        " (rayon)"
    } else {
        ""
    }
}

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

fn id(n: usize) -> PrincipalId {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&(n as u64).to_be_bytes());
    PrincipalId::new(b)
}

/// An SRS (over a `MemoryStore`) with an owner, a hospital (writer of `medical`) and
/// `READERS` readers of `medical`, and a record with `medical` plus `SECTIONS` empty
/// sections. Every operation is signed by whoever acts.
struct World {
    srs: RefCell<Srs<MemoryStore>>,
    owner: Owner,
    hospital: PrincipalKeys,
    readers: Vec<(PrincipalId, PrincipalKeys)>,
    record: RecordId,
    medical: SectionId,
    sections: Vec<SectionId>,
    acl: VerifiedAcl,
}

impl World {
    fn new() -> Self {
        let mut rng = rng(10);
        // One section more than the default limit allows: `medical` plus the 64 of the
        // grant rows.
        let config = SrsConfig {
            limits: Limits {
                sections_per_record: 1 + SECTIONS,
                ..Limits::default()
            },
            ..SrsConfig::default()
        };
        let mut srs = Srs::new(
            MemoryStore::new(),
            SigningKey::random(&mut rng),
            "bench",
            config,
        );
        let admin = PrincipalKeys::random(&mut rng);
        let admin_c = Client::new(&admin, id(0), srs.id());
        srs.bootstrap(&admin_c.register(Role::Admin, NOW, &mut rng).unwrap(), NOW)
            .unwrap();
        let owner = Owner::random(&mut rng);
        let hospital = PrincipalKeys::random(&mut rng);
        let mut register =
            |srs: &mut Srs<MemoryStore>, n: usize, role: Role, keys: &PrincipalKeys| {
                let c = Client::new(keys, id(n), srs.id());
                let op = c.register(role, NOW, &mut rng).unwrap();
                srs.execute(&op, NOW, &mut rng).unwrap();
                let op = admin_c
                    .sign(Operation::Activate { target: id(n) }, NOW, &mut rng)
                    .unwrap();
                srs.execute(&op, NOW, &mut rng).unwrap();
            };
        register(&mut srs, 1, Role::Patient, owner.keys());
        register(&mut srs, 2, Role::Hospital, &hospital);
        let readers: Vec<(PrincipalId, PrincipalKeys)> = (0..READERS)
            .map(|i| {
                let keys = PrincipalKeys::random(&mut rand_chacha::ChaCha20Rng::seed_from_u64(
                    1000 + i as u64,
                ));
                register(&mut srs, 100 + i, Role::Doctor, &keys);
                (id(100 + i), keys)
            })
            .collect();
        let mut rng = self::rng(11);
        let record = owner.record_id("main").unwrap();
        let medical = owner.section_id(&SectionName::new("medical").unwrap());
        let sections: Vec<SectionId> = (0..SECTIONS)
            .map(|i| owner.section_id(&SectionName::new(&format!("section-{i}")).unwrap()))
            .collect();
        let mut changes = vec![
            Change::AddSection { section: medical },
            Change::GrantWrite {
                section: medical,
                writer: hospital.bundle(),
            },
        ];
        changes.extend(
            sections
                .iter()
                .map(|&section| Change::AddSection { section }),
        );
        changes.extend(readers.iter().map(|(_, keys)| Change::GrantRead {
            section: medical,
            reader: keys.bundle(),
            history: History::All,
        }));
        let update = owner
            .create_record(record, UNTIL, &changes, &mut rng)
            .unwrap();
        let op = Client::new(owner.keys(), id(1), srs.id())
            .sign(Operation::ApplyUpdate(update.clone()), NOW, &mut rng)
            .unwrap();
        srs.execute(&op, NOW, &mut rng).unwrap();
        let acl = update.acl().verify(&owner.verifying_key()).unwrap();
        World {
            srs: RefCell::new(srs),
            owner,
            hospital,
            readers,
            record,
            medical,
            sections,
            acl,
        }
    }

    fn entry(&self, n: usize, rng: &mut ChaCha20Rng) -> SealedEntry {
        let pt: Vec<u8> = (0..n).map(|i| (i * 31 % 251) as u8).collect();
        self.hospital
            .seal_entry(&self.acl, self.medical, &pt, NOW, rng)
            .unwrap()
    }

    fn execute(&self, op: &SignedOperation, rng: &mut ChaCha20Rng) -> Response {
        self.srs.borrow_mut().execute(op, NOW, rng).unwrap()
    }

    /// The hospital submits `entry` to the write gate; the receipt, verified.
    fn submit(&self, entry: &SealedEntry, rng: &mut ChaCha20Rng) -> Accepted {
        let srs_id = self.srs.borrow().id();
        let op = Client::new(&self.hospital, id(2), srs_id)
            .sign(entry.submission(), NOW, rng)
            .unwrap();
        let Response::Accepted(receipt) = self.execute(&op, rng) else {
            panic!("not accepted")
        };
        receipt
            .verify(&self.srs.borrow().verifying_key(), entry.header())
            .unwrap()
    }

    /// Reader `r`'s signed request for the re-encryption of `entry`.
    fn ask(&self, r: usize, entry: &SealedEntry, rng: &mut ChaCha20Rng) -> SignedOperation {
        let (reader_id, keys) = &self.readers[r];
        let op = Operation::Reencrypt {
            record: self.record,
            entries: vec![entry.header().entry()],
        };
        Client::new(keys, *reader_id, self.srs.borrow().id())
            .sign(op, NOW, rng)
            .unwrap()
    }

    /// The SRS serves a signed re-encryption request of one entry.
    fn reencrypt(&self, ask: &SignedOperation, rng: &mut ChaCha20Rng) -> ReCapsule {
        let Response::Reencrypted { items, .. } = self.execute(ask, rng) else {
            panic!("not a re-encryption")
        };
        items.into_iter().next().unwrap().unwrap().recapsule
    }
}

fn slow(g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    g.sampling_mode(SamplingMode::Flat);
    g.sample_size(10);
    g.warm_up_time(Duration::from_millis(500));
    g.measurement_time(Duration::from_secs(3));
}

fn phr(c: &mut Criterion) {
    let w = World::new();
    let mut rng = rng(12);
    let doctor = &w.readers[0].1;

    let mut g = c.benchmark_group("phr");
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(4));
    g.sample_size(20);

    // ----- time vs body size: writer, SRS, reader ------------------------------------------
    for (n, label) in SIZES {
        if n >= 1 << 20 {
            slow(&mut g);
        }
        let pt: Vec<u8> = (0..n).map(|i| (i * 31 % 251) as u8).collect();
        let entry = w.entry(n, &mut rng);
        let accepted = w.submit(&entry, &mut rng);
        let rc = w.reencrypt(&w.ask(0, &entry, &mut rng), &mut rng);
        assert_eq!(
            doctor.open_entry(&entry, &accepted, &rc, &w.acl).unwrap(),
            pt
        );
        g.throughput(Throughput::Bytes(n as u64));
        g.bench_with_input(
            BenchmarkId::new(format!("seal_entry{}", suffix()), label),
            &pt,
            |b, pt| {
                b.iter(|| {
                    black_box(
                        w.hospital
                            .seal_entry(&w.acl, w.medical, black_box(pt), NOW, &mut rng)
                            .unwrap(),
                    )
                })
            },
        );
        g.bench_with_input(
            BenchmarkId::new(format!("open_entry (reader){}", suffix()), label),
            &entry,
            |b, e| {
                b.iter(|| {
                    black_box(
                        doctor
                            .open_entry(black_box(e), &accepted, &rc, &w.acl)
                            .unwrap(),
                    )
                })
            },
        );
        // Writer seals and submits (signed operation) → SRS write gate (checks, receipt) →
        // reader asks (signed operation) → SRS re-encrypts (signature, replay, ACL, key
        // commitment) → reader checks the receipt and opens (writer signature and every check
        // included). Every signature on either side is in the loop.
        g.bench_with_input(
            BenchmarkId::new(format!("turnaround{}", suffix()), label),
            &pt,
            |b, pt| {
                b.iter(|| {
                    let e = w
                        .hospital
                        .seal_entry(&w.acl, w.medical, pt, NOW, &mut rng)
                        .unwrap();
                    let accepted = w.submit(&e, &mut rng);
                    let ask = w.ask(0, &e, &mut rng);
                    let rc = w.reencrypt(&ask, &mut rng);
                    black_box(doctor.open_entry(&e, &accepted, &rc, &w.acl).unwrap())
                })
            },
        );
    }

    // ----- streaming (std::io): the same entries through the writer and the verified reader -
    // The container bytes equal `seal_entry` + `to_bytes`; the reader makes two passes.
    for (n, label) in SIZES.into_iter().filter(|(n, _)| *n >= 64 << 10) {
        slow(&mut g);
        let pt: Vec<u8> = (0..n).map(|i| (i * 31 % 251) as u8).collect();
        let entry = w.entry(n, &mut rng);
        let accepted = w.submit(&entry, &mut rng);
        let rc = w.reencrypt(&w.ask(0, &entry, &mut rng), &mut rng);
        let container = entry.to_bytes().unwrap();
        let mut sink = Vec::with_capacity(container.len());
        let mut out = vec![0u8; 64 << 10];
        g.throughput(Throughput::Bytes(n as u64));
        g.bench_with_input(BenchmarkId::new("entry_writer", label), &pt, |b, pt| {
            b.iter(|| {
                sink.clear();
                let mut wr = w
                    .hospital
                    .entry_writer(&w.acl, w.medical, n as u64, NOW, &mut sink, &mut rng)
                    .unwrap();
                for chunk in pt.chunks(64 << 10) {
                    std::io::Write::write_all(&mut wr, chunk).unwrap();
                }
                black_box(wr.finish(&mut rng).unwrap().1)
            })
        });
        g.bench_with_input(
            BenchmarkId::new("open_stream (reader)", label),
            &container,
            |b, c| {
                b.iter(|| {
                    let s = EntryStream::new(std::io::Cursor::new(c)).unwrap();
                    let mut r = doctor.open_stream(s, &accepted, &rc, &w.acl).unwrap();
                    let mut total = 0;
                    loop {
                        let k = std::io::Read::read(&mut r, &mut out).unwrap();
                        if k == 0 {
                            break black_box(total);
                        }
                        total += k;
                    }
                })
            },
        );
    }

    // The same turnaround without signatures, ACLs or entry framing: KEM + wrapped data key +
    // STREAM body, as umbral-pre and recrypt do it in ../shared/peers (like for like).
    let a = SectionSecretKey::random(&mut rng);
    let pk = a.public_key();
    let b_sk = ReaderSecretKey::random(&mut rng);
    let rk = ReKey::new(&a, &b_sk.public_key());
    let aad = [3u8; 32];
    for (n, label) in SIZES {
        if n >= 1 << 20 {
            slow(&mut g);
        } else {
            g.sampling_mode(SamplingMode::Auto);
            g.sample_size(20);
            g.measurement_time(Duration::from_secs(4));
        }
        let pt: Vec<u8> = (0..n).map(|i| (i * 31 % 251) as u8).collect();
        g.throughput(Throughput::Bytes(n as u64));
        g.bench_with_input(
            BenchmarkId::new(format!("turnaround (kem+dem, unsigned){}", suffix()), label),
            &pt,
            |b, pt| {
                b.iter(|| {
                    // Writer.
                    let (capsule, kek) = encapsulate(&pk, &aad, &mut rng).unwrap();
                    let dk = DataKey::random(&mut rng);
                    let prefix = NoncePrefix::random(&mut rng);
                    let wrapped = dk.wrap(&kek, &aad);
                    let body = seal_body(&dk, &prefix, &aad, pt).unwrap();
                    // Proxy.
                    let rc = rk.reencrypt(&capsule);
                    // Reader.
                    let kek = b_sk.decapsulate_reencrypted(&rc, &pk, &aad).unwrap();
                    let dk = wrapped.unwrap(&kek, &aad).unwrap();
                    black_box(open_body(&dk, &prefix, &aad, &body).unwrap())
                })
            },
        );
    }

    // ----- writer signature, as its own rows -----------------------------------------------
    g.sampling_mode(SamplingMode::Auto);
    g.sample_size(30);
    g.measurement_time(Duration::from_secs(3));
    g.throughput(Throughput::Elements(1));
    let (hh, bh) = ([1u8; 32], [2u8; 32]);
    let sk = w.hospital.signing_key();
    let vk = w.hospital.bundle();
    let vk = *vk.signing_key();
    let sig = sk.sign(Purpose::Entry, &[&hh, &bh], &mut rng).unwrap();
    g.bench_function("SigningKey::sign (writer signature)", |b| {
        b.iter(|| black_box(sk.sign(Purpose::Entry, &[&hh, &bh], &mut rng).unwrap()))
    });
    g.bench_function("VerifyingKey::verify (writer signature)", |b| {
        b.iter(|| black_box(vk.verify(Purpose::Entry, &[&hh, &bh], black_box(&sig))).unwrap())
    });

    // ----- granting a reader on n sections (n rotations, n re-encryption keys) -------------
    slow(&mut g);
    let newcomer = PrincipalKeys::random(&mut rng).bundle();
    for n in [1usize, 8, 64] {
        let changes: Vec<Change> = w.sections[..n]
            .iter()
            .map(|&section| Change::GrantRead {
                section,
                reader: newcomer,
                history: History::None,
            })
            .collect();
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(
            BenchmarkId::new("Owner::update (grant read on n sections)", n),
            &changes,
            |b, changes| {
                b.iter(|| black_box(w.owner.update(&w.acl, UNTIL, changes, &mut rng).unwrap()))
            },
        );
    }

    // ----- revocation: rotate, sign the new ACL, re-wrap m entries -------------------------
    let entries: Vec<SealedEntry> = (0..1000).map(|_| w.entry(1024, &mut rng)).collect();
    let revoke = [Change::RevokeRead {
        section: w.medical,
        reader: doctor.bundle().fingerprint(),
    }];
    for m in [10usize, 100, 1000] {
        g.throughput(Throughput::Elements(m as u64));
        g.bench_with_input(
            BenchmarkId::new("revoke + rotate + Owner::rewrap (m entries)", m),
            &m,
            |b, &m| {
                b.iter(|| {
                    let update = w.owner.update(&w.acl, UNTIL, &revoke, &mut rng).unwrap();
                    let acl = update.acl().verify(&w.owner.verifying_key()).unwrap();
                    let blocks: Vec<_> = entries[..m]
                        .iter()
                        .map(|e| w.owner.rewrap(e, &acl, &mut rng).unwrap())
                        .collect();
                    black_box((update, blocks))
                })
            },
        );
    }

    // ----- the SRS re-encrypting one entry for k readers -----------------------------------
    // One signed operation per reader (signed in the untimed setup: the readers' cost, with
    // fresh nonces); the SRS checks each and re-encrypts.
    let entry = w.entry(1024, &mut rng);
    w.submit(&entry, &mut rng);
    let mut ask_rng = self::rng(13);
    for k in [1usize, 10, 100] {
        g.throughput(Throughput::Elements(k as u64));
        g.bench_with_input(
            BenchmarkId::new("Srs::execute Reencrypt (k readers, one entry each)", k),
            &k,
            |b, &k| {
                b.iter_batched(
                    || {
                        (0..k)
                            .map(|r| w.ask(r, &entry, &mut ask_rng))
                            .collect::<Vec<_>>()
                    },
                    |asks| {
                        for ask in &asks {
                            black_box(w.reencrypt(ask, &mut rng));
                        }
                    },
                    BatchSize::SmallInput,
                )
            },
        );
    }

    // ----- key generation for N users (SeSPHR: 2.16 s for 10 000 users) ---------------------
    for n in [10usize, 100, 1000, 10_000] {
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(
            BenchmarkId::new("PrincipalKeys::random (N users)", n),
            &n,
            |b, &n| {
                b.iter(|| {
                    for _ in 0..n {
                        black_box(PrincipalKeys::random(&mut rng));
                    }
                })
            },
        );
    }
    g.finish();
}

criterion_group!(benches, phr);
criterion_main!(benches);
