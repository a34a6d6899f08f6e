//! The SRS signing key on disk: the library's secret encoding (`SigningKey::to_bytes`),
//! created (mode 0600) if the file does not exist.

use std::io::Write as _;
use std::path::Path;

use sesphr::sign::SigningKey;

/// Loads the key in `path`, or creates it there.
pub fn load_or_create(path: &Path) -> Result<SigningKey, String> {
    match std::fs::read(path) {
        Ok(bytes) => SigningKey::from_bytes(&bytes)
            .map_err(|e| format!("{}: not an SRS signing key: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = SigningKey::random(&mut rand_core::OsRng);
            let mut f = open_private(path)
                .map_err(|e| format!("{}: cannot create: {e}", path.display()))?;
            f.write_all(&key.to_bytes()[..])
                .and_then(|()| f.sync_all())
                .map_err(|e| format!("{}: cannot write: {e}", path.display()))?;
            Ok(key)
        }
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// Creates a new file readable by its owner only.
pub fn open_private(path: &Path) -> std::io::Result<std::fs::File> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o.open(path)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_created_key_loads_back_and_garbage_is_refused() {
        let dir = std::env::temp_dir().join(format!("srs-key-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("srs.key");
        let _ = std::fs::remove_file(&path);
        let a = super::load_or_create(&path).expect("create");
        let b = super::load_or_create(&path).expect("load");
        assert_eq!(a.verifying_key(), b.verifying_key());
        std::fs::write(dir.join("bad.key"), b"nope").expect("write");
        assert!(super::load_or_create(&dir.join("bad.key")).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
