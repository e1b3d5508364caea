//! `tarski-compiler`: everything that turns IAM policy documents into meaning, with no solver
//! dependency and no I/O. See ARCHITECTURE.md for the map.

pub mod atoms;
pub mod catalog;
pub mod checks;
pub mod diagnostic;
pub mod document;
pub mod eval;
pub mod glob;
pub mod iac;
pub mod json;
pub mod lint;
pub mod load;
pub mod logic;
pub mod operator;
pub mod parse;
pub mod policy;
pub mod policy_set;
pub mod query;
pub mod request;
pub mod semantics;
pub mod source;
pub mod span;
pub mod spec;
pub mod template;
pub mod value;
