//! The reference SRS server for `sesphr` (issue 14): the library's [`sesphr::srs::Srs`] behind
//! HTTP, its rows in SQLite or PostgreSQL, and a content-addressed blob store standing in
//! for the cloud that holds sealed entries. `src/main.rs` is the server, `src/bin/client/`
//! drives the whole story over HTTP, `src/bin/load.rs` measures it.

pub mod durable;
pub mod errors;
pub mod json;
pub mod keyfile;
pub mod parties;
pub mod remote;
pub mod server;
pub mod sqlite;
pub mod store;
