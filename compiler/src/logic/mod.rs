//! The symbolic side: the logic IR, lowering of policy sets into it, and the finite
//! partitions ("cells") of string variables that let the solver avoid string theory.

pub mod cells;
pub mod domain;
pub mod ir;
pub mod keyeq;
pub mod lower;
pub mod problem;
pub mod relax;
