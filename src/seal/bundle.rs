//! Closing a bundle: listing every file of a bundle folder in `SHA256SUMS` and signing
//! its exact bytes (seal.md).

use super::keys::Signer;
use super::manifest::{self, SIGNATURE, SUMS};
use super::merkle::Hash;
use crate::error::display_path;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The files of a site being built, by path relative to the site.
pub type Files = BTreeMap<PathBuf, Vec<u8>>;

/// Lists every file under `dir` (a bundle folder of `files`) in `SHA256SUMS`, signs it
/// with `signer` (none: an unsigned preview, with no signature) and adds both to `files`.
/// Returns the SHA-256 of `SHA256SUMS`, which the client's next bundle names as `prev`.
pub fn close(files: &mut Files, dir: &Path, signer: Option<&Signer>) -> Hash {
    let listed: Vec<(String, &[u8])> = files
        .range(dir.to_path_buf()..)
        .take_while(|(path, _)| path.starts_with(dir))
        .filter_map(|(path, bytes)| {
            let relative = display_path(path.strip_prefix(dir).ok()?);
            (relative != SUMS && relative != SIGNATURE).then_some((relative, bytes.as_slice()))
        })
        .collect();
    let sums = manifest::write(listed.iter().map(|(p, b)| (p.as_str(), *b)));
    let hash = Sha256::digest(sums.as_bytes()).into();
    if let Some(signer) = signer {
        files.insert(dir.join(SIGNATURE), signer.sign(sums.as_bytes()).to_vec());
    }
    files.insert(dir.join(SUMS), sums.into_bytes());
    hash
}

/// The number of bundles among `files`: the folders holding a `SHA256SUMS`.
pub fn count(files: &Files) -> usize {
    files
        .keys()
        .filter(|p| p.file_name().is_some_and(|n| n == SUMS))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signature, SigningKey};

    #[test]
    fn lists_only_the_bundle_and_signs_the_exact_bytes() {
        let mut files = Files::new();
        for path in [
            "c/a/2026-10/x.html",
            "c/a/2026-10/data/e.csv",
            "c/a/2026-11/y",
            "c/a/index.html",
        ] {
            files.insert(PathBuf::from(path), path.as_bytes().to_vec());
        }
        let signer = Signer::new(SigningKey::from_bytes(&[3u8; 32])).unwrap();
        let hash = close(&mut files, Path::new("c/a/2026-10"), Some(&signer));
        let sums = &files[Path::new("c/a/2026-10/SHA256SUMS")];
        assert_eq!(hash, <[u8; 32]>::from(Sha256::digest(sums)));
        let listed: Vec<String> = manifest::parse(sums)
            .unwrap()
            .into_iter()
            .map(|e| e.path)
            .collect();
        assert_eq!(listed, ["data/e.csv", "x.html"]);
        let signature = &files[Path::new("c/a/2026-10/SHA256SUMS.sig")];
        let signature = Signature::from_slice(signature).unwrap();
        let public = SigningKey::from_bytes(&[3u8; 32]).verifying_key();
        assert!(public.verify_strict(sums, &signature).is_ok());
        // Unsigned: a manifest and no signature.
        close(&mut files, Path::new("c/a/2026-11"), None);
        assert!(files.contains_key(Path::new("c/a/2026-11/SHA256SUMS")));
        assert!(!files.contains_key(Path::new("c/a/2026-11/SHA256SUMS.sig")));
    }
}
