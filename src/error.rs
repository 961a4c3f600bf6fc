//! Problems found in a project's input, each pinned to a file, a line and (where it
//! applies) a column, and the collector that gathers every problem of one run so the
//! user sees them all at once instead of fixing them one by one.

use std::fmt;
use std::path::{Path, PathBuf};

/// Where a problem is: a file relative to the project, and optionally a line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: PathBuf,
    /// 1-based line of the file (for a CSV record: the line it starts on).
    pub line: Option<u64>,
    pub column: Option<Column>,
}

/// A column of a CSV file (its 1-based position, as a spreadsheet counts, and its header)
/// or of a TOML file (its 1-based character position on the line, with no name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub number: u64,
    pub name: Option<String>,
}

impl Location {
    pub fn file(file: impl Into<PathBuf>) -> Self {
        Location {
            file: file.into(),
            line: None,
            column: None,
        }
    }

    pub fn line(file: impl Into<PathBuf>, line: u64) -> Self {
        Location {
            file: file.into(),
            line: Some(line),
            column: None,
        }
    }

    pub fn with_column(mut self, number: u64, name: Option<&str>) -> Self {
        self.column = Some(Column {
            number,
            name: name.map(str::to_owned),
        });
        self
    }

    /// `file:line`, without the column: how other messages point at a row.
    pub fn file_line(&self) -> String {
        match self.line {
            Some(line) => format!("{}:{line}", display_path(&self.file)),
            None => display_path(&self.file),
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file_line())?;
        if let Some(column) = &self.column {
            if self.line.is_some() {
                write!(f, ":{}", column.number)?;
            }
            if let Some(name) = &column.name {
                write!(f, " (column `{name}`)")?;
            }
        }
        Ok(())
    }
}

/// A path as users write it: `/`-separated whatever the platform.
pub fn display_path(path: &Path) -> String {
    path.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// What is wrong. Each variant is one class of input error of the spec.
#[derive(Debug, thiserror::Error)]
pub enum ErrorKind {
    #[error("cannot read: {0}")]
    Io(#[source] std::io::Error),
    #[error("required file is missing")]
    MissingFile,
    #[error("the file is empty: expected a header row{0}")]
    Empty(String),
    #[error("expected UTF-8 text, found bytes that are not UTF-8")]
    NotUtf8,
    #[error("{0}")]
    Toml(String),
    #[error("missing required column `{0}`")]
    MissingColumn(String),
    #[error("missing required column `{column}` (mapped by [[source]] `{source_name}`)")]
    MissingMappedColumn { column: String, source_name: String },
    #[error("column `{name}` appears twice in the header (columns {first} and {second})")]
    DuplicateColumn {
        name: String,
        first: u64,
        second: u64,
    },
    #[error("expected {expected} fields as in the header, found {found}")]
    FieldCount { expected: usize, found: usize },
    #[error("malformed CSV: {0}")]
    Csv(String),
    #[error("expected {expected}, found {found:?}")]
    Invalid { expected: String, found: String },
    #[error("{what} `{id}` is already defined at {first}")]
    Duplicate {
        what: &'static str,
        id: String,
        first: String,
    },
    #[error("{what} `{id}` does not exist{hint}")]
    Unresolved {
        what: &'static str,
        id: String,
        hint: String,
    },
    #[error("{0}")]
    Rule(String),
}

/// One input error: where and what.
#[derive(Debug, thiserror::Error)]
#[error("{location}: {kind}")]
pub struct InputError {
    pub location: Location,
    pub kind: ErrorKind,
}

/// A finding that does not stop the run but that the user should read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub location: Location,
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

/// How many errors one run keeps; the rest are only counted.
pub const ERROR_LIMIT: usize = 200;

/// Every error and warning of one run, in the order found.
#[derive(Debug, Default)]
pub struct Problems {
    pub errors: Vec<InputError>,
    /// Errors past [`ERROR_LIMIT`], counted but not kept.
    pub suppressed: usize,
    pub warnings: Vec<Warning>,
}

impl Problems {
    pub fn error(&mut self, location: Location, kind: ErrorKind) {
        if self.errors.len() < ERROR_LIMIT {
            self.errors.push(InputError { location, kind });
        } else {
            self.suppressed += 1;
        }
    }

    /// Adds what another run found, after what this one found.
    pub fn absorb(&mut self, other: Problems) {
        for error in other.errors {
            self.error(error.location, error.kind);
        }
        self.suppressed += other.suppressed;
        self.warnings.extend(other.warnings);
    }

    pub fn warn(&mut self, location: Location, message: impl Into<String>) {
        self.warnings.push(Warning {
            location,
            message: message.into(),
        });
    }

    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }

    pub fn error_count(&self) -> usize {
        self.errors.len() + self.suppressed
    }
}

/// A project that could not be loaded: every error found, and the warnings.
#[derive(Debug, thiserror::Error)]
#[error("{} error(s) in the project", .problems.error_count())]
pub struct LoadError {
    pub problems: Problems,
}
