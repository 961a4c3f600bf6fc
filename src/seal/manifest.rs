//! `SHA256SUMS` (seal.md): one line `<64 hex>  <path>` per file of a bundle, in GNU
//! `sha256sum` format, paths relative to the bundle, `/`-separated, sorted bytewise, LF
//! line ends. A path holding a backslash, line feed or carriage return is written as GNU
//! coreutils does: the line starts with `\` and those bytes are escaped (`\\`, `\n`,
//! `\r`), so `sha256sum -c` reads it back.

use super::merkle::Hash;
use sha2::{Digest, Sha256};

/// The file name of the manifest, and of its signature.
pub const SUMS: &str = "SHA256SUMS";
pub const SIGNATURE: &str = "SHA256SUMS.sig";

/// One line of a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub path: String,
    pub sha256: Hash,
}

/// The manifest of `files` (`(path, bytes)`; any order).
pub fn write<'a>(files: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> String {
    write_entries(files.into_iter().map(|(path, bytes)| Entry {
        path: path.to_owned(),
        sha256: Sha256::digest(bytes).into(),
    }))
}

/// [`write()`] from files already hashed.
pub fn write_entries(entries: impl IntoIterator<Item = Entry>) -> String {
    let mut entries: Vec<Entry> = entries.into_iter().collect();
    entries.sort_by(|a, b| a.path.as_bytes().cmp(b.path.as_bytes()));
    let mut text = String::new();
    for entry in &entries {
        let escaped = escape(&entry.path);
        if escaped != entry.path {
            text.push('\\');
        }
        text.push_str(&super::keys::hex(&entry.sha256));
        text.push_str("  ");
        text.push_str(&escaped);
        text.push('\n');
    }
    text
}

fn escape(path: &str) -> String {
    path.replace('\\', "\\\\")
        .replace('\n', "\\n")
        .replace('\r', "\\r")
}

/// Why a manifest cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    #[error("SHA256SUMS line {line}: {reason}")]
    Line { line: usize, reason: String },
    #[error("SHA256SUMS is not UTF-8 text")]
    NotUtf8,
    #[error("SHA256SUMS does not end with a line feed")]
    NoFinalLf,
}

/// Reads a manifest written by [`write()`]: strictly, so that a manifest that parses
/// lists each file once, sorted, in the one form tallyseal writes.
pub fn parse(bytes: &[u8]) -> Result<Vec<Entry>, ManifestError> {
    let text = std::str::from_utf8(bytes).map_err(|_| ManifestError::NotUtf8)?;
    if !text.is_empty() && !text.ends_with('\n') {
        return Err(ManifestError::NoFinalLf);
    }
    let mut entries: Vec<Entry> = Vec::new();
    let Some(body) = text.strip_suffix('\n') else {
        return Ok(entries);
    };
    for (number, raw) in body.split('\n').enumerate() {
        let line = number + 1;
        let bad = |reason: &str| ManifestError::Line {
            line,
            reason: reason.to_owned(),
        };
        if raw.contains('\r') {
            return Err(bad("a carriage return: lines end with LF alone"));
        }
        let (escaped, rest) = match raw.strip_prefix('\\') {
            Some(rest) => (true, rest),
            None => (false, raw),
        };
        let (hash, path) = rest
            .split_once("  ")
            .ok_or_else(|| bad("expected `<64 hex digits>  <path>`"))?;
        let sha256 = parse_hash(hash).ok_or_else(|| bad("expected 64 lowercase hex digits"))?;
        let path = if escaped {
            unescape(path).ok_or_else(|| bad("a bad escape in the path"))?
        } else {
            path.to_owned()
        };
        if path.is_empty()
            || path.starts_with('/')
            || path
                .split('/')
                .any(|c| c.is_empty() || c == "." || c == "..")
        {
            return Err(bad(
                "the path is not a plain relative path inside the bundle",
            ));
        }
        if let Some(before) = entries.last()
            && before.path.as_bytes() >= path.as_bytes()
        {
            return Err(bad("paths are not sorted bytewise, or one is listed twice"));
        }
        entries.push(Entry { path, sha256 });
    }
    Ok(entries)
}

/// The size and SHA-256 of the file at `path`, read once in blocks.
pub fn hash_file(path: &std::path::Path) -> std::io::Result<(u64, Hash)> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut size = 0u64;
    loop {
        match file.read(&mut buf) {
            Ok(0) => return Ok((size, hasher.finalize().into())),
            Ok(n) => {
                hasher.update(&buf[..n]);
                size += n as u64;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Lowercase hex of 32 bytes, back to bytes.
pub fn parse_hash(text: &str) -> Option<Hash> {
    if text.len() != 64 || !text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    let mut hash = [0u8; 32];
    for (i, byte) in hash.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(hash)
}

fn unescape(path: &str) -> Option<String> {
    let mut out = String::with_capacity(path.len());
    let mut chars = path.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        out.push(match chars.next()? {
            '\\' => '\\',
            'n' => '\n',
            'r' => '\r',
            _ => return None,
        });
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_bytewise_with_two_spaces() {
        let text = write([
            ("b.txt", b"b".as_slice()),
            ("a/z.txt", b"".as_slice()),
            ("a.txt", b"a".as_slice()),
        ]);
        let lines: Vec<&str> = text.lines().map(|l| &l[66..]).collect();
        // Bytewise, `.` (0x2e) sorts before `/` (0x2f).
        assert_eq!(lines, ["a.txt", "a/z.txt", "b.txt"]);
        assert!(text.starts_with(
            "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb  a.txt\n"
        ));
        assert_eq!(parse(text.as_bytes()).unwrap().len(), 3);
    }

    #[test]
    fn awkward_names_are_escaped_as_gnu_does() {
        let text = write([("a\\b\nc", b"x".as_slice())]);
        assert!(text.starts_with('\\'));
        assert!(text.ends_with("  a\\\\b\\nc\n"));
        assert_eq!(parse(text.as_bytes()).unwrap()[0].path, "a\\b\nc");
    }

    #[test]
    fn anything_else_is_rejected() {
        let good = write([("a", b"x".as_slice()), ("b", b"y".as_slice())]);
        assert!(parse(good.as_bytes()).is_ok());
        let swapped: String = good.lines().rev().map(|l| format!("{l}\n")).collect();
        assert!(parse(swapped.as_bytes()).is_err());
        assert!(parse(good.trim_end().as_bytes()).is_err());
        assert!(parse(good.replace("  ", " ").as_bytes()).is_err());
        assert!(parse(good.replacen("  a", "  ../a", 1).as_bytes()).is_err());
        assert!(parse(good.to_uppercase().as_bytes()).is_err());
        assert!(parse(good.replace('\n', "\r\n").as_bytes()).is_err());
        assert_eq!(parse(b"").unwrap(), []);
    }
}
