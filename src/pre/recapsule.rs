//! Re-encrypted capsules and the reader's decapsulation.

use ark_bls12_381::Fq12;
use zeroize::Zeroize;

use crate::encoding::{self, Reader, Tag, G1_LEN, GT_LEN};
use crate::pre::{gt, Capsule, ReaderSecretKey, SectionPublicKey, SharedKey};
use crate::Error;

/// A capsule re-encrypted for one reader: the original `C` and `T = e(C, rk) = Z^(b·r)`.
///
/// Every `ReCapsule` holds a `T` that passed the GT checks of SPEC §2: decoding runs them
/// (zero and one refused, cyclotomic test, then order-r test), and the proxy's own output is
/// in GT by construction. A reader can therefore never be made to exponentiate a small-order
/// element with its secret.
#[derive(Clone)]
pub struct ReCapsule {
    capsule: Capsule,
    t: Fq12,
}

impl ReCapsule {
    /// Size of the encoding: tag, version, compressed `C`, uncompressed `T`.
    pub const SIZE: usize = 2 + G1_LEN + GT_LEN;

    pub(crate) fn from_parts(capsule: Capsule, t: Fq12) -> Self {
        Self { capsule, t }
    }

    /// The original capsule `C`.
    pub fn capsule(&self) -> &Capsule {
        &self.capsule
    }

    /// The canonical encoding: tag, version, `C` (48 bytes), `T` (576 bytes).
    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        let mut out = [0u8; Self::SIZE];
        out[0] = Tag::ReCapsule as u8;
        out[1] = encoding::VERSION;
        out[2..2 + G1_LEN].copy_from_slice(&self.capsule.point_bytes());
        out[2 + G1_LEN..].copy_from_slice(&encoding::gt_bytes(&self.t));
        out
    }

    /// Decodes and checks: length, tag, version, `C` a valid subgroup point, `T` canonical,
    /// not zero or one, cyclotomic, and of order r.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::envelope(bytes, Tag::ReCapsule, "re-encrypted capsule")?;
        let c = r.take(G1_LEN)?;
        let t = r.take(GT_LEN)?;
        r.finish()?;
        let c = encoding::decode_g1(c, "re-encrypted capsule")?;
        let t = encoding::decode_fq12(t, "re-encrypted capsule")?;
        gt::check(&t)?;
        Ok(Self {
            capsule: Capsule { point: c },
            t,
        })
    }
}

impl PartialEq for ReCapsule {
    fn eq(&self, other: &Self) -> bool {
        self.capsule == other.capsule && self.t == other.t
    }
}

impl Eq for ReCapsule {}

impl core::fmt::Debug for ReCapsule {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ReCapsule")
            .field("capsule", &self.capsule)
            .finish_non_exhaustive()
    }
}

crate::macros::serde_via_bytes!(ReCapsule, "re-encrypted capsule");

impl ReaderSecretKey {
    /// The reader's decapsulation: `S = T^(1/b)`, then the key derivation bound to `C`, the
    /// section public key `A` the reader expects, and `context`.
    ///
    /// A capsule re-encrypted from another section, or for another reader, gives a different
    /// key, which the data-key unwrap then refuses.
    pub fn decapsulate_reencrypted(
        &self,
        recapsule: &ReCapsule,
        section: &SectionPublicKey,
        context: &[u8],
    ) -> Result<SharedKey, Error> {
        let mut s = gt::pow(&recapsule.t, self.scalar_inverse());
        let key = SharedKey::derive(
            &s,
            &recapsule.capsule.point_bytes(),
            &section.point_bytes(),
            context,
        );
        s.zeroize();
        key
    }
}
