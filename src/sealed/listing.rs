//! A folder's files as the file system knows them, without reading a byte of them: each
//! file's path, device, inode, size and modification time, and one SHA-256 over all of
//! them, the folder's fingerprint.
//!
//! Two folders with the same fingerprint hold the same files as the same inodes (hard
//! links of each other): `build` moves a sealed bundle of the previous site over whole
//! when it is still the store's. A folder whose fingerprint is the one recorded when it
//! was last verified, its files all older than that check, holds the bytes it held then:
//! the cache's rule for a file ([`super::Cache`]), applied to a whole sealed bundle.

use super::cache;
use crate::error::display_path;
use crate::seal::merkle::Hash;
use sha2::{Digest, Sha256};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    /// The folder on disk.
    pub folder: PathBuf,
    /// Every file under it, relative to it, `/`-separated, sorted bytewise.
    pub files: Vec<String>,
    pub fingerprint: Hash,
    /// The latest modification time of its files (ns since the epoch).
    pub newest: i128,
    /// When the listing began (ns since the epoch).
    pub listed_at: i128,
}

impl Listing {
    /// Lists the folder `folder`: one `stat` per file.
    pub fn of(folder: &Path) -> std::io::Result<Listing> {
        let listed_at = cache::now();
        let mut found = Vec::new();
        for entry in walkdir::WalkDir::new(folder).min_depth(1) {
            let entry = entry?;
            if entry.file_type().is_dir() {
                continue;
            }
            let meta = entry.metadata()?;
            let relative = entry.path().strip_prefix(folder).unwrap_or(entry.path());
            found.push((display_path(relative), meta));
        }
        found.sort_by(|a, b| a.0.cmp(&b.0));
        let mut hasher = Sha256::new();
        let mut newest = i128::MIN;
        for (path, meta) in &found {
            let mtime = cache::nanos(meta.modified()?);
            newest = newest.max(mtime);
            hasher.update(path.as_bytes());
            hasher.update([0, u8::from(meta.is_file())]);
            for number in [meta.dev(), meta.ino(), meta.len()] {
                hasher.update(number.to_le_bytes());
            }
            hasher.update(mtime.to_le_bytes());
        }
        Ok(Listing {
            folder: folder.to_owned(),
            files: found.into_iter().map(|(path, _)| path).collect(),
            fingerprint: hasher.finalize().into(),
            newest,
            listed_at,
        })
    }

    /// Whether `other` lists the same files, as the same inodes, unchanged.
    pub fn same_files(&self, other: &Listing) -> bool {
        self.fingerprint == other.fingerprint && self.files == other.files
    }

    /// Where the file `relative` (`/`-separated) of this folder is on disk, if it has it.
    pub fn file(&self, relative: &str) -> Option<PathBuf> {
        let found = self.files.binary_search_by(|f| f.as_str().cmp(relative));
        found.ok().map(|_| self.folder.join(relative))
    }

    /// Every file, with where it is on disk.
    pub fn on_disk(&self) -> impl Iterator<Item = (&str, PathBuf)> {
        self.files
            .iter()
            .map(|name| (name.as_str(), self.folder.join(name)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listing_changes_with_any_file_and_not_with_hard_links() {
        let temp = tempfile::tempdir().unwrap();
        let a = temp.path().join("a");
        std::fs::create_dir_all(a.join("data")).unwrap();
        std::fs::write(a.join("x.json"), "{}").unwrap();
        std::fs::write(a.join("data/e.csv"), "1,2\n").unwrap();
        let first = Listing::of(&a).unwrap();
        assert_eq!(first.files, ["data/e.csv", "x.json"]);
        assert_eq!(first.file("x.json"), Some(a.join("x.json")));
        assert_eq!(first.file("y.json"), None);
        assert!(first.same_files(&Listing::of(&a).unwrap()));

        // The same inodes elsewhere: the same files.
        let b = temp.path().join("b");
        std::fs::create_dir_all(b.join("data")).unwrap();
        std::fs::hard_link(a.join("x.json"), b.join("x.json")).unwrap();
        std::fs::hard_link(a.join("data/e.csv"), b.join("data/e.csv")).unwrap();
        assert!(first.same_files(&Listing::of(&b).unwrap()));

        // A copy with the same bytes and time is another inode.
        std::fs::remove_file(b.join("x.json")).unwrap();
        std::fs::copy(a.join("x.json"), b.join("x.json")).unwrap();
        let modified = std::fs::metadata(a.join("x.json"))
            .unwrap()
            .modified()
            .unwrap();
        let copy = std::fs::File::options().write(true).open(b.join("x.json"));
        copy.unwrap().set_modified(modified).unwrap();
        assert!(!first.same_files(&Listing::of(&b).unwrap()));

        // A file added, or rewritten in place.
        std::fs::write(a.join("extra"), "").unwrap();
        let added = Listing::of(&a).unwrap();
        assert!(!first.same_files(&added));
        std::fs::remove_file(a.join("extra")).unwrap();
        std::fs::write(a.join("data/e.csv"), "1,2,3\n").unwrap();
        assert!(!first.same_files(&Listing::of(&a).unwrap()));

        assert!(Listing::of(&temp.path().join("missing")).is_err());
    }
}
