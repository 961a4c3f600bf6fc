//! Sealed periods (seal.md, "Sealing a period"): a period's signed bundles stored byte
//! for byte under `periods/<period>/sealed/`, and `periods/<period>/seal.lock`, the
//! size and SHA-256 of every other file of the period folder, which must not change.
//!
//! `seal.lock` is text: one line `<64 hex>  <size>  <path>` per file, paths relative to
//! the period folder, `/`-separated, sorted bytewise, LF line ends.

pub mod cache;

pub use cache::Cache;

use crate::error::display_path;
use crate::model::Period;
use crate::seal::keys::hex;
use crate::seal::manifest::parse_hash;
use crate::seal::merkle::Hash;
use crate::site::SiteFiles;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const LOCK: &str = "seal.lock";
pub const STORE: &str = "sealed";
/// Under the store: the public key of every bundle's signer, `<key_id>.pub.pem`.
pub const KEYS: &str = "keys";
/// tallyseal's own folder in a project: the cache of checked files, and a seal's
/// staging folder while it runs. Never committed.
pub const TOOL_DIR: &str = ".tallyseal";

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error(
        "{file}: {change} since period {period} was sealed (see {lock}); a sealed period never changes: put corrections in an open period"
    )]
    InputChanged {
        file: String,
        change: &'static str,
        period: Period,
        lock: String,
    },
    #[error("{lock} line {line}: expected `<sha256>  <size>  <path>`")]
    BadLock { lock: String, line: usize },
    #[error(
        "the sealed bundle {bundle} does not verify: check {check} ({name}): {detail}; a sealed bundle is published as stored and must not be edited"
    )]
    Bundle {
        bundle: String,
        check: u8,
        name: &'static str,
        detail: String,
    },
    #[error(
        "{file} is not part of a sealed bundle: a period's store holds only its bundles and keys/; restore it from version control"
    )]
    Stray { file: String },
    #[error(
        "periods/{period}/sealed exists but periods/{period}/seal.lock does not: restore the period from version control (a sealed store is never replaced), or delete periods/{period}/sealed yourself if none of its bundles was ever published"
    )]
    StoreWithoutLock { period: Period },
    #[error(transparent)]
    Key(#[from] crate::seal::keys::KeyError),
    #[error("{}: {source}", .path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SealError + '_ {
    move |source| SealError::Io {
        path: path.to_owned(),
        source,
    }
}

/// `periods/<period>` of the project at `dir`.
pub fn folder(dir: &Path, period: Period) -> PathBuf {
    dir.join("periods").join(period.to_string())
}

pub fn is_sealed(dir: &Path, period: Period) -> bool {
    folder(dir, period).join(LOCK).is_file()
}

/// One file of a period folder as `seal.lock` records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locked {
    pub path: String,
    pub size: u64,
    pub sha256: Hash,
}

/// Every file of the period folder outside the store and the lock, hashed (unless
/// `cache` knows it unchanged), sorted.
pub fn inputs(dir: &Path, period: Period, cache: &Cache) -> Result<Vec<Locked>, SealError> {
    let root = folder(dir, period);
    let mut files = Vec::new();
    let walk = walkdir::WalkDir::new(&root).into_iter().filter_entry(|e| {
        let name = e.file_name().to_string_lossy();
        e.depth() != 1 || !(name.starts_with(STORE) || name.starts_with(LOCK))
    });
    for entry in walk {
        let entry = entry.map_err(|e| SealError::Io {
            path: e.path().unwrap_or(&root).to_owned(),
            source: e.into(),
        })?;
        if entry.file_type().is_dir() {
            continue;
        }
        let key = entry.path().strip_prefix(dir).unwrap_or(entry.path());
        let (size, sha256) = cache.hash(entry.path(), key).map_err(io(entry.path()))?;
        let relative = entry.path().strip_prefix(&root).unwrap_or(entry.path());
        files.push(Locked {
            path: display_path(relative),
            size,
            sha256,
        });
    }
    files.sort_by(|a, b| a.path.as_bytes().cmp(b.path.as_bytes()));
    Ok(files)
}

pub fn write_lock(files: &[Locked]) -> String {
    files
        .iter()
        .map(|f| format!("{}  {}  {}\n", hex(&f.sha256), f.size, f.path))
        .collect()
}

fn parse_lock(text: &str, lock: &str) -> Result<Vec<Locked>, SealError> {
    text.lines()
        .enumerate()
        .map(|(number, line)| {
            let bad = || SealError::BadLock {
                lock: lock.to_owned(),
                line: number + 1,
            };
            let mut parts = line.splitn(3, "  ");
            let sha256 = parts.next().and_then(parse_hash).ok_or_else(bad)?;
            let size = parts.next().and_then(|s| s.parse().ok()).ok_or_else(bad)?;
            let path = parts.next().filter(|p| !p.is_empty()).ok_or_else(bad)?;
            Ok(Locked {
                path: path.to_owned(),
                size,
                sha256,
            })
        })
        .collect()
}

/// Requires the period's inputs to be exactly those of its `seal.lock`; names the first
/// file changed, added or removed.
pub fn check_inputs(dir: &Path, period: Period, cache: &Cache) -> Result<(), SealError> {
    let lock_path = folder(dir, period).join(LOCK);
    let lock = display_path(lock_path.strip_prefix(dir).unwrap_or(&lock_path));
    let text = std::fs::read_to_string(&lock_path).map_err(io(&lock_path))?;
    let locked: BTreeMap<String, Locked> = parse_lock(&text, &lock)?
        .into_iter()
        .map(|l| (l.path.clone(), l))
        .collect();
    let now: BTreeMap<String, Locked> = inputs(dir, period, cache)?
        .into_iter()
        .map(|l| (l.path.clone(), l))
        .collect();
    let name = |path: &str| format!("periods/{period}/{path}");
    let changed = |path: &str, change| SealError::InputChanged {
        file: name(path),
        change,
        period,
        lock: lock.clone(),
    };
    for (path, was) in &locked {
        match now.get(path) {
            None => return Err(changed(path, "removed")),
            Some(is) if is != was => return Err(changed(path, "changed")),
            Some(_) => {}
        }
    }
    if let Some(path) = now.keys().find(|p| !locked.contains_key(*p)) {
        return Err(changed(path, "added"));
    }
    Ok(())
}

/// Files read back from a store, with their bytes, by path in the site.
pub type ReadBack = BTreeMap<PathBuf, Vec<u8>>;

/// What a sealed period stores: its bundles, by path in the site, and the public keys
/// that signed them, by key id.
#[derive(Debug, Default)]
pub struct Stored {
    /// The files read back (`*.json`, `SHA256SUMS`, `SHA256SUMS.sig`), with their bytes.
    pub files: ReadBack,
    /// Every file, with its place in the store: published as it is on disk; only those
    /// of `files` are ever read into memory.
    pub linked: BTreeMap<PathBuf, PathBuf>,
    pub keys: BTreeMap<String, Vec<u8>>,
}

/// Whether a stored file is read back into memory (see [`Stored`]).
fn read_back(path: &Path) -> bool {
    use crate::seal::manifest::{SIGNATURE, SUMS};
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    name == SUMS || name == SIGNATURE || (name.ends_with(".json") && !name.ends_with(".proof.json"))
}

/// Whether a site path lies in a bundle of `period`: `clients/<id>/<period>/…` or
/// `agency/<period>/…`.
pub fn in_bundle_of(path: &Path, period: Period) -> bool {
    bundle_of(path, period).is_some()
}

/// The bundle folder of `period` holding the site path `path`, if any.
fn bundle_of(path: &Path, period: Period) -> Option<PathBuf> {
    let period = period.to_string();
    let parts: Vec<&std::ffi::OsStr> = path.components().map(|c| c.as_os_str()).collect();
    let depth = match parts.as_slice() {
        [first, _, p, _, ..] if *first == "clients" && *p == period.as_str() => 3,
        [first, p, _, ..] if *first == "agency" && *p == period.as_str() => 2,
        _ => return None,
    };
    Some(parts[..depth].iter().collect())
}

/// Reads the store of a sealed period: nothing but the period's bundles and the public
/// keys that signed them, each bundle holding its `SHA256SUMS` and verifying (checks
/// 1–4 of seal.md, against the keys stored beside them), the agency's among them. A
/// bundle `cache` knows verified and unchanged since is not verified again.
pub fn stored(dir: &Path, period: Period, cache: &Cache) -> Result<Stored, SealError> {
    let root = folder(dir, period).join(STORE);
    let mut stored = Stored::default();
    let mut trusted = Vec::new();
    let mut bundles = std::collections::BTreeSet::new();
    for entry in walkdir::WalkDir::new(&root).sort_by_file_name() {
        let entry = entry.map_err(|e| SealError::Io {
            path: e.path().unwrap_or(&root).to_owned(),
            source: e.into(),
        })?;
        if entry.file_type().is_dir() {
            continue;
        }
        let relative = entry.path().strip_prefix(&root).unwrap_or(entry.path());
        let is_key = relative.parent() == Some(Path::new(KEYS))
            && relative.to_string_lossy().ends_with(".pub.pem");
        if is_key {
            let key = crate::verify::TrustedKey::read(entry.path())?;
            let pem = std::fs::read(entry.path()).map_err(io(entry.path()))?;
            stored.keys.insert(key.key_id.clone(), pem);
            trusted.push(key);
            continue;
        }
        let Some(bundle) = bundle_of(relative, period) else {
            return Err(SealError::Stray {
                file: display_path(entry.path().strip_prefix(dir).unwrap_or(entry.path())),
            });
        };
        bundles.insert(bundle);
        if read_back(relative) {
            let bytes = std::fs::read(entry.path()).map_err(io(entry.path()))?;
            stored.files.insert(relative.to_owned(), bytes);
        }
        stored
            .linked
            .insert(relative.to_owned(), entry.path().to_owned());
    }
    let agency = Path::new("agency").join(period.to_string());
    if !bundles.contains(&agency) {
        return Err(SealError::Stray {
            file: format!("periods/{period}/{STORE}/agency/{period} (missing)"),
        });
    }
    let against = crate::verify::Against {
        keys: &trusted,
        sources: None,
        prev: None,
    };
    for bundle in bundles {
        let listed = listed(&stored.files, &bundle);
        let key = |name: &str| dir_key(dir, &root.join(&bundle).join(name));
        let path = |name: &str| root.join(&bundle).join(name);
        let present: Vec<&Path> = (stored.linked.range(bundle.clone()..))
            .map(|(p, _)| p.as_path())
            .take_while(|p| p.starts_with(&bundle))
            .collect();
        let unchanged = listed.as_ref().is_some_and(|listed| {
            present.len() == listed.len()
                && listed
                    .iter()
                    .all(|(name, _)| cache.is_unchanged(&path(name), &key(name)))
        });
        if unchanged {
            continue;
        }
        let folder = root.join(&bundle);
        let report = crate::verify::verify(&folder, against, |_| {});
        if let Some(failed) = report.failure() {
            return Err(SealError::Bundle {
                bundle: display_path(folder.strip_prefix(dir).unwrap_or(&folder)),
                check: failed.number,
                name: failed.name,
                detail: failed.detail.clone(),
            });
        }
        for (name, sha256) in listed.into_iter().flatten() {
            cache.record_now(&path(&name), &key(&name), sha256);
        }
    }
    Ok(stored)
}

/// Every file of a stored bundle (paths relative to it) with its SHA-256: those its
/// `SHA256SUMS` lists, and the manifest and signature themselves.
fn listed(files: &ReadBack, bundle: &Path) -> Option<Vec<(String, Hash)>> {
    use crate::seal::manifest::{SIGNATURE, SUMS};
    use sha2::{Digest, Sha256};
    let sums = files.get(&bundle.join(SUMS))?;
    let signature = files.get(&bundle.join(SIGNATURE))?;
    let mut listed: Vec<(String, Hash)> = crate::seal::manifest::parse(sums)
        .ok()?
        .into_iter()
        .map(|e| (e.path, e.sha256))
        .collect();
    listed.push((SUMS.to_owned(), Sha256::digest(sums).into()));
    listed.push((SIGNATURE.to_owned(), Sha256::digest(signature).into()));
    Some(listed)
}

/// `path` relative to the project at `dir`: the cache's key.
fn dir_key(dir: &Path, path: &Path) -> PathBuf {
    path.strip_prefix(dir).unwrap_or(path).to_owned()
}

/// Stores `files` (the sealed period's bundles, by path in the site) and the signer's
/// public key, then writes `seal.lock`. Everything is written beside its place and
/// renamed into it, the lock last, so a period is sealed only once all is in place.
pub fn store(
    dir: &Path,
    period: Period,
    files: &SiteFiles,
    key_id: &str,
    public_pem: &str,
) -> Result<(), SealError> {
    let root = folder(dir, period).join(STORE);
    if root.exists() {
        return Err(SealError::StoreWithoutLock { period });
    }
    let staging = folder(dir, period).join(format!("{STORE}.partial"));
    if staging.exists() {
        // Left by a seal that did not finish: never published, never locked.
        std::fs::remove_dir_all(&staging).map_err(io(&staging))?;
    }
    let place = |path: &Path| {
        let target = staging.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        Ok::<_, SealError>(target)
    };
    for (path, source) in files.on_disk() {
        let target = place(path)?;
        if std::fs::hard_link(&source, &target).is_err() {
            std::fs::copy(&source, &target).map_err(io(&target))?;
        }
    }
    let key_path = place(&Path::new(KEYS).join(format!("{key_id}.pub.pem")))?;
    std::fs::write(&key_path, public_pem).map_err(io(&key_path))?;
    std::fs::rename(&staging, &root).map_err(io(&root))?;
    let lock = write_lock(&inputs(dir, period, &Cache::none())?);
    let lock_path = folder(dir, period).join(LOCK);
    let partial = folder(dir, period).join(format!("{LOCK}.partial"));
    std::fs::write(&partial, lock).map_err(io(&partial))?;
    std::fs::rename(&partial, &lock_path).map_err(io(&lock_path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_reads_back() {
        let files = vec![Locked {
            path: "exports/a b.csv".into(),
            size: 12,
            sha256: [7u8; 32],
        }];
        let text = write_lock(&files);
        assert_eq!(text, format!("{}  12  exports/a b.csv\n", "07".repeat(32)));
        assert_eq!(parse_lock(&text, "seal.lock").unwrap(), files);
        assert!(parse_lock("xyz  1  a\n", "seal.lock").is_err());
    }
}
