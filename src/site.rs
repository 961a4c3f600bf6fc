//! The site being built, on disk from its first file: each file is written into a
//! staging folder the moment it is made and remembered only by its path and SHA-256, so
//! memory holds the index of the site, never its bytes. Sealed bundles are not written
//! at all: each is linked, as a folder, to its place in the store and published from
//! there.
//!
//! Whoever owns the [`SiteFiles`] decides where it ends: `build` renames the staging
//! folder into place, `seal` moves a period's bundles into its store. A staging folder
//! that is dropped unpublished (an error, a panic) is deleted.

use crate::seal::merkle::Hash;
use crate::sealed::Listing;
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
        self.write_pieces(path, [bytes])
    }

    /// Writes `pieces`, one after another, as the site's file `path`; returns its
    /// SHA-256.
    pub fn write_pieces(
        &self,
        path: &Path,
        pieces: impl IntoIterator<Item = impl AsRef<[u8]>>,
    ) -> Result<Hash, WriteError> {
        let mut file = self.file(path)?;
        for piece in pieces {
            // Past the buffer: each piece is written as it is.
            (file.out.get_mut().write_all(piece.as_ref())).map_err(at(&file.target))?;
        }
        file.finish()
    }

    /// Copies the file `source` as the site's file `path`, hashing it on the way.
    pub fn copy(&self, path: &Path, source: &Path) -> Result<Hash, WriteError> {
        let mut from = std::fs::File::open(source).map_err(at(source))?;
        let mut to = self.file(path)?;
        std::io::copy(&mut from, &mut to).map_err(|e| match WriteError::take(e) {
            Ok(written) => written,
            Err(read) => at(source)(read),
        })?;
        to.finish()
    }

    /// Creates the site's file `path`, to be written a piece at a time.
    pub fn file(&self, path: &Path) -> Result<StagedFile, WriteError> {
        let target = self.dir.join(path);
        let file = create(&target)?;
        let hashing = HashingWriter {
            file,
            hasher: Sha256::new(),
        };
        Ok(StagedFile {
            out: std::io::BufWriter::with_capacity(1 << 16, hashing),
            target,
        })
    }
}

/// A file of the site being written a piece at a time, through a buffer, and hashed
/// as each piece leaves it: never held whole in memory. Its errors are
/// [`std::io::Error`]s that carry the [`WriteError`] naming the file
/// ([`WriteError::take`] takes it back out).
pub struct StagedFile {
    out: std::io::BufWriter<HashingWriter>,
    target: PathBuf,
}

impl StagedFile {
    /// Writes what is left in the buffer; returns the file's SHA-256.
    pub fn finish(self) -> Result<Hash, WriteError> {
        let written = (self.out.into_inner()).map_err(|e| at(&self.target)(e.into_error()))?;
        Ok(written.hasher.finalize().into())
    }

    fn failed(&self, source: std::io::Error) -> std::io::Error {
        std::io::Error::new(source.kind(), at(&self.target)(source))
    }
}

impl Write for StagedFile {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.out.write(bytes).map_err(|e| self.failed(e))
    }

    fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.out.write_all(bytes).map_err(|e| self.failed(e))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush().map_err(|e| self.failed(e))
    }
}

impl WriteError {
    /// The [`WriteError`] an error of a [`StagedFile`] carries; any other error as it
    /// is (it came from elsewhere: what was being read, say).
    pub fn take(error: std::io::Error) -> Result<WriteError, std::io::Error> {
        if !(error.get_ref()).is_some_and(|inner| inner.is::<WriteError>()) {
            return Err(error);
        }
        let inner = error
            .into_inner()
            .expect("it carries an error, checked above");
        Ok(*inner
            .downcast::<WriteError>()
            .expect("a WriteError, checked above"))
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

/// Deletes the folders of `dir` named `<prefix><pid>` whose process is gone: staging
/// folders of builds or seals killed before they could clean up (a destructor does not
/// run on `SIGKILL`). Only where `/proc` tells which processes are alive; best effort.
pub fn sweep_abandoned(dir: &Path, prefix: &str) {
    let proc = Path::new("/proc");
    if !proc.join("self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let pid = (name.to_str())
            .and_then(|name| name.strip_prefix(prefix))
            .and_then(|pid| pid.parse::<u32>().ok());
        let gone = pid.is_some_and(|pid| !proc.join(pid.to_string()).exists());
        if gone && entry.file_type().is_ok_and(|t| t.is_dir()) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
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

/// A file, hashed as it is written.
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

/// Every file of a site being built, by path relative to the site: those written into
/// the staging folder, and the sealed bundles published as they are on disk.
#[derive(Debug)]
pub struct SiteFiles {
    staging: Staging,
    /// Written into the staging folder, with their SHA-256.
    written: BTreeMap<PathBuf, Hash>,
    /// Folders published whole from where they are (a sealed store's bundles, whose
    /// bytes never change), by folder in the site: never written, never read but for
    /// what [`SiteFiles::read`] is asked.
    linked: BTreeMap<PathBuf, Listing>,
}

impl SiteFiles {
    pub fn new(staging: Staging) -> SiteFiles {
        SiteFiles {
            staging,
            written: BTreeMap::new(),
            linked: BTreeMap::new(),
        }
    }

    pub fn staging(&self) -> &Staging {
        &self.staging
    }

    /// Writes the file `path`, replacing any earlier file of that path.
    pub fn insert(&mut self, path: PathBuf, bytes: &[u8]) -> Result<(), WriteError> {
        let sha256 = self.staging.write(&path, bytes)?;
        self.written.insert(path, sha256);
        Ok(())
    }

    /// Records files written into the staging folder elsewhere (by [`Staging::write`]).
    pub fn extend(&mut self, written: impl IntoIterator<Item = (PathBuf, Hash)>) {
        self.written.extend(written);
    }

    /// Publishes the folder `listing` lists as the site's folder `folder`, as it is on
    /// disk.
    pub fn link(&mut self, folder: PathBuf, listing: Listing) {
        self.linked.insert(folder, listing);
    }

    pub fn contains(&self, path: &Path) -> bool {
        self.written.contains_key(path) || self.linked_file(path).is_some()
    }

    pub fn len(&self) -> usize {
        self.written.len() + self.linked.values().map(|l| l.files.len()).sum::<usize>()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every file written, in path order.
    pub fn written(&self) -> impl Iterator<Item = (&PathBuf, &Hash)> {
        self.written.iter()
    }

    /// The files written under the folder `dir`, in path order.
    pub fn under<'a>(&'a self, dir: &'a Path) -> impl Iterator<Item = (&'a PathBuf, &'a Hash)> {
        self.written
            .range(dir.to_path_buf()..)
            .take_while(move |(path, _)| path.starts_with(dir))
    }

    /// Every file, written ones in path order then linked ones, with where it is on disk.
    pub fn on_disk(&self) -> impl Iterator<Item = (PathBuf, PathBuf)> {
        let written = (self.written.keys()).map(|path| (path.clone(), self.staging.dir.join(path)));
        let linked = self.linked.iter().flat_map(|(folder, listing)| {
            (listing.on_disk()).map(move |(name, source)| (folder.join(name), source))
        });
        written.chain(linked)
    }

    /// Where the file `path` of a linked folder is on disk, if it is one.
    fn linked_file(&self, path: &Path) -> Option<PathBuf> {
        let (folder, listing) = self.linked.range(..=path.to_path_buf()).next_back()?;
        let relative = path.strip_prefix(folder).ok()?;
        listing.file(&crate::error::display_path(relative))
    }

    /// The bytes of the file `path`; `None` if the site has no such file.
    pub fn read(&self, path: &Path) -> Option<Result<Vec<u8>, WriteError>> {
        let location = match self.written.contains_key(path) {
            true => self.staging.dir.join(path),
            false => self.linked_file(path)?,
        };
        Some(std::fs::read(&location).map_err(at(&location)))
    }

    /// Keeps only the files and linked folders `keep` accepts.
    pub fn retain(&mut self, mut keep: impl FnMut(&Path) -> bool) {
        self.written.retain(|path, _| keep(path));
        self.linked.retain(|folder, _| keep(folder));
    }

    /// Takes the staging folder and the linked folders apart, for whoever publishes
    /// them. The staging folder is deleted when the returned [`Staging`] is dropped, if
    /// still there.
    pub fn into_parts(self) -> (Staging, BTreeMap<PathBuf, Listing>) {
        (self.staging, self.linked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A staged file that cannot be written (here `/dev/full`, where every write fails
    /// as on a full disk) fails with an error that names it, taken back out of the
    /// `std::io::Error` it travels in; an error from elsewhere is left as it is.
    #[test]
    #[cfg(target_os = "linux")]
    fn a_staged_file_that_cannot_be_written_is_named() {
        let temp = tempfile::tempdir().unwrap();
        let staging = Staging::create(temp.path().join("site")).unwrap();
        std::os::unix::fs::symlink("/dev/full", staging.dir().join("full.csv")).unwrap();
        let mut file = staging.file(Path::new("full.csv")).unwrap();
        // Larger than the buffer: written at once, and failing at once.
        let error = file.write_all(&vec![b'x'; 1 << 17]).unwrap_err();
        let named = WriteError::take(error).expect("it carries the file's name");
        assert_eq!(named.path, staging.dir().join("full.csv"));
        assert_eq!(named.source.kind(), std::io::ErrorKind::StorageFull);
        let other = std::io::Error::other("read failed");
        assert!(WriteError::take(other).is_err());
        // What is left in the buffer fails when finished, named too.
        let mut file = staging.file(Path::new("full.csv")).unwrap();
        file.write_all(b"a few bytes").unwrap();
        let named = file.finish().unwrap_err();
        assert_eq!(named.path, staging.dir().join("full.csv"));
    }
}
