//! The registry (SPEC §4, §8): principals, one id per key bundle, activation by an
//! administrator.

use crate::phr::{KeyBundle, PrincipalId, Role};
use crate::srs::handle::refuse;
use crate::srs::rows::{self, Kind, Registration};
use crate::srs::store::Store;
use crate::srs::tx::Tx;
use crate::srs::{Refusal, Response};
use crate::Error;

pub(crate) fn load<S: Store + ?Sized>(
    tx: &mut Tx<'_, S>,
    id: PrincipalId,
) -> Result<Option<Registration>, Error> {
    tx.get(&rows::principal(id))?
        .map(|v| Registration::decode(&v, false))
        .transpose()
}

/// Registers `id` with `bundle`: refused if the id or the bundle is already registered (a
/// bundle lives under one id, so deactivating a principal deactivates its keys).
pub(crate) fn insert<S: Store + ?Sized>(
    tx: &mut Tx<'_, S>,
    id: PrincipalId,
    role: Role,
    bundle: KeyBundle,
    active: bool,
) -> Result<(), Error> {
    if tx.get(&rows::principal(id))?.is_some() {
        return Err(Error::AlreadyExists { what: "principal" });
    }
    let fp = bundle.fingerprint();
    if tx.get(&rows::bundle(&fp))?.is_some() {
        return Err(Error::AlreadyExists { what: "key bundle" });
    }
    let reg = Registration {
        role,
        bundle,
        active,
    };
    tx.put(rows::principal(id), reg.encode());
    tx.put(
        rows::bundle(&fp),
        rows::encode_id(Kind::Bundle, id.as_bytes()),
    );
    Ok(())
}

pub(crate) fn set_active<S: Store + ?Sized>(
    tx: &mut Tx<'_, S>,
    actor: &Registration,
    target: PrincipalId,
    active: bool,
) -> Result<Response, Error> {
    if actor.role != Role::Admin {
        return refuse(Refusal::NotAdmin);
    }
    let mut reg = load(tx, target)?.ok_or(Error::NotFound { what: "principal" })?;
    reg.active = active;
    tx.put(rows::principal(target), reg.encode());
    Ok(Response::Done)
}
