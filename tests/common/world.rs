//! An SRS over an in-memory store, with an administrator, and helpers that sign and run
//! operations as a given principal: the fixture of the SRS tests.
#![allow(dead_code)]

use std::sync::Arc;

use rand_chacha::ChaCha20Rng;
use sesphr::phr::{
    EntryId, PrincipalId, PrincipalKeys, RecordId, Role, SealedEntry, Timestamp, VerifiedAcl,
};
use sesphr::sign::SigningKey;
use sesphr::srs::{
    Client, MemoryStore, Operation, Receipt, Reencrypted, Refusal, Response, Row, SignedOperation,
    Srs, SrsConfig,
};
use sesphr::Error;

/// A principal: its id at the SRS and its keys.
#[derive(Clone, Debug)]
pub struct Actor {
    pub id: PrincipalId,
    pub keys: PrincipalKeys,
}

pub struct World {
    pub rng: ChaCha20Rng,
    pub store: Arc<MemoryStore>,
    pub srs: Srs<Arc<MemoryStore>>,
    pub srs_key: SigningKey,
    pub now: Timestamp,
    pub admin: Actor,
    next_id: u8,
}

pub const NOW: Timestamp = Timestamp::new(1_000_000);

/// A refusal without context (what the SRS returns where it names no section).
pub fn refused(r: Refusal) -> Error {
    Error::NotAuthorized {
        refusal: r,
        section: None,
        epoch: None,
        principal: None,
    }
}

/// A refusal naming a section and, where known, an epoch and a principal's fingerprint.
pub fn refused_in(
    r: Refusal,
    section: sesphr::phr::SectionId,
    epoch: Option<sesphr::phr::Epoch>,
    principal: Option<sesphr::phr::Fingerprint>,
) -> Error {
    Error::NotAuthorized {
        refusal: r,
        section: Some(section),
        epoch,
        principal,
    }
}

impl World {
    pub fn new(seed: u8) -> Self {
        let mut rng = super::rng(seed);
        let store = Arc::new(MemoryStore::new());
        let srs_key = SigningKey::random(&mut rng);
        let mut srs = Srs::new(store.clone(), srs_key.clone(), "test", SrsConfig::default());
        let admin = Actor {
            id: PrincipalId::new([0xad; 16]),
            keys: PrincipalKeys::random(&mut rng),
        };
        let reg = Client::new(&admin.keys, admin.id, srs.id())
            .register(Role::Admin, NOW, &mut rng)
            .unwrap();
        srs.bootstrap(&reg, NOW).unwrap();
        Self {
            rng,
            store,
            srs,
            srs_key,
            now: NOW,
            admin,
            next_id: 1,
        }
    }

    /// Another handle over the same store (same key and name: same SRS id).
    pub fn handle(&self) -> Srs<Arc<MemoryStore>> {
        Srs::new(
            self.store.clone(),
            self.srs_key.clone(),
            "test",
            SrsConfig::default(),
        )
    }

    /// A new principal with fresh keys, registered and activated.
    pub fn actor(&mut self, role: Role) -> Actor {
        let keys = PrincipalKeys::random(&mut self.rng);
        self.enrol(role, keys)
    }

    /// Registers and activates a principal with these keys.
    pub fn enrol(&mut self, role: Role, keys: PrincipalKeys) -> Actor {
        let a = Actor {
            id: PrincipalId::new([self.next_id; 16]),
            keys,
        };
        self.next_id += 1;
        let reg = self
            .client(&a)
            .register(role, self.now, &mut self.rng)
            .unwrap();
        self.srs.execute(&reg, self.now, &mut self.rng).unwrap();
        let admin = self.admin.clone();
        self.run(&admin, Operation::Activate { target: a.id })
            .unwrap();
        a
    }

    pub fn client<'a>(&self, who: &'a Actor) -> Client<'a> {
        Client::new(&who.keys, who.id, self.srs.id())
    }

    pub fn sign(&mut self, who: &Actor, op: Operation) -> SignedOperation {
        let now = self.now;
        self.client(who).sign(op, now, &mut self.rng).unwrap()
    }

    /// Signs `op` as `who` and runs it now.
    pub fn run(&mut self, who: &Actor, op: Operation) -> Result<Response, Error> {
        let signed = self.sign(who, op);
        self.srs.execute(&signed, self.now, &mut self.rng)
    }

    pub fn rows(&self) -> Vec<Row> {
        self.store.rows().unwrap()
    }

    /// `op` by `who` must fail with `expected` and leave the store exactly as it was.
    pub fn refuses(&mut self, expected: Error, who: &Actor, op: Operation) {
        let signed = self.sign(who, op);
        self.refuses_signed(expected, &signed);
    }

    pub fn refuses_signed(&mut self, expected: Error, signed: &SignedOperation) {
        let before = self.rows();
        let got = self.srs.execute(signed, self.now, &mut self.rng);
        assert_eq!(got.unwrap_err(), expected);
        assert_eq!(self.rows(), before, "a refused operation changed the store");
    }

    /// Submits an entry through the write gate.
    pub fn submit(&mut self, writer: &Actor, entry: &SealedEntry) -> Result<Receipt, Error> {
        match self.run(writer, entry.submission())? {
            Response::Accepted(r) => Ok(*r),
            other => panic!("unexpected response {other:?}"),
        }
    }

    pub fn reencrypt(
        &mut self,
        reader: &Actor,
        record: RecordId,
        entries: Vec<EntryId>,
    ) -> Result<Vec<Result<Reencrypted, Refusal>>, Error> {
        match self.run(reader, Operation::Reencrypt { record, entries })? {
            Response::Reencrypted { items, .. } => Ok(items),
            other => panic!("unexpected response {other:?}"),
        }
    }

    /// `reader` asks for `entry`, verifies the SRS's receipt and opens it with `acl` (the
    /// version the entry names).
    pub fn open(
        &mut self,
        reader: &Actor,
        entry: &SealedEntry,
        acl: &VerifiedAcl,
    ) -> Result<Vec<u8>, Error> {
        let record = entry.header().record();
        let item = self
            .reencrypt(reader, record, vec![entry.header().entry()])?
            .pop()
            .unwrap()
            .map_err(refused)?;
        let entry = entry.clone().with_key_block(item.key_block);
        let receipt = self
            .srs
            .receipt(record, entry.header().entry())?
            .ok_or(refused(Refusal::UnknownEntry))?;
        let accepted = receipt.verify(&self.srs.verifying_key(), entry.header())?;
        reader
            .keys
            .open_entry(&entry, &accepted, &item.recapsule, acl)
    }
}
