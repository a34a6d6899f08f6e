//! Batches of independent, expensive items (pairings, GT exponentiations), mapped across
//! cores with the `rayon` feature and in order on one core without it. The output keeps the
//! input's order either way.

use alloc::vec::Vec;

/// `items` mapped by `f`, in order.
#[cfg(feature = "rayon")]
pub(crate) fn map<T: Send, U: Send>(items: Vec<T>, f: impl Fn(T) -> U + Sync + Send) -> Vec<U> {
    use rayon::prelude::*;
    // One item has nothing to share: skip the pool's hand-off.
    if items.len() < 2 {
        return items.into_iter().map(f).collect();
    }
    items.into_par_iter().map(f).collect()
}

/// `items` mapped by `f`, in order.
#[cfg(not(feature = "rayon"))]
pub(crate) fn map<T, U>(items: Vec<T>, f: impl Fn(T) -> U) -> Vec<U> {
    items.into_iter().map(f).collect()
}
