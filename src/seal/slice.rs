//! Client slices (seal.md): the header leaf of a raw export followed by one client's
//! data leaves, in file order, read from the export by position, and the multiproof
//! that ties them to the export's root. The slice is a valid CSV that holds the
//! client's rows exactly as exported and nothing of anyone else's.

use super::keys::hex;
use super::merkle::{BLOCK, Hash, leaf_hash};
use super::proof::Proof;
use crate::error::display_path;
use crate::model::{ExportFile, LeafClass};
use std::io::{Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::Path;

/// Reads from `path` every block of `export`'s tree that holds one of the leaves
/// `wanted` (sorted, each once), adjacent blocks in one piece of at most 16,384 leaves,
/// and re-hashes its leaves:
/// calls `each(leaf, hash, bytes)` for every leaf of those blocks, in order, and fails
/// if a block's leaves are not those hashed when the export was read (the file changed
/// since, even keeping its length), or with the first error `each` returns.
pub fn read_blocks(
    path: &Path,
    export: &ExportFile,
    wanted: &[usize],
    mut each: impl FnMut(usize, Hash, &[u8]) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let tree = &export.tree;
    // Runs of adjacent blocks holding a wanted leaf, as leaf ranges.
    let mut runs: Vec<Range<usize>> = Vec::new();
    // A run is read into memory: it stops at RUN leaves, whatever the file holds.
    const RUN: usize = 1 << 14;
    for leaf in wanted {
        let block = tree.block_of(*leaf);
        match runs.last_mut() {
            Some(last) if block.start < last.end => {}
            Some(last) if block.start == last.end && last.len() < RUN => last.end = block.end,
            _ => runs.push(block),
        }
    }
    let mut file = std::fs::File::open(path)?;
    let (mut run_bytes, mut hashes) = (Vec::new(), Vec::new());
    for run in runs {
        let start = export.leaf_range(run.start).start;
        let end = export.leaf_range(run.end - 1).end;
        file.seek(SeekFrom::Start(start))?;
        run_bytes.clear();
        (&mut file).take(end - start).read_to_end(&mut run_bytes)?;
        if run_bytes.len() as u64 != end - start {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the file is shorter than when it was read: it changed during the build",
            ));
        }
        let piece = |leaf: usize| {
            let range = export.leaf_range(leaf);
            &run_bytes[(range.start - start) as usize..(range.end - start) as usize]
        };
        hashes.clear();
        hashes.extend(run.clone().map(|leaf| leaf_hash(piece(leaf))));
        for (block, first) in hashes.chunks(BLOCK).zip(run.clone().step_by(BLOCK)) {
            if !tree.holds_block(first, block) {
                return Err(std::io::Error::other(
                    "the file changed since it was read: it changed during the build",
                ));
            }
        }
        for (leaf, hash) in run.zip(&hashes) {
            each(leaf, *hash, piece(leaf))?;
        }
    }
    Ok(())
}

/// Writes to `out` the slice of `export` (read from `path`, named after its source
/// `source`) holding the data leaves `leaves` (indices, in any order) and the header
/// leaf, and returns its proof. Every block of the tree holding one of them is read
/// whole (adjacent blocks in one piece) and its leaves re-hashed: that proves the bytes
/// are those hashed at ingest, and gives the leaf hashes inside those blocks that the
/// proof needs and the tree does not keep. `each(leaf, bytes)` is called for each leaf
/// of the slice, in order, so that what else is read from those leaves is read in the
/// same pass.
pub fn slice(
    path: &Path,
    export: &ExportFile,
    source: &str,
    leaves: &[u64],
    out: &mut impl Write,
    mut each: impl FnMut(usize, &[u8]),
) -> std::io::Result<Proof> {
    let tree = &export.tree;
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
    let mut known: Vec<(usize, Hash)> = Vec::new();
    let mut next_wanted = wanted.iter().peekable();
    read_blocks(path, export, &wanted, |leaf, hash, piece| {
        known.push((leaf, hash));
        if next_wanted.next_if_eq(&&leaf).is_some() {
            out.write_all(piece)?;
            each(leaf, piece);
        }
        Ok(())
    })?;
    let leaf = |index: usize| {
        let at = known.binary_search_by_key(&index, |(i, _)| *i).ok()?;
        Some(known[at].1)
    };
    let subtrees = tree.multiproof(&wanted, leaf).ok_or_else(|| {
        std::io::Error::other(
            "a proof needs a leaf hash it was not given (a bug in tallyseal; please report it)",
        )
    })?;
    Ok(Proof {
        source: source.to_owned(),
        file: display_path(&export.path),
        size: export.size,
        sha256: hex(&export.sha256),
        leaves: export.leaf_count() as u64,
        root: hex(&tree.root()),
        included: wanted
            .iter()
            .map(|l| {
                let range = export.leaf_range(*l);
                (*l as u64, range.end - range.start)
            })
            .collect(),
        subtrees: Proof::from_subtrees(&subtrees),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seal::leaves::split;
    use crate::seal::merkle::{Tree, root_from_proof};

    /// An export of `text` as ingest keeps it: leaf ends, classes (line 1 the header),
    /// tree; nothing else.
    fn export(text: &str) -> ExportFile {
        let ranges = split(text.as_bytes(), 0);
        let hashes = ranges
            .iter()
            .map(|r| leaf_hash(&text.as_bytes()[r.clone()]));
        ExportFile {
            path: "exports/x.csv".into(),
            source: 0,
            size: text.len() as u64,
            sha256: [0; 32],
            leaf_ends: ranges.iter().map(|r| r.end as u64).collect(),
            leaf_classes: (0..ranges.len())
                .map(|i| {
                    if i == 0 {
                        LeafClass::Header
                    } else {
                        LeafClass::Data
                    }
                })
                .collect(),
            tree: Tree::new(hashes.collect()),
            total_lines: Vec::new(),
            line_shifts: Vec::new(),
            metric_columns: [None; 4],
        }
    }

    #[test]
    fn a_slice_holds_its_rows_and_proves_them_and_a_changed_file_stops_it() {
        let text: String = std::iter::once("id,day\n".to_owned())
            .chain((1..=10).map(|i| format!("{i},2026-10-{i:02}\n")))
            .collect();
        let export = export(&text);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.csv");
        std::fs::write(&path, &text).unwrap();
        // Leaves 2, 3 and 9 (rows 2, 3, 9): the blocks [0, 4) and [8, 11) are re-read.
        let (mut seen, mut bytes) = (Vec::new(), Vec::new());
        let proof = slice(&path, &export, "src", &[9, 3, 2], &mut bytes, |leaf, _| {
            seen.push(leaf)
        })
        .unwrap();
        assert_eq!(seen, [0, 2, 3, 9]);
        assert_eq!(
            String::from_utf8(bytes.clone()).unwrap(),
            "id,day\n2,2026-10-02\n3,2026-10-03\n9,2026-10-09\n"
        );
        let included: Vec<(usize, Hash)> = split(&bytes, 0)
            .into_iter()
            .zip([0, 2, 3, 9])
            .map(|(range, leaf)| (leaf, leaf_hash(&bytes[range])))
            .collect();
        let subtrees = proof.subtrees().unwrap();
        assert_eq!(
            root_from_proof(11, &included, &subtrees),
            Ok(export.tree.root())
        );
        // A row changed since ingest, even one outside the slice but in a block it
        // reads, keeping the file's length: no slice.
        std::fs::write(&path, text.replace("1,2026-10-01", "1,2026-10-31")).unwrap();
        let error = slice(
            &path,
            &export,
            "src",
            &[9, 3, 2],
            &mut Vec::new(),
            |_, _| {},
        )
        .unwrap_err();
        assert!(error.to_string().contains("changed"), "{error}");
    }
}
