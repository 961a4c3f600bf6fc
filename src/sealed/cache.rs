//! The size-and-mtime cache of sealed files (seal.md): as git's index does, a file
//! whose size and modification time match its last check is not re-hashed, and a sealed
//! bundle whose [`Stamp`] matches its last verification is not verified again.
//!
//! It lives in `<project>/.tallyseal/checked`, one line per file or folder checked:
//! `<sha256>  <size>  <mtime ns>  <checked ns>  <path>`, the path relative to the
//! project (absolute for the built site's copy of a bundle, outside it). For a folder,
//! the first three are its [`Stamp`]: a hash, a count and the newest modification time
//! of what it stamps. An entry is trusted only if the file (everything the folder's
//! stamp covers) was last modified at least a second before it was checked, so a write
//! in the same instant as a check is never missed (git's "racily clean" rule). The cache
//! is a hint: one that cannot be read is empty, one that cannot be written is skipped,
//! and `check --deep` ignores it.

use super::listing::Stamp;
use crate::seal::keys::hex;
use crate::seal::manifest::{hash_file, parse_hash};
use crate::seal::merkle::Hash;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// Where the cache lives, relative to the project.
pub const FILE: &str = ".tallyseal/checked";

/// Nanoseconds a file must predate its check to be trusted.
const RACY_NS: i128 = 1_000_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    size: u64,
    mtime: i128,
    checked: i128,
    sha256: Hash,
}

/// The cache of one project.
#[derive(Debug, Default)]
pub struct Cache {
    /// The project; `None` for a cache that is never read nor written.
    dir: Option<PathBuf>,
    /// By path relative to the project (a hash map: tens of thousands of lookups a
    /// build; written back sorted).
    entries: hashbrown::HashMap<PathBuf, Entry>,
    /// Entries recorded by this run, merged in when it is saved; behind a lock, so that
    /// sealed periods are checked on every core at once.
    recorded: std::sync::Mutex<Vec<(PathBuf, Entry)>>,
}

impl Cache {
    /// The project's cache, empty if there is none or it cannot be read.
    pub fn open(dir: &Path) -> Cache {
        let text = std::fs::read_to_string(dir.join(FILE)).unwrap_or_default();
        let entries = text.lines().filter_map(parse_line).collect();
        Cache {
            dir: Some(dir.to_owned()),
            entries,
            recorded: Default::default(),
        }
    }

    /// A cache that trusts nothing and records nothing: every file is hashed.
    pub fn none() -> Cache {
        Cache::default()
    }

    /// The size and SHA-256 of the file at `path` (`key`: relative to the project), from
    /// the cache when its size and modification time match, else hashed and recorded.
    pub fn hash(&self, path: &Path, key: &Path) -> std::io::Result<(u64, Hash)> {
        if let Some(entry) = self.unchanged(path, key) {
            return Ok((entry.size, entry.sha256));
        }
        let checked = now();
        let (size, sha256) = hash_file(path)?;
        self.record(path, key, sha256, checked);
        Ok((size, sha256))
    }

    /// Whether the folder `key` (relative to the project, or absolute outside it) is
    /// as it was when [`Cache::record_stamp`] recorded `stamp` for it.
    pub fn vouches_for(&self, key: &Path, stamp: &Stamp) -> bool {
        self.dir.is_some()
            && self.entries.get(key).is_some_and(|was| {
                (was.sha256, was.size, was.mtime) == (stamp.hash, stamp.count, stamp.newest)
                    && was.mtime + RACY_NS <= was.checked
            })
    }

    /// Records the folder `key` as stamped `stamp` when checked at `checked` (ns since
    /// the epoch).
    pub fn record_stamp(&self, key: &Path, stamp: &Stamp, checked: i128) {
        if self.dir.is_some() {
            let entry = Entry {
                size: stamp.count,
                mtime: stamp.newest,
                checked,
                sha256: stamp.hash,
            };
            self.push(key, entry);
        }
    }

    fn unchanged(&self, path: &Path, key: &Path) -> Option<Entry> {
        self.dir.as_ref()?;
        let entry = self.entries.get(key)?;
        let (size, mtime) = stat(path)?;
        (entry.size == size && entry.mtime == mtime && mtime + RACY_NS <= entry.checked)
            .then_some(*entry)
    }

    fn record(&self, path: &Path, key: &Path, sha256: Hash, checked: i128) {
        if self.dir.is_none() {
            return;
        }
        if let Some((size, mtime)) = stat(path) {
            self.push(
                key,
                Entry {
                    size,
                    mtime,
                    checked,
                    sha256,
                },
            );
        }
    }

    fn push(&self, key: &Path, entry: Entry) {
        if self.entries.get(key) != Some(&entry)
            && let Ok(mut recorded) = self.recorded.lock()
        {
            recorded.push((key.to_owned(), entry));
        }
    }

    /// Writes the cache back if anything was recorded; best effort.
    pub fn save(mut self) {
        let Some(dir) = self.dir.take() else { return };
        let recorded = self.recorded.into_inner().unwrap_or_default();
        if recorded.is_empty() {
            return;
        }
        self.entries.extend(recorded);
        let mut sorted: Vec<_> = self.entries.iter().collect();
        sorted.sort_by(|a, b| a.0.cmp(b.0));
        let text: String = sorted
            .into_iter()
            .filter_map(|(path, e)| {
                let path = path.to_str()?;
                (!path.contains('\n')).then(|| {
                    format!(
                        "{}  {}  {}  {}  {path}\n",
                        hex(&e.sha256),
                        e.size,
                        e.mtime,
                        e.checked
                    )
                })
            })
            .collect();
        let file = dir.join(FILE);
        let partial = dir.join(format!("{FILE}.partial"));
        let written = file
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&partial, text))
            .and_then(|()| std::fs::rename(&partial, &file));
        if written.is_err() {
            let _ = std::fs::remove_file(&partial);
        }
    }
}

fn parse_line(line: &str) -> Option<(PathBuf, Entry)> {
    let mut parts = line.splitn(5, "  ");
    let sha256 = parse_hash(parts.next()?)?;
    let size = parts.next()?.parse().ok()?;
    let mtime = parts.next()?.parse().ok()?;
    let checked = parts.next()?.parse().ok()?;
    let path = PathBuf::from(parts.next()?);
    let entry = Entry {
        size,
        mtime,
        checked,
        sha256,
    };
    Some((path, entry))
}

/// Size and modification time (ns since the epoch) of a regular file.
fn stat(path: &Path) -> Option<(u64, i128)> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    if !meta.is_file() {
        return None;
    }
    Some((meta.len(), nanos(meta.modified().ok()?)))
}

pub(super) fn nanos(time: SystemTime) -> i128 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => after.as_nanos() as i128,
        Err(before) => -(before.duration().as_nanos() as i128),
    }
}

pub fn now() -> i128 {
    nanos(SystemTime::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_rehashed_only_when_its_size_or_mtime_changes() {
        let temp = tempfile::tempdir().unwrap();
        let file = temp.path().join("a.csv");
        std::fs::write(&file, "one\n").unwrap();
        let old = SystemTime::now() - std::time::Duration::from_secs(60);
        let set_mtime = |t: SystemTime| {
            let f = std::fs::File::options().write(true).open(&file).unwrap();
            f.set_modified(t).unwrap();
        };
        set_mtime(old);
        let key = Path::new("a.csv");
        let cache = Cache::open(temp.path());
        let first = cache.hash(&file, key).unwrap();
        cache.save();

        // Same size and mtime, other bytes: the cache answers (that is its contract).
        std::fs::write(&file, "two\n").unwrap();
        set_mtime(old);
        let cache = Cache::open(temp.path());
        assert!(cache.unchanged(&file, key).is_some());
        assert_eq!(cache.hash(&file, key).unwrap(), first);

        // A new mtime: re-hashed.
        set_mtime(old + std::time::Duration::from_secs(1));
        assert!(cache.unchanged(&file, key).is_none());
        assert_ne!(cache.hash(&file, key).unwrap(), first);

        // A file written in the instant it is checked is never trusted.
        std::fs::write(&file, "three\n").unwrap();
        let cache = Cache::open(temp.path());
        cache.hash(&file, key).unwrap();
        assert!(cache.unchanged(&file, key).is_none());

        // No cache: nothing trusted.
        assert!(Cache::none().unchanged(&file, key).is_none());
    }

    #[test]
    fn a_folder_is_vouched_for_only_as_stamped_and_never_in_the_instant_it_changed() {
        let temp = tempfile::tempdir().unwrap();
        let key = Path::new("bundle");
        let stamp = |hash: u8, newest: i128| Stamp {
            hash: [hash; 32],
            count: 3,
            newest,
        };
        let checked = now();
        let recent = stamp(1, checked - RACY_NS / 2);
        let older = stamp(1, checked - 60 * RACY_NS);

        let cache = Cache::open(temp.path());
        assert!(!cache.vouches_for(key, &older));
        cache.record_stamp(key, &recent, checked);
        cache.record_stamp(Path::new("other"), &older, checked);
        cache.save();
        let cache = Cache::open(temp.path());
        // Changed less than a second before it was checked: not trusted.
        assert!(!cache.vouches_for(key, &recent));
        assert!(cache.vouches_for(Path::new("other"), &older));
        assert!(!cache.vouches_for(Path::new("other"), &stamp(2, older.newest)));
        assert!(!cache.vouches_for(Path::new("other"), &Stamp { count: 4, ..older }));
        assert!(!Cache::none().vouches_for(Path::new("other"), &older));
    }
}
