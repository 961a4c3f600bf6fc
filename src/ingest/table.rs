//! Reads the agency's own CSV files (clients, contracts, crosswalk and the per-period
//! files): columns found by header name, each cell parsed with its position, every
//! problem recorded and the reading carried on.

use super::cell::Cell;
use crate::error::{ErrorKind, Location, Problems, display_path};
use crate::model::Currency;
use rust_decimal::Decimal;
use std::collections::HashMap;
use std::path::Path;

/// The columns a file must have and those it may have.
pub struct Columns<'a> {
    pub required: &'a [&'a str],
    pub optional: &'a [&'a str],
}

/// Header name → 0-based index.
struct Header {
    index: HashMap<String, usize>,
}

/// One record being read, with the problems it has so far.
pub struct Row<'a> {
    file: &'a Path,
    header: &'a Header,
    record: &'a csv::ByteRecord,
    line: u64,
    problems: &'a mut Problems,
}

impl Row<'_> {
    pub fn location(&self) -> Location {
        Location::line(self.file, self.line)
    }

    /// The location of a column of this row.
    pub fn at(&self, column: &str) -> Location {
        let location = self.location();
        match self.header.index.get(column) {
            Some(i) => location.with_column(*i as u64 + 1, Some(column)),
            None => location,
        }
    }

    /// Records an error about a column of this row.
    pub fn error(&mut self, column: &str, kind: ErrorKind) {
        let at = self.at(column);
        self.problems.error(at, kind);
    }

    pub fn invalid(&mut self, column: &str, expected: impl Into<String>, found: impl Into<String>) {
        self.error(
            column,
            ErrorKind::Invalid {
                expected: expected.into(),
                found: found.into(),
            },
        );
    }

    pub fn warn(&mut self, column: &str, message: impl Into<String>) {
        let at = self.at(column);
        self.problems.warn(at, message);
    }

    /// The trimmed cell, `None` when the column is absent or the cell blank.
    /// A cell that is not UTF-8 is an error (and `None`).
    pub fn text(&mut self, column: &str) -> Option<String> {
        let bytes = self
            .header
            .index
            .get(column)
            .and_then(|i| self.record.get(*i))?;
        match std::str::from_utf8(bytes) {
            Ok(text) => Some(text.trim())
                .filter(|t| !t.is_empty())
                .map(str::to_owned),
            Err(_) => {
                self.error(column, ErrorKind::NotUtf8);
                None
            }
        }
    }

    /// A required cell: an error when blank or invalid.
    pub fn req<T: Cell>(&mut self, column: &str) -> Option<T> {
        match self.text(column) {
            None => {
                self.invalid(column, T::expected(), "");
                None
            }
            Some(text) => self.parse(column, &text),
        }
    }

    /// An optional cell: `Some(None)` when blank, `None` when invalid (recorded).
    pub fn opt<T: Cell>(&mut self, column: &str) -> Option<Option<T>> {
        match self.text(column) {
            None => Some(None),
            Some(text) => self.parse(column, &text).map(Some),
        }
    }

    fn parse<T: Cell>(&mut self, column: &str, text: &str) -> Option<T> {
        let value = T::parse(text);
        if value.is_none() {
            self.invalid(column, T::expected(), text);
        }
        value
    }

    /// An amount of money in `currency`: a decimal with at most its minor units.
    /// `positive` requires it above 0, else 0 or more.
    pub fn amount(
        &mut self,
        column: &str,
        currency: Currency,
        positive: bool,
    ) -> Option<Option<Decimal>> {
        let Some(text) = self.text(column) else {
            return Some(None);
        };
        let expected = if positive {
            "an amount above 0"
        } else {
            "an amount of 0 or more"
        };
        let Some(amount) = super::cell::parse_decimal(&text).filter(|a| {
            if positive {
                *a > Decimal::ZERO
            } else {
                !a.is_sign_negative() || a.is_zero()
            }
        }) else {
            self.invalid(column, expected, text);
            return None;
        };
        if !currency.fits(amount) {
            let units = currency.minor_units();
            self.invalid(
                column,
                format!("an amount in {currency} with at most {units} decimals"),
                text,
            );
            return None;
        }
        Some(Some(amount))
    }

    pub fn req_amount(
        &mut self,
        column: &str,
        currency: Currency,
        positive: bool,
    ) -> Option<Decimal> {
        match self.amount(column, currency, positive) {
            Some(None) => {
                let expected = if positive {
                    "an amount above 0"
                } else {
                    "an amount of 0 or more"
                };
                self.invalid(column, expected, "");
                None
            }
            other => other.flatten(),
        }
    }
}

/// Reads `<dir>/<file>` record by record. Returns `false` when the file does not exist
/// (an error only if the caller says so); every other problem is recorded.
pub fn read(
    dir: &Path,
    file: &Path,
    columns: &Columns,
    problems: &mut Problems,
    mut each: impl FnMut(&mut Row),
) -> bool {
    let handle = match std::fs::File::open(dir.join(file)) {
        Ok(handle) => handle,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return false,
        Err(e) => {
            problems.error(Location::file(file), ErrorKind::Io(e));
            return true;
        }
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(std::io::BufReader::new(handle));
    let header = match reader.byte_headers() {
        Ok(fields) if fields.iter().any(|f| !f.is_empty()) => fields.clone(),
        Ok(_) => {
            let names = columns.required.join(", ");
            problems.error(
                Location::file(file),
                ErrorKind::Empty(format!(" with columns {names}")),
            );
            return true;
        }
        Err(e) => {
            record_csv_error(file, e, problems);
            return true;
        }
    };
    let Some(header) = read_header(file, &header, columns, problems) else {
        return true;
    };
    let mut record = csv::ByteRecord::new();
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let line = record.position().map_or(0, csv::Position::line);
                let mut row = Row {
                    file,
                    header: &header,
                    record: &record,
                    line,
                    problems,
                };
                each(&mut row);
            }
            Err(e) => {
                let fatal = !matches!(e.kind(), csv::ErrorKind::UnequalLengths { .. });
                record_csv_error(file, e, problems);
                if fatal {
                    break;
                }
            }
        }
    }
    true
}

fn read_header(
    file: &Path,
    fields: &csv::ByteRecord,
    columns: &Columns,
    problems: &mut Problems,
) -> Option<Header> {
    let mut index = HashMap::new();
    let header_at = || Location::line(file, 1);
    for (i, field) in fields.iter().enumerate() {
        let Ok(name) = std::str::from_utf8(field) else {
            problems.error(
                header_at().with_column(i as u64 + 1, None),
                ErrorKind::NotUtf8,
            );
            return None;
        };
        let name = name.trim().to_owned();
        let used =
            columns.required.contains(&name.as_str()) || columns.optional.contains(&name.as_str());
        if let Some(first) = index.insert(name.clone(), i)
            && used
        {
            let kind = ErrorKind::DuplicateColumn {
                name,
                first: first as u64 + 1,
                second: i as u64 + 1,
            };
            problems.error(header_at().with_column(i as u64 + 1, None), kind);
            return None;
        }
    }
    let missing: Vec<_> = columns
        .required
        .iter()
        .filter(|c| !index.contains_key(**c))
        .collect();
    for column in &missing {
        problems.error(header_at(), ErrorKind::MissingColumn(column.to_string()));
    }
    missing.is_empty().then_some(Header { index })
}

fn record_csv_error(file: &Path, error: csv::Error, problems: &mut Problems) {
    let line = error.position().map(csv::Position::line);
    let location = Location {
        file: file.to_owned(),
        line,
        column: None,
    };
    let kind = match error.into_kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => ErrorKind::FieldCount {
            expected: expected_len as usize,
            found: len as usize,
        },
        csv::ErrorKind::Io(e) => ErrorKind::Io(e),
        other => ErrorKind::Csv(format!("{other:?} in {}", display_path(file))),
    };
    problems.error(location, kind);
}
