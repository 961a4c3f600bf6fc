//! Closing a bundle: listing every file of a bundle folder in `SHA256SUMS` and signing
//! its exact bytes (seal.md).

use super::keys::Signer;
use super::manifest::{self, SIGNATURE, SUMS};
use super::merkle::Hash;
use crate::error::display_path;
use crate::site::{SiteFiles, WriteError};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// Lists every file under `dir` (a bundle folder) in `SHA256SUMS`: those of `files` and
/// those just `added` (written into `files`' staging folder, not yet recorded in it);
/// signs it with `signer` (none: an unsigned preview, with no signature) and writes both,
/// adding them to `added`. Returns the SHA-256 of `SHA256SUMS`, which the client's next
/// bundle names as `prev`.
pub fn close(
    files: &SiteFiles,
    added: &mut Vec<(PathBuf, Hash)>,
    dir: &Path,
    signer: Option<&Signer>,
) -> Result<Hash, WriteError> {
    let mut listed = Vec::new();
    let mut list = |path: &Path, sha256: Hash| {
        let Ok(relative) = path.strip_prefix(dir) else {
            return;
        };
        let relative = display_path(relative);
        if relative != SUMS && relative != SIGNATURE {
            listed.push(manifest::Entry {
                path: relative,
                sha256,
            });
        }
    };
    // What was just added first: it replaces a file of `files` of the same path.
    for (path, sha256) in added.iter() {
        list(path, *sha256);
    }
    for (path, sha256) in files.under(dir) {
        list(path, *sha256);
    }
    listed.sort_by(|a, b| a.path.cmp(&b.path));
    listed.dedup_by(|later, earlier| later.path == earlier.path);
    let sums = manifest::write_entries(listed);
    let hash = Sha256::digest(sums.as_bytes()).into();
    let staging = files.staging();
    if let Some(signer) = signer {
        let path = dir.join(SIGNATURE);
        added.push((
            path.clone(),
            staging.write(&path, &signer.sign(sums.as_bytes()))?,
        ));
    }
    let path = dir.join(SUMS);
    added.push((path.clone(), staging.write(&path, sums.as_bytes())?));
    Ok(hash)
}

/// The number of bundles among the files `paths`: the folders holding a `SHA256SUMS`.
pub fn count<'a>(paths: impl IntoIterator<Item = &'a PathBuf>) -> usize {
    paths
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n == SUMS))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signature, SigningKey};

    #[test]
    fn lists_only_the_bundle_and_signs_the_exact_bytes() {
        let temp = tempfile::tempdir().unwrap();
        let staging = crate::site::Staging::create(temp.path().join("site")).unwrap();
        let mut files = SiteFiles::new(staging);
        for path in [
            "c/a/2026-10/x.html",
            "c/a/2026-10/data/e.csv",
            "c/a/2026-11/y",
            "c/a/index.html",
        ] {
            files.insert(path.into(), path.as_bytes()).unwrap();
        }
        let signer = Signer::new(SigningKey::from_bytes(&[3u8; 32])).unwrap();
        let mut added = Vec::new();
        let hash = close(&files, &mut added, Path::new("c/a/2026-10"), Some(&signer)).unwrap();
        files.extend(added);
        let read = |path: &str| files.read(Path::new(path)).unwrap().unwrap();
        let sums = &read("c/a/2026-10/SHA256SUMS");
        assert_eq!(hash, <[u8; 32]>::from(Sha256::digest(sums)));
        let listed: Vec<String> = manifest::parse(sums)
            .unwrap()
            .into_iter()
            .map(|e| e.path)
            .collect();
        assert_eq!(listed, ["data/e.csv", "x.html"]);
        let signature = Signature::from_slice(&read("c/a/2026-10/SHA256SUMS.sig")).unwrap();
        let public = SigningKey::from_bytes(&[3u8; 32]).verifying_key();
        assert!(public.verify_strict(sums, &signature).is_ok());
        // Unsigned: a manifest and no signature.
        let mut added = Vec::new();
        close(&files, &mut added, Path::new("c/a/2026-11"), None).unwrap();
        files.extend(added);
        assert!(files.contains(Path::new("c/a/2026-11/SHA256SUMS")));
        assert!(!files.contains(Path::new("c/a/2026-11/SHA256SUMS.sig")));
    }
}
