//! The site being built, on disk from its first file: each file is written into a
//! staging folder the moment it is made and remembered only by its path and SHA-256, so
//! memory holds the index of the site, never its bytes. Files of sealed bundles are not
//! written at all: they are linked to their place in the store and published from there.
//!
//! Whoever owns the [`SiteFiles`] decides where it ends: `build` renames the staging
//! folder into place, `seal` moves a period's bundles into its store. A staging folder
//! that is dropped unpublished (an error, a panic) is deleted.

use crate::seal::merkle::Hash;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A file operation that failed, and on which file.
#[derive(Debug, thiserror::Error)]
#[error("{}: {source}", .path.display())]
pub struct WriteError {
    pub path: PathBuf,
    pub source: std::io::Error,
}

fn at(path: &Path) -> impl FnOnce(std::io::Error) -> WriteError + '_ {
    move |source| WriteError {
        path: path.to_owned(),
        source,
    }
}

/// The staging folder: where the files of a site are written as they are made. Safe to
/// write from several threads at once; each file is written by one.
#[derive(Debug)]
pub struct Staging {
    dir: PathBuf,
}

impl Staging {
    /// Creates the folder `dir`, which must not exist.
    pub fn create(dir: PathBuf) -> Result<Staging, WriteError> {
        if let Some(parent) = dir.parent() {
            std::fs::create_dir_all(parent).map_err(at(parent))?;
        }
        std::fs::create_dir(&dir).map_err(at(&dir))?;
        Ok(Staging { dir })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes `bytes` as the site's file `path`; returns their SHA-256.
    pub fn write(&self, path: &Path, bytes: &[u8]) -> Result<Hash, WriteError> {
        let target = self.dir.join(path);
        let mut file = create(&target)?;
        file.write_all(bytes).map_err(at(&target))?;
        Ok(Sha256::digest(bytes).into())
    }

    /// Copies the file `source` as the site's file `path`, hashing it on the way.
    pub fn copy(&self, path: &Path, source: &Path) -> Result<Hash, WriteError> {
        let target = self.dir.join(path);
        let mut from = std::fs::File::open(source).map_err(at(source))?;
        let mut to = HashingWriter {
            file: create(&target)?,
            hasher: Sha256::new(),
        };
        std::io::copy(&mut from, &mut to).map_err(at(source))?;
        Ok(to.hasher.finalize().into())
    }
}

/// Creates the file `target`, and its folder first if it is missing (tried only then:
/// a site has tens of thousands of files in a few thousand folders).
fn create(target: &Path) -> Result<std::fs::File, WriteError> {
    in_folder(target, || std::fs::File::create(target))
}

/// Runs `make`, which makes the file `target`; if its folder is missing, creates the
/// folder and runs `make` again.
pub fn in_folder<T>(target: &Path, make: impl Fn() -> std::io::Result<T>) -> Result<T, WriteError> {
    match make() {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(folder) = target.parent() {
                std::fs::create_dir_all(folder).map_err(at(folder))?;
            }
            make().map_err(at(target))
        }
        made => made.map_err(at(target)),
    }
}

impl Drop for Staging {
    /// A staging folder still there when dropped was never published: nothing of it is
    /// wanted.
    fn drop(&mut self) {
        if self.dir.exists() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

struct HashingWriter {
    file: std::fs::File,
    hasher: Sha256,
}

impl Write for HashingWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let written = self.file.write(bytes)?;
        self.hasher.update(&bytes[..written]);
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// Where a file of the site is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// Written into the staging folder, with this SHA-256.
    Written(Hash),
    /// Published from this file as it is on disk (a sealed store's): never written.
    Linked(PathBuf),
}

impl Entry {
    /// The SHA-256 of a file's bytes.
    pub fn sha256(&self) -> Result<Hash, WriteError> {
        match self {
            Entry::Written(sha256) => Ok(*sha256),
            Entry::Linked(source) => {
                let bytes = std::fs::read(source).map_err(at(source))?;
                Ok(Sha256::digest(bytes).into())
            }
        }
    }
}

/// Every file of a site being built, by path relative to the site.
#[derive(Debug)]
pub struct SiteFiles {
    staging: Staging,
    entries: BTreeMap<PathBuf, Entry>,
}

impl SiteFiles {
    pub fn new(staging: Staging) -> SiteFiles {
        SiteFiles {
            staging,
            entries: BTreeMap::new(),
        }
    }

    pub fn staging(&self) -> &Staging {
        &self.staging
    }

    /// Writes the file `path`, replacing any earlier file of that path.
    pub fn insert(&mut self, path: PathBuf, bytes: &[u8]) -> Result<(), WriteError> {
        let sha256 = self.staging.write(&path, bytes)?;
        self.entries.insert(path, Entry::Written(sha256));
        Ok(())
    }

    /// Records files written into the staging folder elsewhere (by [`Staging::write`]).
    pub fn extend(&mut self, written: impl IntoIterator<Item = (PathBuf, Hash)>) {
        self.entries.extend(
            written
                .into_iter()
                .map(|(path, sha256)| (path, Entry::Written(sha256))),
        );
    }

    /// Publishes the file `source` as `path`, as it is on disk.
    pub fn link(&mut self, path: PathBuf, source: PathBuf) {
        self.entries.insert(path, Entry::Linked(source));
    }

    pub fn contains(&self, path: &Path) -> bool {
        self.entries.contains_key(path)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every file, in path order.
    pub fn iter(&self) -> impl Iterator<Item = (&PathBuf, &Entry)> {
        self.entries.iter()
    }

    /// The files under the folder `dir`, in path order.
    pub fn under<'a>(&'a self, dir: &'a Path) -> impl Iterator<Item = (&'a PathBuf, &'a Entry)> {
        self.entries
            .range(dir.to_path_buf()..)
            .take_while(move |(path, _)| path.starts_with(dir))
    }

    /// Every file, in path order, with where it is on disk now.
    pub fn on_disk(&self) -> impl Iterator<Item = (&PathBuf, PathBuf)> {
        self.entries
            .iter()
            .map(|(path, entry)| (path, self.location(path, entry)))
    }

    fn location(&self, path: &Path, entry: &Entry) -> PathBuf {
        match entry {
            Entry::Written(_) => self.staging.dir.join(path),
            Entry::Linked(source) => source.clone(),
        }
    }

    /// The bytes of the file `path`; `None` if the site has no such file.
    pub fn read(&self, path: &Path) -> Option<Result<Vec<u8>, WriteError>> {
        let location = self.location(path, self.entries.get(path)?);
        Some(std::fs::read(&location).map_err(at(&location)))
    }

    /// Keeps only the files `keep` accepts.
    pub fn retain(&mut self, mut keep: impl FnMut(&Path) -> bool) {
        self.entries.retain(|path, _| keep(path));
    }

    /// Takes the staging folder and the index apart, for whoever publishes them. The
    /// folder is deleted when the returned [`Staging`] is dropped, if still there.
    pub fn into_parts(self) -> (Staging, BTreeMap<PathBuf, Entry>) {
        (self.staging, self.entries)
    }
}
