//! The pairing-based proxy re-encryption core: AFGH second-level ciphertexts on BLS12-381,
//! used as a KEM ([SPEC §2](crate::notes::spec)). This layer knows nothing of health records.
//!
//! | who | holds | does |
//! |---|---|---|
//! | owner | [`SectionSecretKey`] `a` | [`SectionSecretKey::decapsulate`], [`ReKey::new`] |
//! | writer | [`SectionPublicKey`] `A = g1^a` | [`encapsulate`] |
//! | proxy | [`ReKey`] `B^(1/a)` | [`ReKey::reencrypt`] |
//! | reader | [`ReaderSecretKey`] `b` | [`ReaderSecretKey::decapsulate_reencrypted`] |

mod capsule;
mod fixed;
pub(crate) mod gt;
mod keys;
mod recapsule;
mod rekey;
mod shared_key;

pub use capsule::{encapsulate, Capsule};
pub use keys::{ReaderPublicKey, ReaderSecretKey, SectionPublicKey, SectionSecretKey};
pub use recapsule::ReCapsule;
pub use rekey::ReKey;
pub use shared_key::SharedKey;

/// Group-operation floors exposed for the benchmarks (not part of the stable API).
#[doc(hidden)]
pub mod floor {
    pub use super::fixed::{g1_mul, g2_mul, pair_with_g2, z, z_pow};
    pub use super::gt::{check as gt_check, pow as gt_pow};
}
