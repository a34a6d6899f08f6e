//! The JSON view of a response, for humans (`?view=json` or `Accept: application/json`): a
//! hand-built summary beside the exact response bytes in hex (the bytes stay the contract).

use serde_json::{json, Value};
use sesphr::log::SignedCheckpoint;
use sesphr::srs::Response;

/// The summary of `response`, with its canonical bytes.
pub fn response(response: &Response) -> Value {
    let summary = match response {
        Response::Done => json!({ "type": "done" }),
        Response::Status { role, active } => {
            json!({ "type": "status", "role": format!("{role:?}"), "active": active })
        }
        Response::RequestFiled(id) => {
            json!({ "type": "request_filed", "request": hex::encode(id.as_bytes()) })
        }
        Response::Approved(state) => json!({ "type": "approved", "state": format!("{state:?}") }),
        Response::Accepted(receipt) => json!({
            "type": "accepted",
            "time": receipt.time().get(),
            "acl_version": receipt.acl_version().get(),
        }),
        Response::Reencrypted { items, receipt } => json!({
            "type": "reencrypted",
            "items": items.iter().map(|item| match item {
                Ok(r) => json!({
                    "entry": hex::encode(r.entry.as_bytes()),
                    "epoch": r.key_block.epoch().get(),
                }),
                Err(refusal) => json!({ "refused": refusal.to_string() }),
            }).collect::<Vec<_>>(),
            "receipt": receipt.as_ref().map(|r| json!({
                "bytes": r.to_bytes().len(),
                "leaf_index": r.proof().index(),
                "checkpoint": checkpoint(r.checkpoint()),
            })),
        }),
        Response::Audit(page) => json!({
            "type": "audit",
            "from": page.from(),
            "leaves": page.leaves().len(),
            "checkpoint": checkpoint(page.checkpoint()),
        }),
        other => json!({ "type": format!("{other:?}") }),
    };
    json!({ "response": summary, "bytes": hex::encode(response.to_bytes()) })
}

/// The summary of a signed checkpoint (not verified here: the view is for reading).
pub fn checkpoint(signed: &SignedCheckpoint) -> Value {
    let c = signed.checkpoint_unverified();
    json!({
        "record": hex::encode(c.record.as_bytes()),
        "size": c.size,
        "root": hex::encode(c.root),
        "time": c.time.get(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_view_carries_the_exact_bytes() {
        let v = response(&Response::Done);
        assert_eq!(v["response"]["type"], "done");
        assert_eq!(v["bytes"], hex::encode(Response::Done.to_bytes()));
    }

    #[test]
    fn a_refused_reencryption_has_no_receipt() {
        let r = Response::Reencrypted {
            items: vec![Err(sesphr::srs::Refusal::NoReadRight)],
            receipt: None,
        };
        let v = response(&r);
        assert_eq!(v["response"]["type"], "reencrypted");
        assert!(v["response"]["items"][0]["refused"].is_string());
        assert!(v["response"]["receipt"].is_null());
        assert_eq!(v["bytes"], hex::encode(r.to_bytes()));
    }

    /// A served re-encryption's receipt and an audit page, from an in-memory SRS.
    #[test]
    fn receipts_and_audit_pages_are_summarised() {
        use sesphr::phr::Timestamp;
        use sesphr::phr::{Change, History, Owner, PrincipalId, PrincipalKeys, Role, SectionName};
        use sesphr::srs::{Client, MemoryStore, Operation, Srs};
        let mut rng = rand_core::OsRng;
        let now = Timestamp::new(1_764_000_000);
        let mut srs = Srs::new(
            MemoryStore::new(),
            sesphr::sign::SigningKey::random(&mut rng),
            "t",
            Default::default(),
        );
        let (admin, owner) = (PrincipalKeys::random(&mut rng), Owner::random(&mut rng));
        let (writer, reader) = (
            PrincipalKeys::random(&mut rng),
            PrincipalKeys::random(&mut rng),
        );
        let id = || PrincipalId::random(&mut rand_core::OsRng);
        let admin_c = Client::new(&admin, id(), srs.id());
        let patient = Client::new(owner.keys(), id(), srs.id());
        let writer_c = Client::new(&writer, id(), srs.id());
        let reader_c = Client::new(&reader, id(), srs.id());
        let reg = admin_c.register(Role::Admin, now, &mut rng).expect("sign");
        srs.bootstrap(&reg, now).expect("bootstrap");
        for (c, role) in [
            (&patient, Role::Patient),
            (&writer_c, Role::Hospital),
            (&reader_c, Role::Doctor),
        ] {
            let reg = c.register(role, now, &mut rng).expect("sign");
            srs.execute(&reg, now, &mut rng).expect("register");
            let op = Operation::Activate { target: c.id() };
            let activate = admin_c.sign(op, now, &mut rng).expect("sign");
            srs.execute(&activate, now, &mut rng).expect("activate");
        }
        let record = owner.record_id("main").expect("record");
        let section = owner.section_id(&SectionName::new("medical").expect("name"));
        let changes = [
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
        ];
        let until = Timestamp::new(now.get() + 86_400);
        let update = owner
            .create_record(record, until, &changes, &mut rng)
            .expect("update");
        let acl = update.acl().verify(&owner.verifying_key()).expect("acl");
        let op = patient
            .sign(Operation::ApplyUpdate(update), now, &mut rng)
            .expect("sign");
        srs.execute(&op, now, &mut rng).expect("apply");
        let entry = writer
            .seal_entry(&acl, section, b"note", now, &mut rng)
            .expect("seal");
        let op = writer_c
            .sign(entry.submission(), now, &mut rng)
            .expect("sign");
        srs.execute(&op, now, &mut rng).expect("submit");

        let ask = Operation::Reencrypt {
            record,
            entries: vec![entry.header().entry()],
        };
        let op = reader_c.sign(ask, now, &mut rng).expect("sign");
        let served = srs.execute(&op, now, &mut rng).expect("reencrypt");
        let Response::Reencrypted {
            items,
            receipt: Some(receipt),
        } = &served
        else {
            panic!("a served re-encryption has a receipt: {served:?}");
        };
        let v = response(&served);
        let r = &v["response"]["receipt"];
        assert_eq!(r["bytes"], receipt.to_bytes().len());
        assert_eq!(r["leaf_index"], receipt.proof().index());
        let c = receipt.checkpoint().checkpoint_unverified();
        assert_eq!(r["checkpoint"]["size"], c.size);
        assert_eq!(r["checkpoint"]["root"], hex::encode(c.root));
        let item = items[0].as_ref().expect("served");
        assert_eq!(
            v["response"]["items"][0]["epoch"],
            item.key_block.epoch().get()
        );
        assert_eq!(
            v["response"]["items"][0]["entry"],
            hex::encode(entry.header().entry().as_bytes())
        );

        let op = patient
            .sign(Operation::Audit { record, from: 0 }, now, &mut rng)
            .expect("sign");
        let page = srs.execute(&op, now, &mut rng).expect("audit");
        let Response::Audit(p) = &page else {
            panic!("an audit is answered with a page: {page:?}");
        };
        let v = response(&page);
        assert_eq!(v["response"]["type"], "audit");
        assert_eq!(v["response"]["from"], 0);
        assert_eq!(v["response"]["leaves"], p.leaves().len());
        assert_eq!(
            v["response"]["checkpoint"]["size"],
            p.checkpoint().checkpoint_unverified().size
        );
        assert_eq!(v["bytes"], hex::encode(page.to_bytes()));
    }
}
