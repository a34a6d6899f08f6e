//! A blocking HTTP client for the server's routes (used by the story client and the load
//! generator). Several servers may be given: [`Remote::next`] alternates between them.

use std::sync::atomic::{AtomicUsize, Ordering};

use sesphr::log::{ConsistencyProof, SignedCheckpoint};
use sesphr::phr::{AclVersion, EntryId, RecordId, SectionId, SignedAcl};
use sesphr::sign::VerifyingKey;
use sesphr::srs::{Receipt, Response, SignedOperation, SrsId};
use sha2::Digest;

/// A failed call: the HTTP status (0: no answer), the server's error kind and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The status, 0 when the server could not be reached.
    pub status: u16,
    /// The `x-srs-error` kind.
    pub kind: String,
    /// The body (the crate's error text).
    pub text: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HTTP {} {}: {}", self.status, self.kind, self.text)
    }
}

impl std::error::Error for Failure {}

/// The servers, and an agent that reports every status instead of failing on 4xx/5xx.
pub struct Remote {
    servers: Vec<String>,
    turn: AtomicUsize,
    agent: ureq::Agent,
}

/// One answer: status, error kind header, body.
struct Answer {
    status: u16,
    kind: String,
    body: Vec<u8>,
}

/// What `/v1/info` says.
#[derive(Clone, Copy, Debug)]
pub struct Info {
    /// The SRS id operations must name.
    pub id: SrsId,
    /// The key that signs its receipts.
    pub key: VerifyingKey,
}

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(data))
}

impl Remote {
    /// Talks to `servers` (base URLs such as `http://127.0.0.1:8080`, or bare `HOST:PORT`).
    pub fn new(servers: &[String]) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(std::time::Duration::from_secs(60)))
            .build()
            .into();
        let servers = servers
            .iter()
            .map(|s| {
                let s = s.trim_end_matches('/');
                if s.starts_with("http://") || s.starts_with("https://") {
                    s.to_string()
                } else {
                    format!("http://{s}")
                }
            })
            .collect();
        Self {
            servers,
            turn: AtomicUsize::new(0),
            agent,
        }
    }

    /// How many servers.
    pub fn len(&self) -> usize {
        self.servers.len()
    }

    /// Whether no server was given.
    pub fn is_empty(&self) -> bool {
        self.servers.is_empty()
    }

    /// The server whose turn it is (round robin).
    pub fn next(&self) -> usize {
        self.turn.fetch_add(1, Ordering::Relaxed) % self.servers.len().max(1)
    }

    fn url(&self, server: usize, path: &str) -> String {
        let base = self.servers.get(server).map_or("", String::as_str);
        format!("{base}{path}")
    }

    fn call(
        &self,
        method: &str,
        server: usize,
        path: &str,
        body: Option<&[u8]>,
    ) -> Result<Answer, Failure> {
        let url = self.url(server, path);
        let gone = |e: ureq::Error| Failure {
            status: 0,
            kind: "unreachable".into(),
            text: format!("{url}: {e}"),
        };
        let mut r = match (method, body) {
            ("POST", Some(b)) => self
                .agent
                .post(&url)
                .header("content-type", "application/octet-stream")
                .send(b),
            ("PUT", Some(b)) => self
                .agent
                .put(&url)
                .header("content-type", "application/octet-stream")
                .send(b),
            _ => self.agent.get(&url).call(),
        }
        .map_err(gone)?;
        let status = r.status().as_u16();
        let kind = r
            .headers()
            .get("x-srs-error")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let body = r
            .body_mut()
            .with_config()
            .limit(256 << 20)
            .read_to_vec()
            .map_err(gone)?;
        Ok(Answer { status, kind, body })
    }

    fn ok(a: Answer) -> Result<Vec<u8>, Failure> {
        if (200..300).contains(&a.status) {
            Ok(a.body)
        } else {
            Err(Failure {
                status: a.status,
                kind: a.kind,
                text: String::from_utf8_lossy(&a.body).into_owned(),
            })
        }
    }

    /// The SRS id and receipt key.
    pub fn info(&self, server: usize) -> Result<Info, Failure> {
        let body = Self::ok(self.call("GET", server, "/v1/info", None)?)?;
        let bad = |what: &str| Failure {
            status: 200,
            kind: "client".into(),
            text: format!("/v1/info: bad {what}"),
        };
        let v: serde_json::Value = serde_json::from_slice(&body).map_err(|_| bad("JSON"))?;
        let field = |k: &str| {
            v[k].as_str()
                .and_then(|s| hex::decode(s).ok())
                .ok_or_else(|| bad(k))
        };
        Ok(Info {
            id: SrsId::from_bytes(&field("srs_id")?).map_err(|_| bad("srs_id"))?,
            key: VerifyingKey::from_bytes(&field("verifying_key")?)
                .map_err(|_| bad("verifying_key"))?,
        })
    }

    /// A JSON document from `path`.
    pub fn json(&self, server: usize, path: &str) -> Result<serde_json::Value, Failure> {
        let body = Self::ok(self.call("GET", server, path, None)?)?;
        serde_json::from_slice(&body).map_err(|e| Failure {
            status: 200,
            kind: "client".into(),
            text: format!("{path}: {e}"),
        })
    }

    /// Bootstraps the first administrator.
    pub fn bootstrap(&self, server: usize, op: &SignedOperation) -> Result<(), Failure> {
        Self::ok(self.call("POST", server, "/v1/bootstrap", Some(&op.to_bytes()))?).map(drop)
    }

    /// Raw bytes to `/v1/op` (`query` appended to the path), the raw answer body.
    pub fn op_bytes(&self, server: usize, bytes: &[u8], query: &str) -> Result<Vec<u8>, Failure> {
        Self::ok(self.call("POST", server, &format!("/v1/op{query}"), Some(bytes))?)
    }

    /// Runs a signed operation; the response decoded (and checked) from its bytes.
    pub fn op(&self, server: usize, op: &SignedOperation) -> Result<Response, Failure> {
        let body = self.op_bytes(server, &op.to_bytes(), "")?;
        Response::from_bytes(&body).map_err(|e| Failure {
            status: 200,
            kind: "client".into(),
            text: format!("response: {e}"),
        })
    }

    /// Stores a blob; returns its name (SHA-256, hex).
    pub fn put_blob(&self, server: usize, data: &[u8]) -> Result<String, Failure> {
        let hash = sha256_hex(data);
        Self::ok(self.call("PUT", server, &format!("/v1/blobs/{hash}"), Some(data))?)?;
        Ok(hash)
    }

    /// PUT under a given name (to test the server's check).
    pub fn put_blob_as(&self, server: usize, hash: &str, data: &[u8]) -> Result<(), Failure> {
        Self::ok(self.call("PUT", server, &format!("/v1/blobs/{hash}"), Some(data))?).map(drop)
    }

    /// Fetches a blob and checks its hash.
    pub fn get_blob(&self, server: usize, hash: &str) -> Result<Vec<u8>, Failure> {
        let data = Self::ok(self.call("GET", server, &format!("/v1/blobs/{hash}"), None)?)?;
        if sha256_hex(&data) != hash {
            return Err(Failure {
                status: 200,
                kind: "client".into(),
                text: "blob does not match its name".into(),
            });
        }
        Ok(data)
    }

    /// A record's newest ACL, or the given version.
    pub fn acl(
        &self,
        server: usize,
        record: RecordId,
        version: Option<AclVersion>,
    ) -> Result<SignedAcl, Failure> {
        let q = version.map_or(String::new(), |v| format!("?version={}", v.get()));
        let path = format!("/v1/records/{}/acl{q}", hex::encode(record.as_bytes()));
        let body = Self::ok(self.call("GET", server, &path, None)?)?;
        SignedAcl::from_bytes(&body).map_err(|e| Failure {
            status: 200,
            kind: "client".into(),
            text: format!("ACL: {e}"),
        })
    }

    /// An entry's acceptance receipt.
    pub fn receipt(
        &self,
        server: usize,
        record: RecordId,
        entry: EntryId,
    ) -> Result<Receipt, Failure> {
        let path = format!(
            "/v1/records/{}/entries/{}/receipt",
            hex::encode(record.as_bytes()),
            hex::encode(entry.as_bytes())
        );
        let body = Self::ok(self.call("GET", server, &path, None)?)?;
        Receipt::from_bytes(&body).map_err(|e| Failure {
            status: 200,
            kind: "client".into(),
            text: format!("receipt: {e}"),
        })
    }

    /// The newest signed checkpoint of a record's disclosure log (not verified here).
    pub fn checkpoint(&self, server: usize, record: RecordId) -> Result<SignedCheckpoint, Failure> {
        let path = format!("/v1/records/{}/checkpoint", hex::encode(record.as_bytes()));
        let body = Self::ok(self.call("GET", server, &path, None)?)?;
        SignedCheckpoint::from_bytes(&body).map_err(|e| Failure {
            status: 200,
            kind: "client".into(),
            text: format!("checkpoint: {e}"),
        })
    }

    /// The consistency proof of a record's log from `from` to `to` leaves.
    pub fn consistency(
        &self,
        server: usize,
        record: RecordId,
        from: u64,
        to: u64,
    ) -> Result<ConsistencyProof, Failure> {
        let path = format!(
            "/v1/records/{}/consistency?from={from}&to={to}",
            hex::encode(record.as_bytes())
        );
        let body = Self::ok(self.call("GET", server, &path, None)?)?;
        ConsistencyProof::from_bytes(&body).map_err(|e| Failure {
            status: 200,
            kind: "client".into(),
            text: format!("consistency proof: {e}"),
        })
    }

    /// Every accepted entry of a record's section (all pages).
    pub fn entries(
        &self,
        server: usize,
        record: RecordId,
        section: SectionId,
    ) -> Result<Vec<EntryId>, Failure> {
        let mut out = Vec::new();
        loop {
            let after = out.last().map_or(String::new(), |e: &EntryId| {
                format!("&after={}", hex::encode(e.as_bytes()))
            });
            let path = format!(
                "/v1/records/{}/sections/{}/entries?limit=500{after}",
                hex::encode(record.as_bytes()),
                hex::encode(section.as_bytes())
            );
            let v = self.json(server, &path)?;
            let page: Vec<EntryId> = v
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str())
                        .filter_map(|s| hex::decode(s).ok())
                        .filter_map(|b| <[u8; 16]>::try_from(b).ok())
                        .map(EntryId::new)
                        .collect()
                })
                .unwrap_or_default();
            let n = page.len();
            out.extend(page);
            if n < 500 {
                return Ok(out);
            }
        }
    }
}
