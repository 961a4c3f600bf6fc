//! The leaves of a raw export (seal.md, "Merkle trees over raw exports").
//!
//! Leaves partition a file's bytes exactly. A leaf ends right after a line feed, except
//! that once the first `skip_rows` leaves are past, a line feed inside a double-quoted
//! field (RFC 4180: a field that starts with `"`, where `""` is an escaped quote) does
//! not end a leaf. A final piece without a line feed is a leaf when it is not empty.
//! So each preamble line, the header, each CSV record, each total row and each empty
//! line is one leaf.
//!
//! [`LeafSplitter`] finds leaf ends in a stream fed piece by piece, so an export is
//! hashed, split and parsed in the same single read.

use super::merkle::{Hash, Tree, TreeBuilder};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::ops::Range;
use std::path::Path;

/// Where the scanner is within the current leaf.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the start of a field: a `"` here opens a quoted field.
    FieldStart,
    /// Inside an unquoted field: a `"` here is an ordinary byte.
    Unquoted,
    /// Inside a quoted field: a line feed here belongs to the field.
    Quoted,
    /// Just after a `"` inside a quoted field: `"` again is an escaped quote, anything
    /// else closes the quotes.
    QuoteInQuoted,
}

/// The state after a byte that is neither a quote nor a line feed, outside quotes.
fn after_plain(byte: u8) -> State {
    if byte == b',' {
        State::FieldStart
    } else {
        State::Unquoted
    }
}

/// Finds the ends of leaves in a file fed to it in order.
#[derive(Debug, Clone)]
pub struct LeafSplitter {
    skip_rows: u64,
    /// Leaves ended so far.
    ended: u64,
    state: State,
}

impl LeafSplitter {
    pub fn new(skip_rows: u64) -> LeafSplitter {
        LeafSplitter {
            skip_rows,
            ended: 0,
            state: State::FieldStart,
        }
    }

    /// Scans `bytes`, the next bytes of the file not scanned yet. Returns the length of
    /// the prefix that completes the current leaf (its line feed included); the bytes
    /// after it are not scanned. `None`: all of `bytes` was scanned and the current
    /// leaf goes on past them.
    pub fn next_end(&mut self, bytes: &[u8]) -> Option<usize> {
        if self.ended < self.skip_rows {
            let at = bytes.iter().position(|&b| b == b'\n')?;
            return Some(self.end_leaf(at));
        }
        let mut from = 0;
        if matches!(self.state, State::FieldStart | State::Unquoted) {
            // Outside quotes, only a line feed or a quote matters: find the first (a
            // leaf without quotes, nearly every one, ends at its line feed).
            let Some(at) = memchr::memchr2(b'\n', b'"', bytes) else {
                if let Some(&last) = bytes.last() {
                    self.state = after_plain(last);
                }
                return None;
            };
            if bytes[at] == b'\n' {
                return Some(self.end_leaf(at));
            }
            if at > 0 {
                self.state = after_plain(bytes[at - 1]);
            }
            from = at;
        }
        for (at, &byte) in bytes.iter().enumerate().skip(from) {
            self.state = match (self.state, byte) {
                (State::Quoted, b'"') => State::QuoteInQuoted,
                (State::Quoted, _) => State::Quoted,
                (State::QuoteInQuoted, b'"') => State::Quoted,
                (_, b'\n') => return Some(self.end_leaf(at)),
                (_, b',') => State::FieldStart,
                (State::FieldStart, b'"') => State::Quoted,
                _ => State::Unquoted,
            };
        }
        None
    }

    fn end_leaf(&mut self, lf_at: usize) -> usize {
        self.ended += 1;
        self.state = State::FieldStart;
        lf_at + 1
    }
}

/// Splits a whole file held in memory into leaf byte ranges.
pub fn split(bytes: &[u8], skip_rows: u64) -> Vec<Range<usize>> {
    let mut splitter = LeafSplitter::new(skip_rows);
    let mut leaves = Vec::new();
    let mut start = 0;
    while let Some(len) = splitter.next_end(&bytes[start..]) {
        leaves.push(start..start + len);
        start += len;
    }
    if start < bytes.len() {
        leaves.push(start..bytes.len());
    }
    leaves
}

/// A whole file as seal.md seals it.
#[derive(Debug, Clone)]
pub struct FileSeal {
    pub size: u64,
    pub sha256: Hash,
    pub tree: Tree,
}

/// Reads the file at `path` once, in blocks, computing its size, SHA-256 and the tree
/// over its leaves, without holding more than a block of the file and the tree.
pub fn seal_file(path: &Path, skip_rows: u64) -> std::io::Result<FileSeal> {
    let mut file = std::fs::File::open(path)?;
    let mut splitter = LeafSplitter::new(skip_rows);
    let (mut whole, mut leaf) = (Sha256::new(), Sha256::new_with_prefix([0u8]));
    let (mut size, mut leaf_len) = (0u64, 0usize);
    let mut tree = TreeBuilder::default();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let read = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let chunk = &buf[..read];
        whole.update(chunk);
        size += read as u64;
        let mut at = 0;
        while let Some(len) = splitter.next_end(&chunk[at..]) {
            leaf.update(&chunk[at..at + len]);
            let done = std::mem::replace(&mut leaf, Sha256::new_with_prefix([0u8]));
            tree.push(done.finalize().into());
            leaf_len = 0;
            at += len;
        }
        leaf.update(&chunk[at..]);
        leaf_len += read - at;
    }
    if leaf_len > 0 {
        tree.push(leaf.finalize().into());
    }
    Ok(FileSeal {
        size,
        sha256: whole.finalize().into(),
        tree: tree.finish(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(text: &str, skip_rows: u64) -> Vec<&str> {
        split(text.as_bytes(), skip_rows)
            .into_iter()
            .map(|r| &text[r])
            .collect()
    }

    #[test]
    fn one_leaf_per_line_with_its_line_feed() {
        assert_eq!(pieces("a,b\n1,2\n", 0), ["a,b\n", "1,2\n"]);
        assert_eq!(pieces("", 0), Vec::<&str>::new());
        assert_eq!(pieces("\n", 0), ["\n"]);
    }

    #[test]
    fn crlf_ends_with_its_lf() {
        assert_eq!(pieces("a,b\r\n1,2\r\n", 0), ["a,b\r\n", "1,2\r\n"]);
        // A lone CR is not a line end.
        assert_eq!(pieces("a\rb\n", 0), ["a\rb\n"]);
    }

    #[test]
    fn missing_final_lf_is_a_last_leaf() {
        assert_eq!(pieces("a,b\n1,2", 0), ["a,b\n", "1,2"]);
    }

    #[test]
    fn blank_lines_are_leaves() {
        assert_eq!(pieces("a\n\n1\n\r\n", 0), ["a\n", "\n", "1\n", "\r\n"]);
    }

    #[test]
    fn quoted_newlines_stay_in_the_record() {
        let text = "name,n\n\"two\nlines\",1\n\"say \"\"hi\"\"\nthere\",2\nlast,3\n";
        assert_eq!(
            pieces(text, 0),
            [
                "name,n\n",
                "\"two\nlines\",1\n",
                "\"say \"\"hi\"\"\nthere\",2\n",
                "last,3\n"
            ]
        );
        // CRLF inside quotes too.
        assert_eq!(
            pieces("\"a\r\nb\",1\r\nx\r\n", 0),
            ["\"a\r\nb\",1\r\n", "x\r\n"]
        );
    }

    #[test]
    fn a_quote_inside_an_unquoted_field_is_an_ordinary_byte() {
        // As RFC 4180 parsers read it: 5" is five inches, not an open quote.
        assert_eq!(
            pieces("size,n\n5\" screen,1\nnext,2\n", 0),
            ["size,n\n", "5\" screen,1\n", "next,2\n"]
        );
        // After a closing quote, further bytes are unquoted.
        assert_eq!(pieces("\"a\"b\"\nc\n", 0), ["\"a\"b\"\n", "c\n"]);
    }

    #[test]
    fn preamble_lines_end_at_every_lf_even_inside_quotes() {
        let text = "\"Report Oct\n2026\"\nheader,x\n\"q\nq\",1\n";
        assert_eq!(
            pieces(text, 2),
            ["\"Report Oct\n", "2026\"\n", "header,x\n", "\"q\nq\",1\n"]
        );
        // Without skip_rows the quote would swallow the line feed.
        assert_eq!(pieces(text, 0)[0], "\"Report Oct\n2026\"\n");
    }

    #[test]
    fn unterminated_quote_runs_to_the_end() {
        assert_eq!(pieces("h\n\"open,1\n2\n", 0), ["h\n", "\"open,1\n2\n"]);
    }

    /// The leaves of `bytes` (skipping `skip` preamble lines), fed to the splitter
    /// `chunk` bytes at a time.
    fn fed_in_pieces(bytes: &[u8], skip: u64, chunk: usize) -> Vec<Range<usize>> {
        let mut splitter = LeafSplitter::new(skip);
        let mut leaves = Vec::new();
        let (mut start, mut scanned) = (0, 0);
        for piece in bytes.chunks(chunk) {
            let end = scanned + piece.len();
            while let Some(len) = splitter.next_end(&bytes[scanned..end]) {
                scanned += len;
                leaves.push(start..scanned);
                start = scanned;
            }
            scanned = end;
        }
        if start < bytes.len() {
            leaves.push(start..bytes.len());
        }
        leaves
    }

    /// The byte-by-byte state machine alone: what the fast path must agree with.
    fn reference(bytes: &[u8]) -> Vec<Range<usize>> {
        let (mut leaves, mut start, mut state) = (Vec::new(), 0, State::FieldStart);
        for (at, &byte) in bytes.iter().enumerate() {
            state = match (state, byte) {
                (State::Quoted, b'"') => State::QuoteInQuoted,
                (State::Quoted, _) => State::Quoted,
                (State::QuoteInQuoted, b'"') => State::Quoted,
                (_, b'\n') => {
                    leaves.push(start..at + 1);
                    start = at + 1;
                    State::FieldStart
                }
                (_, b',') => State::FieldStart,
                (State::FieldStart, b'"') => State::Quoted,
                _ => State::Unquoted,
            };
        }
        if start < bytes.len() {
            leaves.push(start..bytes.len());
        }
        leaves
    }

    proptest::proptest! {
        #[test]
        fn the_fast_path_agrees_with_the_state_machine(
            bytes in proptest::collection::vec(proptest::sample::select(b"a,\"\n\r".to_vec()), 0..60),
            chunk in 1usize..9,
        ) {
            proptest::prop_assert_eq!(fed_in_pieces(&bytes, 0, chunk), reference(&bytes));
        }
    }

    #[test]
    fn feeding_in_pieces_matches_feeding_whole() {
        let text = b"p1\np2 \"x\n\"h\",i\r\n\"a\nb\",\"c\"\"\n\"\r\n\n1,2\n3";
        for skip in 0..3 {
            let whole = split(text, skip);
            for chunk in 1..text.len() {
                let ends = fed_in_pieces(text, skip, chunk);
                assert_eq!(ends, whole, "skip {skip}, chunk {chunk}");
            }
        }
    }
}
