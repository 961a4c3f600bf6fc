//! `data/<export>.proof.json` (seal.md): the full export's name, size, SHA-256, leaf
//! count and root, the slice's leaves as `[index, byte length]`, and the multiproof as
//! `[start, end, hash]`. Written on one line, keys in the documented order, `, ` and `: `
//! between items (as Python's `json.dumps` writes by default), and a final LF.

use super::merkle::Subtree;
use super::statement::SourceSeal;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Proof {
    pub source: String,
    /// The export's path relative to the project directory, `/`-separated.
    pub file: String,
    pub size: u64,
    pub sha256: String,
    pub leaves: u64,
    pub root: String,
    /// `[leaf index, byte length]` of each leaf of the slice, in file order.
    pub included: Vec<(u64, u64)>,
    /// `[start, end, hash]`: the maximal subtrees holding no included leaf, by start.
    pub subtrees: Vec<(u64, u64, String)>,
}

impl Proof {
    /// The multiproof as the tree module takes it.
    pub fn subtrees(&self) -> Option<Vec<Subtree>> {
        self.subtrees
            .iter()
            .map(|(start, end, hash)| {
                Some(Subtree {
                    start: usize::try_from(*start).ok()?,
                    end: usize::try_from(*end).ok()?,
                    hash: super::manifest::parse_hash(hash)?,
                })
            })
            .collect()
    }

    pub fn from_subtrees(subtrees: &[Subtree]) -> Vec<(u64, u64, String)> {
        subtrees
            .iter()
            .map(|s| (s.start as u64, s.end as u64, super::keys::hex(&s.hash)))
            .collect()
    }

    /// The export as a statement names it.
    pub fn seal(&self) -> SourceSeal {
        SourceSeal {
            source: self.source.clone(),
            file: self.file.clone(),
            size: self.size,
            sha256: self.sha256.clone(),
            leaves: self.leaves,
            root: self.root.clone(),
        }
    }

    pub fn to_json(&self) -> Vec<u8> {
        let mut bytes = Vec::new();
        let mut serializer = serde_json::Serializer::with_formatter(&mut bytes, Spaced);
        self.serialize(&mut serializer)
            .expect("a proof always serializes");
        bytes.push(b'\n');
        bytes
    }

    pub fn from_json(bytes: &[u8]) -> Result<Proof, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}

/// Compact JSON with a space after each `,` and `:`.
struct Spaced;

impl serde_json::ser::Formatter for Spaced {
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        if first {
            Ok(())
        } else {
            writer.write_all(b", ")
        }
    }

    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        if first {
            Ok(())
        } else {
            writer.write_all(b", ")
        }
    }

    fn begin_object_value<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
    ) -> std::io::Result<()> {
        writer.write_all(b": ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_exactly_as_documented() {
        let proof = Proof {
            source: "google_ads".into(),
            file: "periods/2026-10/exports/google_ads_oct.csv".into(),
            size: 48213,
            sha256: "aa".into(),
            leaves: 412,
            root: "bb".into(),
            included: vec![(2, 61), (40, 58)],
            subtrees: vec![(0, 2, "cc".into()), (3, 4, "dd".into())],
        };
        let text = String::from_utf8(proof.to_json()).unwrap();
        assert_eq!(
            text,
            "{\"source\": \"google_ads\", \"file\": \"periods/2026-10/exports/google_ads_oct.csv\", \
             \"size\": 48213, \"sha256\": \"aa\", \"leaves\": 412, \"root\": \"bb\", \
             \"included\": [[2, 61], [40, 58]], \"subtrees\": [[0, 2, \"cc\"], [3, 4, \"dd\"]]}\n"
        );
        assert_eq!(Proof::from_json(text.as_bytes()).unwrap(), proof);
    }
}
