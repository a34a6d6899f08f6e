//! Corpus replay: every file under `fuzz/corpus/TARGET/` runs through the same target logic
//! the fuzzer uses (`fuzz/logic.rs`), on stable Rust and without libFuzzer, so `cargo test`
//! exercises the seeds and every crash reproducer (`regression-*`) for good.
//!
//! A missing or empty corpus directory fails the test, and so does a seed named `valid-*`
//! that its target no longer accepts (the corpus has gone stale: regenerate it with
//! `cargo test --test corpus_replay -- --ignored generate_corpus`).

#[path = "../fuzz/logic.rs"]
mod logic;

mod corpus_gen;

use std::fs;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

fn corpus_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join("corpus")
}

fn target(name: &str) -> fn(&[u8]) -> usize {
    logic::TARGETS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, f)| *f)
        .unwrap_or_else(|| panic!("no target named {name} in fuzz/logic.rs"))
}

fn replay(name: &str) {
    let run = target(name);
    let dir = corpus_root().join(name);
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus directory {} is missing: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "corpus directory {} is empty",
        dir.display()
    );
    let mut failures = Vec::new();
    for path in &files {
        let file = path
            .file_name()
            .and_then(|f| f.to_str())
            .unwrap_or_default()
            .to_string();
        let data = fs::read(path).expect("read corpus file");
        match catch_unwind(AssertUnwindSafe(|| run(&data))) {
            Err(_) => failures.push(format!("{name}/{file}: panicked (see the message above)")),
            Ok(0) if file.starts_with("valid-") => failures.push(format!(
                "{name}/{file}: a valid seed is no longer accepted (regenerate the corpus: \
                 cargo test --test corpus_replay -- --ignored generate_corpus)"
            )),
            Ok(_) => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn decode_keys() {
    replay("decode_keys");
}

#[test]
fn decode_recapsule() {
    replay("decode_recapsule");
}

#[test]
fn decode_entry() {
    replay("decode_entry");
}

#[test]
fn decode_acl() {
    replay("decode_acl");
}

#[test]
fn decode_srs_rows() {
    replay("decode_srs_rows");
}

#[test]
fn open_entry() {
    replay("open_entry");
}

#[test]
fn srs_ops() {
    replay("srs_ops");
}

/// The targets, their wrappers in `fuzz/fuzz_targets/`, their `[[bin]]` entries in
/// `fuzz/Cargo.toml`, the corpus directories and the tests above are the same set.
#[test]
fn every_target_has_a_wrapper_a_corpus_and_a_test() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let names: Vec<&str> = logic::TARGETS.iter().map(|(n, _)| *n).collect();
    let listed = |dir: &Path, strip: &str| -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .filter_map(|e| {
                let name = e.ok()?.file_name().into_string().ok()?;
                name.strip_suffix(strip).map(str::to_string)
            })
            .collect();
        v.sort();
        v
    };
    let mut sorted: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    sorted.sort();
    assert_eq!(listed(&fuzz.join("fuzz_targets"), ".rs"), sorted);
    assert_eq!(listed(&corpus_root(), ""), sorted);
    let manifest = fs::read_to_string(fuzz.join("Cargo.toml")).expect("fuzz/Cargo.toml");
    let this = include_str!("corpus_replay.rs");
    for name in names {
        assert!(
            manifest.contains(&format!("name = \"{name}\"")),
            "{name} has no [[bin]] in fuzz/Cargo.toml"
        );
        assert!(
            this.contains(&format!("replay(\"{name}\");")),
            "{name} has no replay test"
        );
    }
}

/// Rewrites the seed corpus (keeping `regression-*` files). Run after a format change:
/// `cargo test --test corpus_replay -- --ignored generate_corpus`.
#[test]
#[ignore = "writes fuzz/corpus; run by hand after a format change"]
fn generate_corpus() {
    corpus_gen::generate(&corpus_root());
}
