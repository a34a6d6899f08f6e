//! Stops: one signed ACL making the SRS allocate or loop in proportion to a number inside
//! it (an epoch of `u32::MAX` with a reader from epoch 0 used to make the SRS enumerate
//! ~4·10⁹ keys). The heap is measured with dhat around each `apply_update`: the bytes it
//! allocates are bounded by the size of the update and of the stored ACL, whatever the
//! epochs say. One test in this binary, so no other test's allocations are counted.

mod common;

use std::cell::RefCell;

use common::world::World;
use proptest::prelude::*;
use sesphr::phr::{
    AclProblem, AclUpdate, Change, History, KeyBundle, MasterSecret, Owner, PrincipalKeys, Role,
    SectionName, SignedAcl, Timestamp,
};
use sesphr::pre::SectionPublicKey;
use sesphr::sign::{Purpose, Signature};
use sesphr::srs::{Operation, Refusal};
use sesphr::Error;
use sha2::Digest;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

const UNTIL: Timestamp = Timestamp::new(10_000_000);

/// Byte offsets in an ACL encoding with one section and one reader (`docs/encoding.md`).
const SIZE_AT: usize = 2 + 16 + 8 + 8 + 32 + 32;
const SECTION_AT: usize = SIZE_AT + 8 + KeyBundle::SIZE + 5 + 4;
const EPOCH_AT: usize = SECTION_AT + 16;
const FIRST_AT: usize = EPOCH_AT + 4;
const FROM_AT: usize = FIRST_AT + 4 + SectionPublicKey::SIZE + 4 + KeyBundle::SIZE;

/// The patient re-signs `acl` (a one-section, one-reader ACL) with hostile epochs.
fn hostile(
    owner: &Owner,
    acl: &[u8],
    epoch: u32,
    first: u32,
    from: u32,
    rng: &mut impl rand_core::CryptoRngCore,
) -> AclUpdate {
    let mut acl = acl.to_vec();
    acl[EPOCH_AT..EPOCH_AT + 4].copy_from_slice(&epoch.to_be_bytes());
    acl[FIRST_AT..FIRST_AT + 4].copy_from_slice(&first.to_be_bytes());
    acl[FROM_AT..FROM_AT + 4].copy_from_slice(&from.to_be_bytes());
    let keys = u64::from(epoch - from) + 1;
    acl[SIZE_AT..SIZE_AT + 8].copy_from_slice(&keys.to_be_bytes());
    let digest: [u8; 32] = sha2::Sha256::digest(&acl).into();
    let sig = owner
        .keys()
        .signing_key()
        .sign(Purpose::Acl, &[&digest], rng)
        .unwrap();
    let mut signed = vec![0x16, 2];
    signed.extend_from_slice(&(acl.len() as u32).to_be_bytes());
    signed.extend_from_slice(&acl);
    signed.extend_from_slice(&sig.to_bytes());
    assert_eq!(sig.to_bytes().len(), Signature::SIZE);
    AclUpdate::from_parts(SignedAcl::from_bytes(&signed).unwrap(), vec![], vec![])
}

/// Bytes allocated while running `f`.
fn allocated<T>(f: impl FnOnce() -> T) -> (T, u64) {
    let before = dhat::HeapStats::get().total_bytes;
    let out = f();
    (out, dhat::HeapStats::get().total_bytes - before)
}

#[test]
fn hostile_epochs_cost_bounded_work() {
    let _profiler = dhat::Profiler::builder().testing().build();
    let mut w = World::new(70);
    let owner = Owner::from_master(MasterSecret::from_raw([70; 32])).unwrap();
    let owner_a = w.enrol(Role::Patient, owner.keys().clone());
    let mut rng = common::rng(71);
    let doctor = PrincipalKeys::random(&mut rng);
    let section = owner.section_id(&SectionName::new("medical").unwrap());
    let changes = [
        Change::AddSection { section },
        Change::GrantRead {
            section,
            reader: doctor.bundle(),
            history: History::None,
        },
    ];
    let first = owner
        .create_record(owner.record_id("a").unwrap(), UNTIL, &changes, &mut rng)
        .unwrap();
    let first_acl = first.acl().acl_unverified().to_bytes().unwrap();

    // The attack as reported: a record's first ACL with epoch u32::MAX and a reader from 0.
    let attack = hostile(&owner, &first_acl, u32::MAX, 0, 0, &mut rng);
    let bound = 64 * 1024 + 16 * attack.to_bytes().len() as u64;
    let op = w.sign(&owner_a, Operation::ApplyUpdate(attack));
    let now = w.now;
    let (r, bytes) = allocated(|| w.srs.execute(&op, now, &mut rng));
    assert!(
        matches!(
            r,
            Err(Error::AclRejected {
                problem: AclProblem::BadSuccession { .. },
                ..
            })
        ),
        "{r:?}"
    );
    assert!(bytes < bound, "{bytes} bytes allocated (bound {bound})");
    eprintln!("u32::MAX epoch attack: {bytes} bytes allocated, refused: {r:?}");

    // The same against a record the SRS holds, for every shape of hostile epochs.
    w.run(&owner_a, Operation::ApplyUpdate(first.clone()))
        .unwrap();
    let current = first.acl().verify(&owner.verifying_key()).unwrap();
    let second = owner
        .update(&current, UNTIL, &[Change::Rotate { section }], &mut rng)
        .unwrap();
    let second_acl = second.acl().acl_unverified().to_bytes().unwrap();
    let stored: u64 = w
        .rows()
        .iter()
        .map(|r| (r.key.len() + r.value.len()) as u64)
        .sum();
    let (w_cell, rng_cell) = (RefCell::new(w), RefCell::new(rng));
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(64));
    let strategy = (any::<u32>(), any::<u32>(), any::<u32>()).prop_map(|(a, b, c)| {
        let mut v = [a, b, c];
        v.sort_unstable();
        // first ≤ from ≤ epoch, some small, some huge.
        (v[2], v[0], v[1])
    });
    runner
        .run(&strategy, |(epoch, first, from)| {
            for (epoch, first, from) in [(epoch, first, from), (epoch % 4, 0, 0)] {
                let u = hostile(
                    &owner,
                    &second_acl,
                    epoch,
                    first,
                    from,
                    &mut *rng_cell.borrow_mut(),
                );
                let bound = 64 * 1024 + 16 * (u.to_bytes().len() as u64 + stored);
                let mut w = w_cell.borrow_mut();
                let op = w.sign(&owner_a, Operation::ApplyUpdate(u));
                let now = w.now;
                let (r, bytes) = allocated(|| w.srs.execute(&op, now, &mut *rng_cell.borrow_mut()));
                prop_assert!(
                    matches!(
                        r,
                        Err(Error::AclRejected {
                            problem: AclProblem::BadSuccession { .. },
                            ..
                        }) | Err(Error::NotAuthorized {
                            refusal: Refusal::KeyMaterialMismatch,
                            ..
                        })
                    ),
                    "epoch {epoch}, first {first}, from {from}: {r:?}"
                );
                prop_assert!(bytes < bound, "{bytes} bytes allocated (bound {bound})");
            }
            Ok(())
        })
        .unwrap();
    // The genuine next version still applies.
    let mut w = w_cell.into_inner();
    w.run(&owner_a, Operation::ApplyUpdate(second)).unwrap();
}
