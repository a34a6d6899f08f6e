//! The pairing-based proxy re-encryption core: AFGH second-level ciphertexts on BLS12-381,
//! used as a KEM ([SPEC §2](crate::notes::spec)). This layer knows nothing of health records.
//!
//! | who | holds | does |
//! |---|---|---|
//! | owner | [`SectionSecretKey`] `a` | [`SectionSecretKey::decapsulate`], [`ReKey::new`] |
//! | writer | [`SectionPublicKey`] `A = g1^a` | [`encapsulate`], [`PreparedSectionKey::encapsulate`] |
//! | proxy | [`ReKey`] `B^(1/a)` | [`ReKey::reencrypt`] |
//! | reader | [`ReaderSecretKey`] `b` | [`ReaderSecretKey::decapsulate_reencrypted`] |

#[cfg(feature = "blst")]
mod blst;
mod capsule;
mod fixed;
pub(crate) mod gt;
mod keys;
mod prepared;
mod recapsule;
mod rekey;
mod shared_key;

pub use capsule::{encapsulate, Capsule};
pub use keys::{ReaderPublicKey, ReaderSecretKey, SectionPublicKey, SectionSecretKey};
pub use prepared::PreparedSectionKey;
pub use recapsule::ReCapsule;
pub use rekey::ReKey;
pub use shared_key::SharedKey;

/// Group-operation floors exposed for the benchmarks (not part of the stable API).
#[doc(hidden)]
pub mod floor {
    pub use super::fixed::{g1_mul, g2_mul, pair_with_g2, z, z_pow};
    pub use super::gt::{check as gt_check, pow as gt_pow};
}

/// How every public type of this module is encoded (checked by `tests/encodings.rs`, which
/// round-trips each type of `ENCODED` through its bytes and serde, and fails on a public type
/// that is in none of the lists). Add a new public type here.
#[doc(hidden)]
pub mod encodings {
    /// Serialize and Deserialize (through the canonical bytes where the type has them).
    pub const ENCODED: &[&str] = &[
        "Capsule",
        "ReCapsule",
        "ReKey",
        "ReaderPublicKey",
        "SectionPublicKey",
    ];
    /// Serialize only, and why there is no Deserialize.
    pub const SERIALIZE_ONLY: &[(&str, &str)] = &[];
    /// No encoding, and why.
    pub const NOT_ENCODED: &[(&str, &str)] = &[
        ("ReaderSecretKey", "secret: canonical bytes only, no serde (an explicit opt-in wrapper is the secret-encoding work of issue 12)"),
        ("SectionSecretKey", "secret: canonical bytes only, no serde (an explicit opt-in wrapper is the secret-encoding work of issue 12)"),
        ("SharedKey", "secret: an intermediate key, never stored"),
        ("PreparedSectionKey", "a table derived from a public SectionPublicKey: encode the key, rebuild the table"),
    ];
}
