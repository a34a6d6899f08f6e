//! The design specification, design notes and the wire format, as documentation only.
//!
//! Elsewhere in these docs, *SPEC §n* is section n of [`spec`].

#[doc = include_str!("../docs/spec.md")]
pub mod spec {}

#[doc = include_str!("../docs/design.md")]
pub mod design {}

#[doc = include_str!("../docs/encoding.md")]
pub mod encoding {}
