//! What a bundle attests (seal.md): `statement.json` of a client's bundle and
//! `sources.json` of the agency's. Deterministic JSON: keys in the documented order,
//! two-space indent, LF line ends and a final LF, no floats (amounts are decimal
//! strings), text as UTF-8.

use serde::{Deserialize, Serialize};

pub const STATEMENT: &str = "statement.json";
pub const SOURCES: &str = "sources.json";
pub const STATEMENT_TYPE: &str = "tallyseal.statement.v1";
pub const SOURCES_TYPE: &str = "tallyseal.sources.v1";

/// `statement.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleStatement {
    #[serde(rename = "type")]
    pub kind: String,
    pub agency: String,
    pub client_id: String,
    pub period: String,
    pub period_first: String,
    pub period_last: String,
    /// Counts the client's bundles from 1 with no gaps.
    pub seq: u64,
    /// SHA-256 of the previous bundle's `SHA256SUMS`; null for `seq` 1.
    pub prev: Option<String>,
    /// Null in an unsigned preview.
    pub key_id: Option<String>,
    pub invoice_number: Option<String>,
    pub invoice_total: Option<String>,
    pub currency: String,
    /// Sorted by `file`.
    pub sources: Vec<SourceSeal>,
    pub generator: String,
}

/// One raw export as a statement names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceSeal {
    pub source: String,
    pub file: String,
    pub size: u64,
    pub sha256: String,
    pub leaves: u64,
    pub root: String,
}

/// `agency/<period>/sources.json`: every raw export of the period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeriodSources {
    #[serde(rename = "type")]
    pub kind: String,
    pub agency: String,
    pub period: String,
    pub period_first: String,
    pub period_last: String,
    pub key_id: Option<String>,
    /// Sorted by `file`.
    pub sources: Vec<SourceCount>,
    pub generator: String,
}

/// One raw export in `sources.json`: its seal and its number of data rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceCount {
    pub source: String,
    pub file: String,
    pub size: u64,
    pub sha256: String,
    pub leaves: u64,
    /// Data rows: leaves that are neither preamble, header, total nor blank.
    pub rows: u64,
    pub root: String,
}

/// `tallyseal <version>`.
pub fn generator() -> String {
    format!("tallyseal {}", env!("CARGO_PKG_VERSION"))
}

/// The deterministic JSON of seal.md.
pub fn to_json(value: &impl Serialize) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(value).expect("statements always serialize");
    bytes.push(b'\n');
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statement_json_is_byte_exact() {
        let statement = BundleStatement {
            kind: STATEMENT_TYPE.into(),
            agency: "Northwind Media Ltd".into(),
            client_id: "acme".into(),
            period: "2026-10".into(),
            period_first: "2026-10-01".into(),
            period_last: "2026-10-31".into(),
            seq: 1,
            prev: None,
            key_id: Some("ab".into()),
            invoice_number: None,
            invoice_total: None,
            currency: "EUR".into(),
            sources: vec![SourceSeal {
                source: "google_ads".into(),
                file: "periods/2026-10/exports/g.csv".into(),
                size: 10,
                sha256: "cd".into(),
                leaves: 3,
                root: "ef".into(),
            }],
            generator: "tallyseal 0.1.0".into(),
        };
        let expected = r#"{
  "type": "tallyseal.statement.v1",
  "agency": "Northwind Media Ltd",
  "client_id": "acme",
  "period": "2026-10",
  "period_first": "2026-10-01",
  "period_last": "2026-10-31",
  "seq": 1,
  "prev": null,
  "key_id": "ab",
  "invoice_number": null,
  "invoice_total": null,
  "currency": "EUR",
  "sources": [
    {
      "source": "google_ads",
      "file": "periods/2026-10/exports/g.csv",
      "size": 10,
      "sha256": "cd",
      "leaves": 3,
      "root": "ef"
    }
  ],
  "generator": "tallyseal 0.1.0"
}
"#;
        assert_eq!(String::from_utf8(to_json(&statement)).unwrap(), expected);
        let back: BundleStatement = serde_json::from_str(expected).unwrap();
        assert_eq!(back, statement);
    }
}
