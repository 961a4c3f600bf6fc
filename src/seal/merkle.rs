//! RFC 9162 Merkle trees over the leaves of a raw export, and the multiproofs of
//! seal.md: the hashes of exactly the maximal subtrees holding no included leaf, so a
//! verifier recomputes the root from a client's slice and those hashes alone.
//!
//! ```
//! use tallyseal::seal::merkle::{Tree, leaf_hash, root, root_from_proof};
//! let leaves: Vec<_> = [b"h\n".as_slice(), b"a\n", b"b\n", b"c\n"].iter().map(|l| leaf_hash(l)).collect();
//! let tree = Tree::new(leaves.clone());
//! let proof = tree.multiproof(&[2], |i| Some(leaves[i])).unwrap(); // subtrees [0, 2) and [3, 4)
//! assert_eq!(proof.iter().map(|s| (s.start, s.end)).collect::<Vec<_>>(), [(0, 2), (3, 4)]);
//! assert_eq!(root_from_proof(4, &[(2, leaves[2])], &proof), Ok(root(&leaves)));
//! ```

use sha2::{Digest, Sha256};

pub type Hash = [u8; 32];

/// `H(0x00 ‖ bytes)`.
pub fn leaf_hash(bytes: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0u8]);
    hasher.update(bytes);
    hasher.finalize().into()
}

/// `H(0x01 ‖ left ‖ right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([1u8]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// The largest power of two smaller than `n` (`n ≥ 2`): where RFC 9162 splits.
fn split(n: usize) -> usize {
    debug_assert!(n >= 2);
    1 << (usize::BITS - 1 - (n - 1).leading_zeros())
}

/// The root of the tree over `leaves`; `H("")` for none.
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => Sha256::digest(b"").into(),
        1 => leaves[0],
        n => {
            let k = split(n);
            node_hash(&root(&leaves[..k]), &root(&leaves[k..]))
        }
    }
}

/// A subtree of a multiproof: the leaves `[start, end)` and their root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subtree {
    pub start: usize,
    pub end: usize,
    pub hash: Hash,
}

/// Whether any of the sorted `included` lies in `[start, end)`.
fn holds(included: &[usize], start: usize, end: usize) -> bool {
    let first = included.partition_point(|i| *i < start);
    included.get(first).is_some_and(|i| *i < end)
}

/// Leaves per block, `2^FLOOR`: a [`Tree`] keeps the roots of whole blocks and above,
/// never a leaf hash inside one (but for the ragged tail), so it costs about
/// `64/BLOCK` bytes per leaf (16) instead of 64. A proof that needs inside a block
/// hashes that block's other leaves, read back from the file
/// ([`super::slice::read_leaves`]).
pub const FLOOR: u32 = 2;
pub const BLOCK: usize = 1 << FLOOR;

/// The tree over a file's leaf hashes, with the root of every perfect subtree of a
/// block or more kept, so the hash of any range of the RFC 9162 recursion is a lookup
/// (or, on the ragged right edge, a few): `levels[h][i]` is the root of leaves
/// `[i·2^(FLOOR+h), (i+1)·2^(FLOOR+h))`. The leaves after the last whole block
/// (fewer than [`BLOCK`]) are kept as they are.
#[derive(Debug, Clone, Default)]
pub struct Tree {
    len: usize,
    levels: Vec<Vec<Hash>>,
    tail: Vec<Hash>,
}

/// Builds a [`Tree`] from its leaf hashes, one at a time, holding one block of them.
#[derive(Debug, Default)]
pub struct TreeBuilder {
    len: usize,
    blocks: Vec<Hash>,
    block: Vec<Hash>,
}

impl TreeBuilder {
    pub fn push(&mut self, leaf: Hash) {
        self.len += 1;
        self.block.push(leaf);
        if self.block.len() == BLOCK {
            self.blocks.push(root(&self.block));
            self.block.clear();
        }
    }

    pub fn finish(self) -> Tree {
        let mut levels = vec![self.blocks];
        while let Some(below) = levels.last().filter(|l| l.len() > 1) {
            let above = below
                .chunks_exact(2)
                .map(|pair| node_hash(&pair[0], &pair[1]))
                .collect();
            levels.push(above);
        }
        Tree {
            len: self.len,
            levels,
            tail: self.block,
        }
    }
}

impl Tree {
    pub fn new(leaves: Vec<Hash>) -> Tree {
        let mut builder = TreeBuilder::default();
        for leaf in leaves {
            builder.push(leaf);
        }
        builder.finish()
    }

    /// The number of leaves.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Where the tail (the leaves after the last whole block) starts.
    fn tail_start(&self) -> usize {
        self.len - self.tail.len()
    }

    pub fn root(&self) -> Hash {
        match self.len {
            0 => root(&[]),
            // The recursion from the root reaches below whole blocks in the tail only.
            n => self
                .hash(0, n, &|_| None)
                .expect("the root needs no leaf hash outside the tail"),
        }
    }

    /// The root of `[start, end)`, a non-empty range of the recursion; `leaf` gives the
    /// hashes of leaves inside whole blocks, where the tree keeps none.
    fn hash(&self, start: usize, end: usize, leaf: &dyn Fn(usize) -> Option<Hash>) -> Option<Hash> {
        let size = end - start;
        if size == 1 {
            return match start.checked_sub(self.tail_start()) {
                Some(i) => self.tail.get(i).copied(),
                None => leaf(start),
            };
        }
        if size.is_power_of_two() && size >= BLOCK {
            let level = (size.trailing_zeros() - FLOOR) as usize;
            return self.levels.get(level)?.get(start / size).copied();
        }
        let k = split(size);
        Some(node_hash(
            &self.hash(start, start + k, leaf)?,
            &self.hash(start + k, end, leaf)?,
        ))
    }

    /// The multiproof of the leaves at `included` (sorted, distinct): the maximal
    /// subtrees of the recursion that hold no included leaf, ordered by start. `leaf`
    /// gives the hash of any leaf in a block holding an included leaf; `None` if it
    /// does not know one that is needed.
    pub fn multiproof(
        &self,
        included: &[usize],
        leaf: impl Fn(usize) -> Option<Hash>,
    ) -> Option<Vec<Subtree>> {
        let mut out = Vec::new();
        if !self.is_empty() {
            let included = &included[..included.partition_point(|i| *i < self.len)];
            self.walk(0, self.len, included, &leaf, &mut out)?;
        }
        Some(out)
    }

    /// `included`: the included leaves in `[start, end)`, so that each step of the
    /// recursion splits them once rather than searching all of them.
    fn walk(
        &self,
        start: usize,
        end: usize,
        included: &[usize],
        leaf: &dyn Fn(usize) -> Option<Hash>,
        out: &mut Vec<Subtree>,
    ) -> Option<()> {
        if included.is_empty() {
            out.push(Subtree {
                start,
                end,
                hash: self.hash(start, end, leaf)?,
            });
        } else if end - start > 1 {
            let k = split(end - start);
            let (left, right) = included.split_at(included.partition_point(|i| *i < start + k));
            self.walk(start, start + k, left, leaf, out)?;
            self.walk(start + k, end, right, leaf, out)?;
        }
        Some(())
    }
}

/// Why a multiproof does not recompute a root.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("included leaf {0} is out of order or beyond the leaf count")]
    Included(usize),
    #[error("the proof lacks the subtree [{start}, {end})")]
    Missing { start: usize, end: usize },
    #[error(
        "the proof has a subtree [{start}, {end}) that is not a maximal subtree without an included leaf"
    )]
    Extra { start: usize, end: usize },
}

/// Recomputes the root of a tree of `leaf_count` leaves from the included leaves'
/// hashes (`(index, hash)`, ascending) and the multiproof. Rejects a proof with a
/// subtree missing, misplaced or extra.
pub fn root_from_proof(
    leaf_count: usize,
    included: &[(usize, Hash)],
    subtrees: &[Subtree],
) -> Result<Hash, ProofError> {
    for (position, (index, _)) in included.iter().enumerate() {
        let ascending = position == 0 || included[position - 1].0 < *index;
        if *index >= leaf_count || !ascending {
            return Err(ProofError::Included(*index));
        }
    }
    let indices: Vec<usize> = included.iter().map(|(i, _)| *i).collect();
    struct Walk<'a> {
        included: &'a [(usize, Hash)],
        indices: &'a [usize],
        subtrees: &'a [Subtree],
        next: usize,
    }
    impl Walk<'_> {
        fn range(&mut self, start: usize, end: usize) -> Result<Hash, ProofError> {
            if !holds(self.indices, start, end) {
                return match self.subtrees.get(self.next) {
                    Some(s) if s.start == start && s.end == end => {
                        self.next += 1;
                        Ok(s.hash)
                    }
                    Some(s) if s.start < end => Err(ProofError::Extra {
                        start: s.start,
                        end: s.end,
                    }),
                    _ => Err(ProofError::Missing { start, end }),
                };
            }
            if end - start == 1 {
                let at = self.indices.partition_point(|i| *i < start);
                return Ok(self.included[at].1);
            }
            let k = split(end - start);
            let left = self.range(start, start + k)?;
            let right = self.range(start + k, end)?;
            Ok(node_hash(&left, &right))
        }
    }
    if leaf_count == 0 {
        return match subtrees.first() {
            Some(s) => Err(ProofError::Extra {
                start: s.start,
                end: s.end,
            }),
            None => Ok(root(&[])),
        };
    }
    let mut walk = Walk {
        included,
        indices: &indices,
        subtrees,
        next: 0,
    };
    let hash = walk.range(0, leaf_count)?;
    match subtrees.get(walk.next) {
        Some(s) => Err(ProofError::Extra {
            start: s.start,
            end: s.end,
        }),
        None => Ok(hash),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(hash: &Hash) -> String {
        hash.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The leaves of the Certificate Transparency reference tests.
    fn reference_leaves() -> Vec<Hash> {
        [
            "",
            "00",
            "10",
            "2021",
            "3031",
            "40414243",
            "5051525354555657",
            "606162636465666768696a6b6c6d6e6f",
        ]
        .iter()
        .map(|h| {
            let bytes: Vec<u8> = (0..h.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
                .collect();
            leaf_hash(&bytes)
        })
        .collect()
    }

    #[test]
    fn roots_match_the_reference_vectors() {
        let expected = [
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
            "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
            "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
        ];
        let leaves = reference_leaves();
        for (n, root_hex) in expected.iter().enumerate() {
            assert_eq!(hex(&root(&leaves[..n])), *root_hex, "{n} leaves");
            assert_eq!(hex(&Tree::new(leaves[..n].to_vec()).root()), *root_hex);
        }
    }

    #[test]
    fn splits_at_the_largest_power_of_two_below() {
        assert_eq!(
            [2, 3, 4, 5, 7, 8, 9].map(split),
            [1, 2, 2, 4, 4, 4, 8],
            "RFC 9162: k < n ≤ 2k"
        );
    }

    #[test]
    fn multiproofs_of_small_trees_by_hand() {
        let l = reference_leaves();
        let ranges = |n: usize, included: &[usize]| -> Vec<(usize, usize)> {
            Tree::new(l[..n].to_vec())
                .multiproof(included, |i| Some(l[i]))
                .unwrap()
                .iter()
                .map(|s| (s.start, s.end))
                .collect()
        };
        // 7 leaves split 4 | 3, the 3 split 2 | 1.
        assert_eq!(ranges(7, &[2]), [(0, 2), (3, 4), (4, 7)]);
        assert_eq!(ranges(7, &[6]), [(0, 4), (4, 6)]);
        assert_eq!(ranges(7, &[0, 1, 2, 3]), [(4, 7)]);
        assert_eq!(ranges(7, &[]), [(0, 7)]);
        assert_eq!(ranges(8, &[3, 4]), [(0, 2), (2, 3), (5, 6), (6, 8)]);
        assert_eq!(ranges(1, &[0]), []);
        assert_eq!(ranges(3, &[1]), [(0, 1), (2, 3)]);
        assert_eq!(ranges(2, &[1]), [(0, 1)]);
        assert_eq!(ranges(2, &[0, 1]), []);
        assert_eq!(ranges(0, &[]), []);
    }

    #[test]
    fn the_tree_keeps_no_leaf_hash_inside_a_whole_block() {
        let l = reference_leaves();
        // 7 leaves, blocks of 4: [0, 4) whole, [4, 7) the tail kept as it is.
        let tree = Tree::new(l[..7].to_vec());
        // A proof for leaf 2 needs leaf 3's hash, inside the whole block: without the
        // block's leaves there is no proof; with them, the right one.
        assert_eq!(tree.multiproof(&[2], |_| None), None);
        let only_tail = tree.multiproof(&[5], |_| None).unwrap();
        assert_eq!(only_tail[0].hash, root(&l[..4]));
    }

    #[test]
    fn a_proof_recomputes_the_root_and_nothing_else() {
        let l = reference_leaves();
        let included = [2, 5];
        let proof = Tree::new(l[..7].to_vec())
            .multiproof(&included, |i| Some(l[i]))
            .unwrap();
        let leaves: Vec<(usize, Hash)> = included.iter().map(|i| (*i, l[*i])).collect();
        assert_eq!(root_from_proof(7, &leaves, &proof), Ok(root(&l[..7])));
        // A subtree too many, too few, or a leaf changed.
        let mut extra = proof.clone();
        extra.push(Subtree {
            start: 6,
            end: 7,
            hash: l[6],
        });
        assert!(matches!(
            root_from_proof(7, &leaves, &extra),
            Err(ProofError::Extra { .. })
        ));
        let missing = &proof[1..];
        assert!(matches!(
            root_from_proof(7, &leaves, missing),
            Err(ProofError::Missing { start: 0, end: 2 })
        ));
        let changed = [(2, l[3]), (5, l[5])];
        assert_ne!(root_from_proof(7, &changed, &proof), Ok(root(&l[..7])));
        assert_eq!(
            root_from_proof(7, &[(5, l[5]), (2, l[2])], &proof),
            Err(ProofError::Included(2))
        );
        assert_eq!(root_from_proof(0, &[], &[]), Ok(root(&[])));
    }
}
