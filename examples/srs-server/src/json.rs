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
}
