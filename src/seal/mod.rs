//! Sealing: how raw exports are cut into Merkle leaves, the RFC 9162 trees and
//! multiproofs over them, client slices, and the agency's signing keys. Works on bytes
//! and paths only.

pub mod keys;
pub mod leaves;
pub mod merkle;
pub mod slice;
