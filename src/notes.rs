//! Design notes and the wire format, as documentation only.

#[doc = include_str!("../docs/design.md")]
pub mod design {}

#[doc = include_str!("../docs/encoding.md")]
pub mod encoding {}
