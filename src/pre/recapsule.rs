//! Re-encrypted capsules and the reader's decapsulation.

use alloc::vec::Vec;
use ark_bls12_381::Fq12;
use zeroize::Zeroize;

use crate::encoding::{self, Reader, Tag, G1_LEN, GT_LEN};
use crate::pre::{gt, Capsule, ReaderSecretKey, SectionPublicKey, SharedKey};
use crate::Error;

/// A capsule re-encrypted for one reader: the original `C` and `T = e(C, rk) = Z^(b·r)`.
///
/// Every `ReCapsule` holds a `T` that passed the GT checks of [SPEC §2](crate::notes::spec): decoding runs them
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

    /// Decodes a re-encrypted capsule this crate encoded and a trusted store returned (the
    /// SRS's stored responses): no subgroup or GT checks. Readers never use this.
    pub(crate) fn from_bytes_trusted(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::envelope(bytes, Tag::ReCapsule, "re-encrypted capsule")?;
        let c = r.take(G1_LEN)?;
        let t = r.take(GT_LEN)?;
        r.finish()?;
        Ok(Self {
            capsule: Capsule {
                point: encoding::decode_point_trusted(c, "re-encrypted capsule")?,
            },
            t: encoding::decode_fq12(t, "re-encrypted capsule")?,
        })
    }

    /// Decodes a re-encrypted capsule that must carry `capsule` — the one the reader already
    /// holds from the entry's key block, already decoded and checked — and checks `T` exactly
    /// as [`ReCapsule::from_bytes`] does. Encodings are canonical, so comparing the bytes of `C`
    /// with `capsule`'s stands in for decoding it again (a square root and a subgroup check
    /// saved). A re-encrypted capsule of any other capsule is [`Error::DecryptionFailed`], as
    /// it would be when opening the entry.
    pub fn from_bytes_for(bytes: &[u8], capsule: &Capsule) -> Result<Self, Error> {
        let mut r = Reader::envelope(bytes, Tag::ReCapsule, "re-encrypted capsule")?;
        let c = r.take(G1_LEN)?;
        let t = r.take(GT_LEN)?;
        r.finish()?;
        if c != capsule.point_bytes() {
            return Err(Error::DecryptionFailed);
        }
        let t = encoding::decode_fq12(t, "re-encrypted capsule")?;
        gt::check(&t)?;
        Ok(Self {
            capsule: *capsule,
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

    /// [`ReaderSecretKey::decapsulate_reencrypted`] for a batch (across cores with the `rayon`
    /// feature): each item is a re-encrypted capsule, the section key it must come from, and
    /// its context. One result per item, in order; one item failing fails only itself.
    pub fn decapsulate_reencrypted_many(
        &self,
        items: &[(&ReCapsule, &SectionPublicKey, &[u8])],
    ) -> Vec<Result<SharedKey, Error>> {
        crate::par::map(items.iter().collect(), |(recapsule, section, context)| {
            self.decapsulate_reencrypted(recapsule, section, context)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::GtCheck;
    use crate::pre::{encapsulate, ReKey, SectionSecretKey};
    use ark_ff::{CyclotomicMultSubgroup, Field, One};
    use rand_core::SeedableRng;

    fn rng(seed: u64) -> rand_chacha::ChaCha20Rng {
        rand_chacha::ChaCha20Rng::seed_from_u64(seed)
    }

    fn with_t(rc: &ReCapsule, t: &Fq12) -> alloc::vec::Vec<u8> {
        let mut bytes = rc.to_bytes().to_vec();
        bytes[2 + G1_LEN..].copy_from_slice(&encoding::gt_bytes(t));
        bytes
    }

    /// `from_bytes_for` accepts exactly what `from_bytes` accepts for the expected capsule, and
    /// runs the same GT checks.
    #[test]
    fn from_bytes_for_matches_from_bytes() {
        let a = SectionSecretKey::random(&mut rng(1));
        let b = ReaderSecretKey::random(&mut rng(2));
        let rk = ReKey::new(&a, &b.public_key());
        let (c1, _) = encapsulate(&a.public_key(), b"", &mut rng(3)).unwrap();
        let (c2, _) = encapsulate(&a.public_key(), b"", &mut rng(4)).unwrap();
        let rc = rk.reencrypt(&c1);
        let bytes = rc.to_bytes();
        assert_eq!(ReCapsule::from_bytes_for(&bytes, &c1).unwrap(), rc);
        assert_eq!(ReCapsule::from_bytes(&bytes).unwrap(), rc);
        assert_eq!(
            ReCapsule::from_bytes_for(&bytes, &c2),
            Err(Error::DecryptionFailed)
        );
        assert!(ReCapsule::from_bytes_for(&bytes[..bytes.len() - 1], &c1).is_err());

        let t = rc.t;
        // A random cyclotomic element: almost surely not of order r.
        let g = Fq12::from(7u64) + t.square();
        let mut cyc = g;
        cyc.cyclotomic_inverse_in_place();
        cyc *= g.inverse().unwrap();
        let mut cyc_p2 = cyc;
        cyc_p2.frobenius_map_in_place(2);
        cyc *= cyc_p2;
        assert_eq!(cyc.cyclotomic_exp([1u64]), cyc);
        // A primitive cube root of unity in Fq.
        let s = (-ark_bls12_381::Fq::from(3u64)).sqrt().unwrap();
        let w = (s - ark_bls12_381::Fq::one()) * ark_bls12_381::Fq::from(2u64).inverse().unwrap();
        let omega = Fq12::from_base_prime_field(w);
        for (bad, why) in [
            (Fq12::one(), GtCheck::Trivial),
            (t + Fq12::one(), GtCheck::NotCyclotomic),
            (t * omega, GtCheck::NotCyclotomic),
            (cyc, GtCheck::WrongOrder),
        ] {
            let enc = with_t(&rc, &bad);
            assert_eq!(
                ReCapsule::from_bytes_for(&enc, &c1),
                Err(Error::InvalidGtElement(why))
            );
            assert_eq!(
                ReCapsule::from_bytes(&enc),
                Err(Error::InvalidGtElement(why))
            );
        }
    }
}
