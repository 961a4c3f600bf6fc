//! Sealing: how raw exports are cut into Merkle leaves, the RFC 9162 trees and
//! multiproofs over them, client slices, the files a bundle attests with (statement,
//! manifest, signature), the agency's signing keys, and verification. Works on bytes
//! and paths only.

pub mod bundle;
pub mod keys;
pub mod leaves;
pub mod manifest;
pub mod merkle;
pub mod proof;
pub mod slice;
pub mod statement;
