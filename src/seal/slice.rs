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
use xxhash_rust::xxh3::{Xxh3, xxh3_64};

/// Leaves per checked run: ingest keeps a checksum of the bytes of each run of this many
/// leaves from the first ([`Checks`], [`ExportFile::checks`]), by which a later read
/// knows that it reads the bytes ingest hashed. A multiple of the tree's [`BLOCK`].
pub const CHECKED: usize = 1 << 6;
// A run read whole reads whole every block of the tree it holds a leaf of.
const _: () = assert!(CHECKED.is_multiple_of(BLOCK));

/// The checksums (XXH3-64) of an export's runs of [`CHECKED`] leaves, made as its
/// leaves come, in order.
#[derive(Default)]
pub struct Checks {
    run: Xxh3,
    leaves: usize,
    sums: Vec<u64>,
}

impl Checks {
    pub fn leaf(&mut self, bytes: &[u8]) {
        self.run.update(bytes);
        self.leaves += 1;
        if self.leaves.is_multiple_of(CHECKED) {
            self.sums.push(self.run.digest());
            self.run.reset();
        }
    }

    pub fn finish(mut self) -> Vec<u64> {
        if !self.leaves.is_multiple_of(CHECKED) {
            self.sums.push(self.run.digest());
        }
        self.sums
    }
}

/// Reads from `path` every run of [`CHECKED`] leaves of `export` that holds one of the
/// leaves `wanted` (sorted, each once), adjacent runs in one piece of at most 16,384
/// leaves, and calls `each(leaf, bytes)` for every leaf of those runs, in order; fails
/// if a run's bytes are not those read when the export was read (the file changed
/// since, even keeping its length), or with the first error `each` returns.
///
/// The checksum only tells a changed file from the one read: what binds a slice's bytes
/// to the export is its proof, whose SHA-256 leaf hashes every verifier recomputes.
pub fn read_leaves(
    path: &Path,
    export: &ExportFile,
    wanted: &[usize],
    mut each: impl FnMut(usize, &[u8]) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let count = export.leaf_count();
    // Runs of adjacent checked runs holding a wanted leaf, as leaf ranges.
    let mut runs: Vec<Range<usize>> = Vec::new();
    // A run is read into memory: it stops at RUN leaves, whatever the file holds.
    const RUN: usize = 1 << 14;
    for leaf in wanted.iter().filter(|leaf| **leaf < count) {
        let first = leaf / CHECKED * CHECKED;
        match runs.last_mut() {
            Some(last) if first < last.end => {}
            Some(last) if first == last.end && last.len() < RUN => {
                last.end = (first + CHECKED).min(count)
            }
            _ => runs.push(first..(first + CHECKED).min(count)),
        }
    }
    let mut file = std::fs::File::open(path)?;
    let mut run_bytes = Vec::new();
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
        let piece = |first: usize, last: usize| {
            let from = export.leaf_range(first).start - start;
            let to = export.leaf_range(last).end - start;
            &run_bytes[from as usize..to as usize]
        };
        for first in run.clone().step_by(CHECKED) {
            let last = (first + CHECKED).min(run.end) - 1;
            if export.checks.get(first / CHECKED) != Some(&xxh3_64(piece(first, last))) {
                return Err(std::io::Error::other(
                    "the file changed since it was read: it changed during the build",
                ));
            }
        }
        for leaf in run {
            each(leaf, piece(leaf, leaf))?;
        }
    }
    Ok(())
}

/// Writes to `out` the slice of `export` (read from `path`, named after its source
/// `source`) holding the data leaves `leaves` (indices, in any order) and the header
/// leaf, and returns its proof. The leaves are read in checked runs ([`read_leaves`]),
/// and the other leaves of the tree's blocks that hold one of them are hashed: the
/// proof needs those hashes, which the tree does not keep. `each(leaf, bytes)` is
/// called for each leaf of the slice, in order, so that what else is read from those
/// leaves is read in the same pass.
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
    // The hashes of the other leaves of the tree's blocks that hold a wanted leaf: the
    // proof needs them, and the tree keeps no hash below a block.
    let mut known: Vec<(usize, Hash)> = Vec::new();
    let mut next_wanted = wanted.iter().peekable();
    let mut blocks = wanted.iter().map(|leaf| leaf / BLOCK).peekable();
    read_leaves(path, export, &wanted, |leaf, piece| {
        if next_wanted.next_if_eq(&&leaf).is_some() {
            out.write_all(piece)?;
            each(leaf, piece);
        } else {
            while blocks.next_if(|block| *block < leaf / BLOCK).is_some() {}
            if blocks.peek() == Some(&(leaf / BLOCK)) {
                known.push((leaf, leaf_hash(piece)));
            }
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
        let mut checks = Checks::default();
        for range in &ranges {
            checks.leaf(&text.as_bytes()[range.clone()]);
        }
        ExportFile {
            checks: checks.finish(),
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

    proptest::proptest! {
        /// Any rows of an export of any length, in runs checked or not, across the
        /// tree's blocks whole or in part: the slice holds the header and those rows,
        /// its proof gives the export's root; a byte changed in a run it reads stops it.
        #[test]
        fn any_rows_are_sliced_and_proved_and_a_changed_run_stops_them(
            rows in 1usize..300,
            picks in proptest::collection::vec(0usize..300, 1..40),
            changed in 0usize..300,
        ) {
            let text: String = std::iter::once("id,day\n".to_owned())
                .chain((1..=rows).map(|i| format!("{i},2026-10-{:02}\n", i % 28 + 1)))
                .collect();
            let export = export(&text);
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("x.csv");
            std::fs::write(&path, &text).unwrap();
            let mut wanted: Vec<u64> = picks.iter().map(|p| (p % rows + 1) as u64).collect();
            let mut bytes = Vec::new();
            let proof = slice(&path, &export, "src", &wanted, &mut bytes, |_, _| {}).unwrap();
            wanted.sort_unstable();
            wanted.dedup();
            let leaves: Vec<usize> = [0].into_iter().chain(wanted.iter().map(|l| *l as usize)).collect();
            let expected: Vec<u8> = (leaves.iter())
                .flat_map(|l| {
                    let range = export.leaf_range(*l);
                    text.as_bytes()[range.start as usize..range.end as usize].to_vec()
                })
                .collect();
            proptest::prop_assert_eq!(&bytes, &expected);
            let included: Vec<(usize, Hash)> = split(&bytes, 0)
                .into_iter()
                .zip(&leaves)
                .map(|(range, leaf)| (*leaf, leaf_hash(&bytes[range])))
                .collect();
            let subtrees = proof.subtrees().unwrap();
            proptest::prop_assert_eq!(
                root_from_proof(rows + 1, &included, &subtrees),
                Ok(export.tree.root())
            );
            // A digit of one row changed, keeping the file's length.
            let row = changed % rows + 1;
            let at = export.leaf_range(row).start as usize;
            let mut tampered = text.clone().into_bytes();
            tampered[at] = if tampered[at] == b'9' { b'8' } else { b'9' };
            std::fs::write(&path, &tampered).unwrap();
            let read = slice(&path, &export, "src", &wanted, &mut Vec::new(), |_, _| {});
            let runs_read = leaves.iter().any(|l| l / CHECKED == row / CHECKED);
            proptest::prop_assert_eq!(read.is_err(), runs_read, "row {}", row);
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
