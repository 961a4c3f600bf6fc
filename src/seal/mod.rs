//! Sealing: how raw exports are cut into Merkle leaves, client slices of them, and the
//! agency's signing keys. Works on bytes and paths only.

pub mod keys;
pub mod leaves;
pub mod slice;
