//! Sealed periods (seal.md, "Sealing a period"): a period's signed bundles stored byte
//! for byte under `periods/<period>/sealed/`, and `periods/<period>/seal.lock`, the
//! size and SHA-256 of every other file of the period folder, which must not change.
//!
//! `seal.lock` is text: one line `<64 hex>  <size>  <path>` per file, paths relative to
//! the period folder, `/`-separated, sorted bytewise, LF line ends.

pub mod cache;
pub mod listing;

pub use cache::Cache;
pub use listing::{Listing, Stamp};

use crate::error::display_path;
use crate::model::Period;
use crate::seal::keys::hex;
use crate::seal::manifest::{SIGNATURE, SUMS, parse_hash};
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

/// Sealed periods read ahead by [`read_all`], by period.
pub type Stores = BTreeMap<Period, Result<Stored, SealError>>;

/// Checks and reads every sealed period of the project at `dir` (each `periods/<period>`
/// holding a `seal.lock`), on every core at once: see [`read`]. It needs nothing of the
/// loaded project, so `build` runs it while the open periods' exports are parsed; what
/// else `periods/` holds is the loader's to report.
pub fn read_all(dir: &Path) -> Stores {
    use rayon::prelude::*;
    let entries = std::fs::read_dir(dir.join("periods")).into_iter().flatten();
    let periods: Vec<Period> = entries
        .filter_map(|entry| Period::parse(entry.ok()?.file_name().to_str()?))
        .filter(|period| is_sealed(dir, *period))
        .collect();
    let cache = Cache::open(dir);
    let stores = periods
        .into_par_iter()
        .map(|period| (period, read(dir, period, &cache)))
        .collect();
    cache.save();
    stores
}

/// A sealed period's inputs checked against its `seal.lock`, and its store read.
pub fn read(dir: &Path, period: Period, cache: &Cache) -> Result<Stored, SealError> {
    check_inputs(dir, period, cache)?;
    stored(dir, period, cache)
}

/// Files read back from a store, with their bytes, by path in the site.
pub type ReadBack = BTreeMap<PathBuf, Vec<u8>>;

/// What a sealed period stores: its bundles, by folder in the site, and the public keys
/// that signed them, by key id.
#[derive(Debug, Default)]
pub struct Stored {
    /// The files read back (`*.json` but proofs, and `SHA256SUMS`), with their bytes.
    pub files: ReadBack,
    /// Every bundle, by its folder in the site, as it lies in the store: published as it
    /// is on disk; only the files of `files` are ever read into memory.
    pub bundles: Vec<(PathBuf, Listing)>,
    pub keys: BTreeMap<String, Vec<u8>>,
}

/// Whether a stored file is read back into memory (see [`Stored`]).
fn read_back(name: &str) -> bool {
    let base = name.rsplit('/').next().unwrap_or(name);
    base == SUMS || (base.ends_with(".json") && !base.ends_with(".proof.json"))
}

/// Whether a site path lies in a bundle of `period`: `clients/<id>/<period>/…` or
/// `agency/<period>/…`.
pub fn in_bundle_of(path: &Path, period: Period) -> bool {
    let period = period.to_string();
    let parts: Vec<&std::ffi::OsStr> = path.components().map(|c| c.as_os_str()).collect();
    match parts.as_slice() {
        [first, _, p, _, ..] if *first == "clients" => *p == period.as_str(),
        [first, p, _, ..] if *first == "agency" => *p == period.as_str(),
        _ => false,
    }
}

/// Reads the store of a sealed period: nothing but the period's bundles and the public
/// keys that signed them, each bundle verifying (checks 1–4 of seal.md, against the
/// keys stored beside them), the agency's among them. A bundle whose [`Stamp`] `cache`
/// recorded when it last verified is not verified again.
pub fn stored(dir: &Path, period: Period, cache: &Cache) -> Result<Stored, SealError> {
    let root = folder(dir, period).join(STORE);
    let (bundles, key_files) = layout(dir, &root, period)?;

    let mut stored = Stored::default();
    let mut trusted = Vec::new();
    for path in key_files {
        let key = crate::verify::TrustedKey::read(&path)?;
        let pem = std::fs::read(&path).map_err(io(&path))?;
        stored.keys.insert(key.key_id.clone(), pem);
        trusted.push(key);
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
        let folder = root.join(&bundle);
        let key = folder.strip_prefix(dir).unwrap_or(&folder);
        // Its manifest names its files: stamped without reading a directory, and if
        // the cache vouches for that stamp, not verified again.
        let mut sums = read_file(&folder.join(SUMS)).ok();
        let vouched = (sums.as_deref())
            .and_then(|sums| crate::seal::manifest::parse(sums).ok())
            .map(|listed| listed.into_iter().map(|entry| entry.path))
            .map(|names| {
                names
                    .chain([SUMS.to_owned(), SIGNATURE.to_owned()])
                    .collect()
            })
            .and_then(|names| Listing::named(&folder, names).ok())
            .filter(|listing| cache.vouches_for(key, &listing.stamp));
        let listing = match vouched {
            Some(listing) => listing,
            None => {
                let listing = Listing::of(&folder).map_err(io(&folder))?;
                if listing.files.is_empty() {
                    continue;
                }
                let report = crate::verify::verify(&folder, against, |_| {});
                if let Some(failed) = report.failure() {
                    return Err(SealError::Bundle {
                        bundle: display_path(key),
                        check: failed.number,
                        name: failed.name,
                        detail: failed.detail.clone(),
                    });
                }
                cache.record_stamp(key, &listing.stamp, listing.listed_at);
                // Read back as verified, not as first read.
                sums = None;
                listing
            }
        };
        for (name, path) in listing.on_disk().filter(|(name, _)| read_back(name)) {
            let bytes = match sums.take_if(|_| name == SUMS) {
                Some(sums) => sums,
                None => read_file(&path).map_err(io(&path))?,
            };
            stored.files.insert(bundle.join(name), bytes);
        }
        stored.bundles.push((bundle, listing));
    }
    Ok(stored)
}

/// The bytes of the regular file at `path`; anything else (a pipe, a device, a link)
/// is refused before it is opened.
fn read_file(path: &Path) -> std::io::Result<Vec<u8>> {
    if !std::fs::symlink_metadata(path)?.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    std::fs::read(path)
}

/// The bundle folders of the store at `root` (relative to it, sorted:
/// `agency/<period>`, `clients/<id>/<period>`) and its public keys (`keys/*.pub.pem`);
/// a file anywhere else in it is a stray (an empty folder is nothing).
fn layout(
    dir: &Path,
    root: &Path,
    period: Period,
) -> Result<(Vec<PathBuf>, Vec<PathBuf>), SealError> {
    let named = |path: &Path| SealError::Stray {
        file: display_path(path.strip_prefix(dir).unwrap_or(path)),
    };
    // The first file at or under `path`, if any, is a stray.
    let stray = |path: &Path| -> Result<(), SealError> {
        for entry in walkdir::WalkDir::new(path).sort_by_file_name() {
            let entry = entry.map_err(|e| SealError::Io {
                path: e.path().unwrap_or(path).to_owned(),
                source: e.into(),
            })?;
            if !entry.file_type().is_dir() {
                return Err(named(entry.path()));
            }
        }
        Ok(())
    };
    // A folder's entries, sorted, each with whether it is a folder.
    let entries = |folder: &Path| -> Result<Vec<(String, bool)>, SealError> {
        let mut entries = Vec::new();
        for entry in std::fs::read_dir(folder).map_err(io(folder))? {
            let entry = entry.map_err(io(folder))?;
            let is_dir = entry.file_type().map_err(io(folder))?.is_dir();
            match entry.file_name().into_string() {
                Ok(name) => entries.push((name, is_dir)),
                Err(_) => return Err(named(&entry.path())),
            }
        }
        entries.sort();
        Ok(entries)
    };
    let period = period.to_string();
    let (mut bundles, mut keys) = (Vec::new(), Vec::new());
    for (name, is_dir) in entries(root)? {
        let path = root.join(&name);
        match name.as_str() {
            KEYS if is_dir => {
                for (key, is_dir) in entries(&path)? {
                    if is_dir || !key.ends_with(".pub.pem") {
                        stray(&path.join(key))?;
                    } else {
                        keys.push(path.join(key));
                    }
                }
            }
            "agency" if is_dir => {
                for (name, is_dir) in entries(&path)? {
                    if !is_dir || name != period {
                        stray(&path.join(name))?;
                    } else {
                        bundles.push(Path::new("agency").join(name));
                    }
                }
            }
            "clients" if is_dir => {
                for (client, is_dir) in entries(&path)? {
                    if !is_dir {
                        stray(&path.join(client))?;
                        continue;
                    }
                    for (name, is_dir) in entries(&path.join(&client))? {
                        if !is_dir || name != period {
                            stray(&path.join(&client).join(name))?;
                        } else {
                            bundles.push(Path::new("clients").join(&client).join(name));
                        }
                    }
                }
            }
            _ => stray(&path)?,
        }
    }
    Ok((bundles, keys))
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
        let target = place(&path)?;
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
    fn a_path_is_in_a_bundle_of_its_period_at_any_depth() {
        let period = Period::parse("2026-10").unwrap();
        let inside = |path: &str| in_bundle_of(Path::new(path), period);
        assert!(inside("clients/acme/2026-10/index.html"));
        assert!(inside("clients/acme/2026-10/data/e.csv"));
        assert!(inside("agency/2026-10/sources.json"));
        assert!(inside("agency/2026-10/lines/x/y.csv"));
        assert!(!inside("clients/acme/2026-11/index.html"));
        assert!(!inside("clients/acme/2026-10"));
        assert!(!inside("clients/acme/index.html"));
        assert!(!inside("agency/2026-11/sources.json"));
        assert!(!inside("other/2026-10/x/y"));
    }

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
