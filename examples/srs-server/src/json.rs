//! The JSON view of a response, for humans (`?view=json` or `Accept: application/json`): a
//! hand-built summary beside the exact response bytes in hex (the bytes stay the contract).

use serde_json::{json, Value};
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
            "time": receipt.time().0,
            "acl_version": receipt.acl_version().0,
        }),
        Response::Reencrypted(items) => json!({
            "type": "reencrypted",
            "items": items.iter().map(|item| match item {
                Ok(r) => json!({
                    "entry": hex::encode(r.entry.as_bytes()),
                    "epoch": r.key_block.epoch().0,
                }),
                Err(refusal) => json!({ "refused": refusal.to_string() }),
            }).collect::<Vec<_>>(),
        }),
        other => json!({ "type": format!("{other:?}") }),
    };
    json!({ "response": summary, "bytes": hex::encode(response.to_bytes()) })
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
}
