//! A folder's files and folders as the file system knows them, without reading a byte of
//! them, and [`Stamp`]s of it: what changes whenever anything in it changes.
//!
//! - A sealed bundle's [`Listing`] stamps each file's path, device, inode, size and
//!   modification time, and each folder's path, device, inode and modification time (a
//!   folder's changes whenever an entry is added to it, removed or renamed). A bundle
//!   whose stamp is the one recorded when it last verified, everything in it older than
//!   that check, holds the bytes it held then: the cache's rule for a file
//!   ([`super::Cache`]), applied to a whole bundle. When the bundle's own `SHA256SUMS`
//!   names its files, it is stamped without reading a directory ([`Listing::named`]).
//! - The previous site's copy of a bundle holds hard links of its files when its
//!   directory entries name the same inodes ([`Listing::linked_at`]); its folders'
//!   [`Listing::shape_at`], taken before that check, stamps it, to be vouched for
//!   without reading a directory the next time.

use super::cache;
use crate::seal::merkle::Hash;
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::fs::Metadata;
use std::os::unix::fs::{DirEntryExt, MetadataExt};
use std::path::{Path, PathBuf};

/// What a folder looked like: a SHA-256 over what identifies each thing in it, how many
/// things, and the newest modification time among them (ns since the epoch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub hash: Hash,
    pub count: u64,
    pub newest: i128,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    /// The folder on disk.
    pub folder: PathBuf,
    /// Every file under it, relative to it, `/`-separated, sorted bytewise.
    pub files: Vec<String>,
    /// Each file's device and inode, in the order of `files`.
    inodes: Vec<(u64, u64)>,
    pub stamp: Stamp,
    /// When the listing began (ns since the epoch).
    pub listed_at: i128,
}

impl Listing {
    /// Lists the folder `folder` by reading its directories: every file and folder in
    /// it, each `stat`ed relative to its folder's handle.
    pub fn of(folder: &Path) -> std::io::Result<Listing> {
        let listed_at = cache::now();
        let mut files = Vec::new();
        let mut folders = vec![(String::new(), std::fs::symlink_metadata(folder)?)];
        let mut unread = vec![(folder.to_owned(), String::new())];
        while let Some((dir, prefix)) = unread.pop() {
            for entry in std::fs::read_dir(&dir)? {
                let entry = entry?;
                let name = format!("{prefix}{}", entry.file_name().to_string_lossy());
                let meta = entry.metadata()?;
                if meta.is_dir() {
                    unread.push((entry.path(), format!("{name}/")));
                    folders.push((name, meta));
                } else {
                    files.push((name, meta));
                }
            }
        }
        Ok(Listing::stamped(folder, files, folders, listed_at))
    }

    /// Lists the folder `folder` as holding the files `names` (relative, `/`-separated)
    /// and the folders they lie in, `stat`ing each by name: no directory is read. The
    /// listing equals [`Listing::of`]'s if the folder holds exactly those; a file or
    /// folder added beside them changes a folder's modification time, so the stamp.
    pub fn named(folder: &Path, names: Vec<String>) -> std::io::Result<Listing> {
        let listed_at = cache::now();
        let stat = |name: &str| std::fs::symlink_metadata(within(folder, name));
        let folders = (folders_of(&names).into_iter())
            .map(|name| Ok((name.to_owned(), stat(name)?)))
            .collect::<std::io::Result<_>>()?;
        let files = (names.into_iter())
            .map(|name| {
                let meta = stat(&name)?;
                Ok((name, meta))
            })
            .collect::<std::io::Result<_>>()?;
        Ok(Listing::stamped(folder, files, folders, listed_at))
    }

    fn stamped(
        folder: &Path,
        mut files: Vec<(String, Metadata)>,
        mut folders: Vec<(String, Metadata)>,
        listed_at: i128,
    ) -> Listing {
        files.sort_by(|a, b| a.0.cmp(&b.0));
        files.dedup_by(|a, b| a.0 == b.0);
        folders.sort_by(|a, b| a.0.cmp(&b.0));
        let mut stamp = Stamper::default();
        for (path, meta) in &folders {
            stamp.add(path, b'd', meta.dev(), meta.ino(), None, meta);
        }
        for (path, meta) in &files {
            let kind = if meta.is_file() { b'f' } else { b'o' };
            stamp.add(path, kind, meta.dev(), meta.ino(), Some(meta.len()), meta);
        }
        Listing {
            folder: folder.to_owned(),
            inodes: files.iter().map(|(_, m)| (m.dev(), m.ino())).collect(),
            files: files.into_iter().map(|(path, _)| path).collect(),
            stamp: stamp.finish(),
            listed_at,
        }
    }

    /// Whether the folder `folder` holds exactly this listing's files, as the same
    /// inodes, and no other folder than theirs: hard links of them, so the same bytes.
    /// Reads the folder's directories (their entries carry the inode numbers) and
    /// `stat`s the folder alone.
    pub fn linked_at(&self, folder: &Path) -> bool {
        let Ok(meta) = std::fs::symlink_metadata(folder) else {
            return false;
        };
        let Ok((found, folders)) = entries(folder) else {
            return false;
        };
        meta.is_dir()
            && found.len() == self.files.len()
            && folders
                .iter()
                .map(String::as_str)
                .eq(folders_of(&self.files))
            && (found.iter().zip(self.files.iter().zip(&self.inodes)))
                .all(|((name, ino), (file, inode))| name == file && (meta.dev(), *ino) == *inode)
    }

    /// The stamp of the folders of `folder` that this listing's files lie in, and of
    /// this listing: while no entry of those folders is added, removed or renamed, and
    /// this listing's stamp holds, `folder` holds what it held when stamped. `stat`s
    /// each folder; reads no directory. Like every modification time, a folder's can be
    /// set back by hand (`touch -d`): a file replaced in the site's copy of a bundle
    /// whose folder's time is then reset is not seen until that copy is rebuilt (the
    /// bundle no longer verifies there, so `tallyseal verify` shows it).
    pub fn shape_at(&self, folder: &Path) -> std::io::Result<Stamp> {
        let mut stamp = Stamper::default();
        stamp.hasher.update(self.stamp.hash);
        for name in folders_of(&self.files) {
            let meta = std::fs::symlink_metadata(within(folder, name))?;
            if !meta.is_dir() {
                return Err(std::io::ErrorKind::NotADirectory.into());
            }
            stamp.add(name, b'd', meta.dev(), meta.ino(), None, &meta);
        }
        Ok(stamp.finish())
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

#[derive(Default)]
struct Stamper {
    hasher: Sha256,
    count: u64,
    newest: Option<i128>,
}

impl Stamper {
    fn add(
        &mut self,
        path: &str,
        kind: u8,
        dev: u64,
        ino: u64,
        size: Option<u64>,
        meta: &Metadata,
    ) {
        let mtime = meta.modified().map_or(i128::MAX, cache::nanos);
        self.newest = self.newest.max(Some(mtime));
        self.count += 1;
        self.hasher.update(path.as_bytes());
        self.hasher.update([0, kind]);
        for number in [dev, ino, size.unwrap_or(0)] {
            self.hasher.update(number.to_le_bytes());
        }
        self.hasher.update(mtime.to_le_bytes());
    }

    fn finish(self) -> Stamp {
        Stamp {
            hash: self.hasher.finalize().into(),
            count: self.count,
            newest: self.newest.unwrap_or(i128::MIN),
        }
    }
}

/// The path of `relative` in `folder`: `folder` itself for `""` (never with a trailing
/// slash, which would follow a symbolic link).
fn within(folder: &Path, relative: &str) -> PathBuf {
    match relative {
        "" => folder.to_owned(),
        _ => folder.join(relative),
    }
}

/// The folders the files `names` lie in, relative: `""` for the top one, then each
/// parent path (`data`, `data/x`).
fn folders_of(names: &[String]) -> BTreeSet<&str> {
    let mut folders = BTreeSet::from([""]);
    for name in names {
        let mut end = 0;
        while let Some(slash) = name[end..].find('/') {
            end += slash;
            folders.insert(&name[..end]);
            end += 1;
        }
    }
    folders
}

/// Every file (anything but a folder) under `folder` by relative path, with its inode
/// number from its directory entry, sorted; and every folder, `""` for `folder` itself.
#[allow(clippy::type_complexity)]
fn entries(folder: &Path) -> std::io::Result<(Vec<(String, u64)>, BTreeSet<String>)> {
    let mut found = Vec::new();
    let mut folders = BTreeSet::from([String::new()]);
    let mut unread = vec![(folder.to_owned(), String::new())];
    while let Some((dir, prefix)) = unread.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let name = format!("{prefix}{}", entry.file_name().to_string_lossy());
            if entry.file_type()?.is_dir() {
                unread.push((entry.path(), format!("{name}/")));
                folders.insert(name);
            } else {
                found.push((name, entry.ino()));
            }
        }
    }
    found.sort();
    Ok((found, folders))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(listing: &Listing) -> Vec<String> {
        listing.files.clone()
    }

    /// A folder `name` in `dir` holding `x.json` and `data/e.csv`.
    fn bundle(dir: &Path, name: &str) -> PathBuf {
        let folder = dir.join(name);
        std::fs::create_dir_all(folder.join("data")).unwrap();
        std::fs::write(folder.join("x.json"), "{}").unwrap();
        std::fs::write(folder.join("data/e.csv"), "1,2\n").unwrap();
        folder
    }

    #[test]
    fn a_stamp_changes_with_any_file_or_folder_and_naming_the_files_gives_the_same() {
        let temp = tempfile::tempdir().unwrap();
        let a = bundle(temp.path(), "a");
        let first = Listing::of(&a).unwrap();
        assert_eq!(first.files, ["data/e.csv", "x.json"]);
        assert_eq!(first.stamp.count, 4);
        assert_eq!(first.file("x.json"), Some(a.join("x.json")));
        assert_eq!(first.file("y.json"), None);
        assert_eq!(Listing::of(&a).unwrap().stamp, first.stamp);
        let named = Listing::named(&a, vec!["x.json".into(), "data/e.csv".into()]).unwrap();
        assert_eq!(
            (named.files.clone(), named.stamp),
            (first.files.clone(), first.stamp)
        );

        // Something added, even an empty folder: both ways of listing see it.
        std::fs::create_dir(a.join("data/more")).unwrap();
        assert_ne!(Listing::of(&a).unwrap().stamp, first.stamp);
        assert_ne!(
            Listing::named(&a, names(&first)).unwrap().stamp,
            first.stamp
        );
        std::fs::remove_dir(a.join("data/more")).unwrap();
        let again = Listing::of(&a).unwrap();
        assert_eq!(
            Listing::named(&a, names(&first)).unwrap().stamp,
            again.stamp
        );

        // A file rewritten in place, or missing.
        std::fs::write(a.join("data/e.csv"), "1,2,3\n").unwrap();
        assert_ne!(
            Listing::named(&a, names(&first)).unwrap().stamp,
            again.stamp
        );
        assert!(Listing::named(&a, vec!["gone.json".into()]).is_err());
        assert!(Listing::of(&temp.path().join("missing")).is_err());
    }

    #[test]
    fn a_copy_is_linked_only_as_the_same_inodes_and_its_shape_follows_its_folders() {
        let temp = tempfile::tempdir().unwrap();
        let a = bundle(temp.path(), "a");
        let store = Listing::of(&a).unwrap();
        assert!(store.linked_at(&a));

        let b = temp.path().join("b");
        std::fs::create_dir_all(b.join("data")).unwrap();
        std::fs::hard_link(a.join("x.json"), b.join("x.json")).unwrap();
        std::fs::hard_link(a.join("data/e.csv"), b.join("data/e.csv")).unwrap();
        assert!(store.linked_at(&b));
        let shape = store.shape_at(&b).unwrap();
        assert_eq!(store.shape_at(&b).unwrap(), shape);

        // A copy with the same bytes and time is another inode.
        std::fs::remove_file(b.join("x.json")).unwrap();
        std::fs::copy(a.join("x.json"), b.join("x.json")).unwrap();
        let modified = std::fs::metadata(a.join("x.json"))
            .unwrap()
            .modified()
            .unwrap();
        let copy = std::fs::File::options().write(true).open(b.join("x.json"));
        copy.unwrap().set_modified(modified).unwrap();
        assert!(!store.linked_at(&b));
        assert_ne!(store.shape_at(&b).unwrap(), shape);
        std::fs::remove_file(b.join("x.json")).unwrap();
        std::fs::hard_link(a.join("x.json"), b.join("x.json")).unwrap();
        assert!(store.linked_at(&b));

        // A file or an empty folder beside the links.
        std::fs::create_dir(b.join("data/more")).unwrap();
        assert!(!store.linked_at(&b));
        std::fs::remove_dir(b.join("data/more")).unwrap();
        std::fs::write(b.join("data/extra"), "").unwrap();
        assert!(!store.linked_at(&b));
        assert!(!store.linked_at(&temp.path().join("missing")));
        assert!(store.shape_at(&temp.path().join("missing")).is_err());
    }
}
