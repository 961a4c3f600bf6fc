//! A folder's files as the file system knows them, without reading a byte of them: each
//! file's path, device, inode, size and modification time, and one SHA-256 over all of
//! them, the folder's fingerprint.
//!
//! A folder whose fingerprint is the one recorded when it was last verified, its files
//! all older than that check, holds the bytes it held then: the cache's rule for a file
//! ([`super::Cache`]), applied to a whole sealed bundle. A folder whose entries name the
//! same inodes holds hard links of the listed files: `build` moves a sealed bundle of the
//! previous site over whole when it is still linked to the store.

use super::cache;
use crate::seal::merkle::Hash;
use sha2::{Digest, Sha256};
use std::os::unix::fs::{DirEntryExt, MetadataExt};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    /// The folder on disk.
    pub folder: PathBuf,
    /// Every file under it, relative to it, `/`-separated, sorted bytewise.
    pub files: Vec<String>,
    /// Each file's device and inode, in the order of `files`.
    inodes: Vec<(u64, u64)>,
    pub fingerprint: Hash,
    /// The latest modification time of its files (ns since the epoch).
    pub newest: i128,
    /// When the listing began (ns since the epoch).
    pub listed_at: i128,
}

impl Listing {
    /// Lists the folder `folder`: one `stat` per file, relative to its folder's handle
    /// (never a walk of the whole path again).
    pub fn of(folder: &Path) -> std::io::Result<Listing> {
        let listed_at = cache::now();
        let found = files(folder)?;
        let mut hasher = Sha256::new();
        let mut newest = i128::MIN;
        let mut inodes = Vec::with_capacity(found.len());
        for (path, entry) in &found {
            let meta = entry.metadata()?;
            let mtime = cache::nanos(meta.modified()?);
            newest = newest.max(mtime);
            inodes.push((meta.dev(), meta.ino()));
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
            inodes,
            fingerprint: hasher.finalize().into(),
            newest,
            listed_at,
        })
    }

    /// Whether the folder `folder` holds exactly this listing's files as the same
    /// inodes: hard links of them, so the same bytes. Reads only the folder's entries
    /// (their inode numbers come with them) and `stat`s the folder alone.
    pub fn linked_at(&self, folder: &Path) -> bool {
        let (Ok(meta), Ok(found)) = (std::fs::metadata(folder), files(folder)) else {
            return false;
        };
        found.len() == self.files.len()
            && found.iter().zip(self.files.iter().zip(&self.inodes)).all(
                |((name, entry), (file, inode))| {
                    name == file && (meta.dev(), entry.ino()) == *inode
                },
            )
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

/// Every file (anything but a folder) under `folder`, by path relative to it,
/// `/`-separated, sorted bytewise, with its entry.
fn files(folder: &Path) -> std::io::Result<Vec<(String, std::fs::DirEntry)>> {
    let mut found = Vec::new();
    let mut folders = vec![(folder.to_owned(), String::new())];
    while let Some((dir, prefix)) = folders.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let name = format!("{prefix}{}", entry.file_name().to_string_lossy());
            if entry.file_type()?.is_dir() {
                folders.push((entry.path(), format!("{name}/")));
            } else {
                found.push((name, entry));
            }
        }
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listing_changes_with_any_file_and_knows_its_hard_links() {
        let temp = tempfile::tempdir().unwrap();
        let a = temp.path().join("a");
        std::fs::create_dir_all(a.join("data")).unwrap();
        std::fs::write(a.join("x.json"), "{}").unwrap();
        std::fs::write(a.join("data/e.csv"), "1,2\n").unwrap();
        let first = Listing::of(&a).unwrap();
        assert_eq!(first.files, ["data/e.csv", "x.json"]);
        assert_eq!(first.file("x.json"), Some(a.join("x.json")));
        assert_eq!(first.file("y.json"), None);
        assert_eq!(Listing::of(&a).unwrap().fingerprint, first.fingerprint);
        assert!(first.linked_at(&a));

        // The same inodes elsewhere: hard links of the listed files.
        let b = temp.path().join("b");
        std::fs::create_dir_all(b.join("data")).unwrap();
        std::fs::hard_link(a.join("x.json"), b.join("x.json")).unwrap();
        std::fs::hard_link(a.join("data/e.csv"), b.join("data/e.csv")).unwrap();
        assert!(first.linked_at(&b));
        assert_eq!(Listing::of(&b).unwrap().fingerprint, first.fingerprint);

        // A copy with the same bytes and time is another inode; so is a missing folder.
        std::fs::remove_file(b.join("x.json")).unwrap();
        std::fs::copy(a.join("x.json"), b.join("x.json")).unwrap();
        let modified = std::fs::metadata(a.join("x.json"))
            .unwrap()
            .modified()
            .unwrap();
        let copy = std::fs::File::options().write(true).open(b.join("x.json"));
        copy.unwrap().set_modified(modified).unwrap();
        assert!(!first.linked_at(&b));
        assert_ne!(Listing::of(&b).unwrap().fingerprint, first.fingerprint);
        assert!(!first.linked_at(&temp.path().join("missing")));

        // A file added beside the links, or one listed file rewritten in place.
        std::fs::remove_file(b.join("x.json")).unwrap();
        std::fs::hard_link(a.join("x.json"), b.join("x.json")).unwrap();
        std::fs::write(b.join("data/extra"), "").unwrap();
        assert!(!first.linked_at(&b));
        std::fs::write(a.join("data/e.csv"), "1,2,3\n").unwrap();
        assert_ne!(Listing::of(&a).unwrap().fingerprint, first.fingerprint);

        assert!(Listing::of(&temp.path().join("missing")).is_err());
    }
}
