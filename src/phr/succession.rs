//! What one ACL version may change about a section's epochs ([SPEC §7](crate::notes::spec)): a section rotates at
//! most once per version and its epoch advances by exactly one when it does; a created
//! section starts at its predecessor's retirement epoch (or 0) and records it as its first;
//! a removed section's next epoch is remembered for good.
//!
//! Together these bound what an ACL can imply by what it has been, one version at a time,
//! so no signed number can make a verifier enumerate epochs it never went through.

use crate::phr::{Acl, AclProblem, Epoch, SectionId};
use crate::Error;

/// Where a section id stands in one ACL version.
#[derive(Clone, Copy)]
enum Standing {
    /// Live at `epoch`, created at `first`.
    Live { epoch: Epoch, first: Epoch },
    /// Removed; a re-created section starts at this epoch.
    Retired(Epoch),
    /// Never used (a created section starts at 0).
    Unused,
}

fn standing(acl: Option<&Acl>, id: &SectionId) -> Standing {
    let Some(acl) = acl else {
        return Standing::Unused;
    };
    if let Some(p) = acl.sections.get(id) {
        Standing::Live {
            epoch: p.epoch,
            first: p.first,
        }
    } else if let Some(next) = acl.retired.get(id) {
        Standing::Retired(*next)
    } else {
        Standing::Unused
    }
}

/// `b ∈ {a, a + 1}`.
fn same_or_next(a: Epoch, b: Epoch) -> bool {
    b == a || u64::from(b.0) == u64::from(a.0) + 1
}

/// Whether `new` may follow `old` (`None`: `new` is a record's first version), section by
/// section. Work is linear in the sizes of the two ACLs.
pub(crate) fn check(old: Option<&Acl>, new: &Acl) -> Result<(), Error> {
    let ids = new.sections.keys().chain(new.retired.keys()).chain(
        old.into_iter()
            .flat_map(|o| o.sections.keys().chain(o.retired.keys())),
    );
    for id in ids {
        let ok = match (standing(old, id), standing(Some(new), id)) {
            (Standing::Live { epoch, first }, Standing::Live { epoch: e, first: f }) => {
                f == first && same_or_next(epoch, e)
            }
            (Standing::Live { epoch, .. }, Standing::Retired(next)) => {
                u64::from(next.0) == u64::from(epoch.0) + 1
            }
            (Standing::Retired(base), Standing::Live { epoch, first }) => {
                first == base && same_or_next(base, epoch)
            }
            (Standing::Unused, Standing::Live { epoch, first }) => {
                first == Epoch(0) && same_or_next(Epoch(0), epoch)
            }
            (Standing::Retired(base), Standing::Retired(next)) => same_or_next(base, next),
            (Standing::Unused, Standing::Retired(next)) => same_or_next(Epoch(0), next),
            (Standing::Unused, Standing::Unused) => true,
            // A live or removed section may not be forgotten: its epochs would be reused.
            (Standing::Live { .. } | Standing::Retired(_), Standing::Unused) => false,
        };
        if !ok {
            return Err(Error::acl_rejected(
                new,
                AclProblem::BadSuccession { section: *id },
            ));
        }
    }
    Ok(())
}
