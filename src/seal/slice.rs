//! Client slices (seal.md): the header leaf of a raw export followed by one client's
//! data leaves, in file order, read from the export by position, and the multiproof
//! that ties them to the export's root. The slice is a valid CSV that holds the
//! client's rows exactly as exported and nothing of anyone else's.

use super::keys::hex;
use super::merkle::leaf_hash;
use super::proof::Proof;
use crate::error::display_path;
use crate::model::{ExportFile, LeafClass};
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// A client's slice of one export and its proof.
#[derive(Debug, Clone)]
pub struct Slice {
    pub bytes: Vec<u8>,
    pub proof: Proof,
}

/// The slice of `export` (read from `path`, named after its source `source`) holding
/// the data leaves `leaves` (indices, in any order) and the header leaf. Adjacent leaves
/// are read in one piece.
pub fn slice(
    path: &Path,
    export: &ExportFile,
    source: &str,
    leaves: &[u64],
) -> std::io::Result<Slice> {
    let header = export
        .leaf_classes
        .iter()
        .position(|c| *c == LeafClass::Header);
    let mut wanted: Vec<usize> = header
        .into_iter()
        .chain(leaves.iter().map(|l| *l as usize))
        .collect();
    wanted.sort_unstable();
    wanted.dedup();
    let mut runs: Vec<std::ops::Range<u64>> = Vec::new();
    for leaf in &wanted {
        let range = export.leaf_range(*leaf);
        match runs.last_mut() {
            Some(last) if last.end == range.start => last.end = range.end,
            _ => runs.push(range),
        }
    }
    let mut file = std::fs::File::open(path)?;
    let mut bytes = Vec::with_capacity(runs.iter().map(|r| (r.end - r.start) as usize).sum());
    for run in runs {
        file.seek(SeekFrom::Start(run.start))?;
        let before = bytes.len();
        (&mut file)
            .take(run.end - run.start)
            .read_to_end(&mut bytes)?;
        if (bytes.len() - before) as u64 != run.end - run.start {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the file is shorter than when it was read: it changed during the build",
            ));
        }
    }
    // The bytes read now must be the leaves hashed at ingest, or the proof would not
    // hold: a file changed in between, even keeping its length, stops here.
    let mut at = 0usize;
    for leaf in &wanted {
        let range = export.leaf_range(*leaf);
        let end = at + (range.end - range.start) as usize;
        if export.tree.leaf(*leaf) != Some(&leaf_hash(&bytes[at..end])) {
            return Err(std::io::Error::other(
                "the file changed since it was read: it changed during the build",
            ));
        }
        at = end;
    }
    let proof = Proof {
        source: source.to_owned(),
        file: display_path(&export.path),
        size: export.size,
        sha256: hex(&export.sha256),
        leaves: export.leaf_count() as u64,
        root: hex(&export.tree.root()),
        included: wanted
            .iter()
            .map(|l| {
                let range = export.leaf_range(*l);
                (*l as u64, range.end - range.start)
            })
            .collect(),
        subtrees: Proof::from_subtrees(&export.tree.multiproof(&wanted)),
    };
    Ok(Slice { bytes, proof })
}
