//! `tarski-compiler`: everything that turns IAM policy documents into meaning, with no solver
//! dependency and no I/O. See ARCHITECTURE.md for the map.

pub mod catalog;
pub mod glob;
