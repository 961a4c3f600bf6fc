//! The Merkle trees and multiproofs of seal.md against a second, deliberately plain
//! implementation written here from the RFC 9162 text, on random sizes and subsets.

use proptest::prelude::*;
use sha2::{Digest, Sha256};
use tallyseal::seal::merkle::{Hash, Subtree, Tree, leaf_hash, root, root_from_proof};

/// MTH(D[n]) of RFC 9162 §2.1.1, straight from the text, over raw leaf bytes.
fn mth(leaves: &[Vec<u8>]) -> Hash {
    let n = leaves.len();
    if n == 0 {
        return Sha256::digest([]).into();
    }
    if n == 1 {
        let mut data = vec![0u8];
        data.extend_from_slice(&leaves[0]);
        return Sha256::digest(&data).into();
    }
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    let mut data = vec![1u8];
    data.extend_from_slice(&mth(&leaves[..k]));
    data.extend_from_slice(&mth(&leaves[k..]));
    Sha256::digest(&data).into()
}

/// Every range of the recursion over `[start, end)`, parents before children.
fn ranges(start: usize, end: usize, out: &mut Vec<(usize, usize)>) {
    out.push((start, end));
    if end - start > 1 {
        let mut k = 1;
        while k * 2 < end - start {
            k *= 2;
        }
        ranges(start, start + k, out);
        ranges(start + k, end, out);
    }
}

/// The maximal ranges with no included leaf: brute force over every range.
fn maximal_empty_ranges(n: usize, included: &[usize]) -> Vec<(usize, usize)> {
    if n == 0 {
        return Vec::new();
    }
    let mut all = Vec::new();
    ranges(0, n, &mut all);
    let empty = |s: usize, e: usize| !included.iter().any(|i| (s..e).contains(i));
    let mut out: Vec<(usize, usize)> = all
        .iter()
        .copied()
        .filter(|&(s, e)| empty(s, e))
        .filter(|&(s, e)| {
            // No strictly larger range of the recursion containing it is also empty.
            !all.iter()
                .any(|&(ps, pe)| ps <= s && e <= pe && (ps, pe) != (s, e) && empty(ps, pe))
        })
        .collect();
    out.sort();
    out
}

fn tree() -> impl Strategy<Value = (Vec<Vec<u8>>, Vec<usize>)> {
    prop::collection::vec(prop::collection::vec(any::<u8>(), 0..6), 0..70)
        .prop_flat_map(|leaves| {
            let n = leaves.len();
            (
                Just(leaves),
                prop::collection::btree_set(0..n.max(1), 0..=n),
            )
        })
        .prop_map(|(leaves, set)| {
            let n = leaves.len();
            (leaves, set.into_iter().filter(|i| *i < n).collect())
        })
}

proptest! {
    #[test]
    fn roots_and_proofs_agree_with_the_plain_implementation((leaves, included) in tree()) {
        let hashes: Vec<Hash> = leaves.iter().map(|l| leaf_hash(l)).collect();
        prop_assert_eq!(root(&hashes), mth(&leaves));
        let tree = Tree::new(hashes.clone());
        prop_assert_eq!(tree.root(), mth(&leaves));

        let proof = tree.multiproof(&included, |i| Some(hashes[i])).unwrap();
        let got: Vec<(usize, usize)> = proof.iter().map(|s| (s.start, s.end)).collect();
        prop_assert_eq!(&got, &maximal_empty_ranges(leaves.len(), &included));
        for s in &proof {
            prop_assert_eq!(s.hash, mth(&leaves[s.start..s.end]));
        }

        let shown: Vec<(usize, Hash)> = included.iter().map(|i| (*i, hashes[*i])).collect();
        prop_assert_eq!(root_from_proof(leaves.len(), &shown, &proof), Ok(mth(&leaves)));

        // Tampering is detected: a changed subtree hash, a dropped or an added subtree.
        if let Some(first) = proof.first() {
            let mut changed = proof.clone();
            changed[0].hash[0] ^= 1;
            prop_assert_ne!(root_from_proof(leaves.len(), &shown, &changed), Ok(mth(&leaves)));
            prop_assert!(root_from_proof(leaves.len(), &shown, &proof[1..]).is_err());
            let mut added = proof.clone();
            added.push(Subtree { start: first.start, end: first.end, hash: first.hash });
            prop_assert!(root_from_proof(leaves.len(), &shown, &added).is_err());
        }
        if let Some((index, hash)) = shown.first() {
            let mut forged = shown.clone();
            forged[0] = (*index, leaf_hash(&[hash[0], 1, 2]));
            prop_assert_ne!(root_from_proof(leaves.len(), &forged, &proof), Ok(mth(&leaves)));
        }
    }
}

/// Bytes that look like messy CSV: quotes, commas, CR, LF, blank lines.
fn csvish() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop::sample::select(vec![b'a', b'1', b',', b'"', b'\n', b'\r', b' ']),
        0..300,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn a_file_read_in_blocks_seals_as_its_leaves_say(bytes in csvish(), skip_rows in 0u64..3, copies in 1usize..400) {
        // Repeated up to ~120 kB, so leaves straddle the reader's 64 kB blocks.
        let bytes: Vec<u8> = bytes.iter().copied().cycle().take(bytes.len() * copies).collect();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("export.csv");
        std::fs::write(&path, &bytes).unwrap();
        let sealed = tallyseal::seal::leaves::seal_file(&path, skip_rows).unwrap();
        let leaves = tallyseal::seal::leaves::split(&bytes, skip_rows);
        let mut rejoined = Vec::new();
        for leaf in &leaves {
            rejoined.extend_from_slice(&bytes[leaf.clone()]);
        }
        prop_assert_eq!(&rejoined, &bytes, "leaves partition the file");
        let pieces: Vec<Vec<u8>> = leaves.iter().map(|l| bytes[l.clone()].to_vec()).collect();
        prop_assert_eq!(sealed.size, bytes.len() as u64);
        prop_assert_eq!(sealed.sha256, <[u8; 32]>::from(Sha256::digest(&bytes)));
        prop_assert_eq!(sealed.tree.len(), pieces.len());
        prop_assert_eq!(sealed.tree.root(), mth(&pieces));
    }
}
