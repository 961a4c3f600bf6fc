//! `build`: the whole pipeline in one function, and the output written atomically.
//!
//! load → reconcile and invoice (period by period) → render → swap into place. The site
//! is written into a fresh directory beside `--out` and renamed into place only when
//! everything succeeded, so `--out` is always either the previous complete site or the
//! new one. An existing `--out` is replaced only if it holds nothing but what a build
//! writes; tallyseal never deletes what it did not make.

use crate::Project;
use crate::account::{self, AccountError, Statement};
use crate::check::{self, Conservation};
use crate::checklist::{self, Checklist, ClientPeriod};
use crate::error::LoadError;
use crate::ingest::Loaded;
use crate::invoice::{self, BillingError, PeriodBooks};
use crate::render::{self, TemplateError, Templates};
use crate::seal;
use crate::variance::{self, PeriodVariances};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The top-level entries a build writes; an existing output holding anything else is
/// not ours to replace.
const OUTPUT_ENTRIES: &[&str] = &["clients", "agency"];

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("{0}")]
    Load(#[from] LoadError),
    #[error(transparent)]
    Billing(#[from] BillingError),
    #[error(transparent)]
    Account(#[from] AccountError),
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error(
        "{}: rows read {} != billed {} + out of flight {} + unmapped {} + duplicate {} + total {} + blank {}: a row is unaccounted for (a bug in tallyseal; please report it)",
        .0.file.display(), .0.rows_read, .0.billed, .0.out_of_flight, .0.unmapped, .0.duplicate, .0.total, .0.blank
    )]
    Conservation(Box<Conservation>),
    #[error("refusing to write the site to {}: {reason}", .out.display())]
    UnsafeOutput { out: PathBuf, reason: String },
    #[error("{}: {source}", .path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What a build did.
#[derive(Debug)]
pub struct Built {
    pub loaded: Loaded,
    pub books: Vec<PeriodBooks>,
    pub statements: Vec<Vec<Statement>>,
    pub reviews: Vec<Review>,
    pub files: usize,
}

/// What a period's numbers are checked against: its variances, each client's checklist,
/// the agency's checklist and the conservation report of its exports.
#[derive(Debug)]
pub struct Review {
    pub variances: PeriodVariances,
    pub checklists: Vec<Checklist>,
    pub agency: Checklist,
    pub conservation: Vec<Conservation>,
}

/// Reviews every period; a row unaccounted for stops the build.
pub fn review(
    project: &Project,
    books: &[PeriodBooks],
    statements: &[Vec<Statement>],
) -> Result<Vec<Review>, BuildError> {
    let mut reviews = Vec::new();
    let mut applied_before: Vec<String> = Vec::new();
    for (index, data) in project.periods.iter().enumerate() {
        let conservation = check::conservation(project, data, &books[index].out_of_flight);
        if let Some(broken) = conservation.iter().find(|c| !c.balanced()) {
            return Err(BuildError::Conservation(Box::new(broken.clone())));
        }
        let variances = variance::compute(project, books, index);
        let checklists: Vec<Checklist> = statements[index]
            .iter()
            .map(|statement| {
                checklist::client(&ClientPeriod {
                    project,
                    data,
                    books: &books[index],
                    variances: &variances,
                    statement,
                    applied_before: &applied_before,
                })
            })
            .collect();
        let agency = checklist::agency(data, &checklists);
        applied_before.extend(
            books[index]
                .invoices
                .iter()
                .flat_map(|i| i.adjustments.iter().map(|a| a.adjustment_id.clone())),
        );
        reviews.push(Review {
            variances,
            checklists,
            agency,
            conservation,
        });
    }
    Ok(reviews)
}

/// Builds the project at `dir` into `out`: load, bill, settle, review, render, write.
pub fn build(dir: &Path, out: &Path) -> Result<Built, BuildError> {
    check_output(dir, out)?;
    let loaded = Project::load(dir)?;
    let books = invoice::bill(&loaded.project)?;
    let statements = account::settle(&loaded.project, &books)?;
    let reviews = review(&loaded.project, &books, &statements)?;
    let templates = Templates::load(&loaded.project.dir)?;
    let files = site_files(&templates, &loaded.project, &books, &statements, &reviews)?;
    write_atomically(out, &files)?;
    Ok(Built {
        loaded,
        books,
        statements,
        reviews,
        files: files.len(),
    })
}

/// Every output file, path relative to the site: the rendered pages and files, the
/// clients' slices of the raw exports, and the attachments their records reference.
fn site_files(
    templates: &Templates,
    project: &Project,
    books: &[PeriodBooks],
    statements: &[Vec<Statement>],
    reviews: &[Review],
) -> Result<Vec<(PathBuf, Vec<u8>)>, BuildError> {
    let rendered = render::site(templates, project, books, statements, reviews)?;
    let mut files = rendered.files;
    for (path, source) in rendered.copies {
        let bytes = std::fs::read(&source).map_err(io(&source))?;
        files.push((path, bytes));
    }
    for (index, data) in project.periods.iter().enumerate() {
        for statement in &statements[index] {
            let folder = Path::new("clients")
                .join(&statement.client_id)
                .join(data.period.to_string())
                .join("data");
            let mut leaves: BTreeMap<usize, Vec<u64>> = BTreeMap::new();
            for row in checklist::client_rows(project, data, &statement.client_id) {
                let origin = &data.rows[row].origin;
                leaves.entry(origin.export).or_default().push(origin.leaf);
            }
            for (export, leaves) in leaves {
                let export = &data.exports[export];
                let source = project.dir.join(&export.path);
                let bytes = seal::slice::slice(&source, export, &leaves).map_err(io(&source))?;
                let name = export.path.file_name().unwrap_or_default();
                files.push((folder.join(name), bytes));
            }
        }
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(files)
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BuildError + '_ {
    move |source| BuildError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Refuses an output that is `/`, the project, or a folder holding the project.
fn check_output(dir: &Path, out: &Path) -> Result<(), BuildError> {
    let unsafe_output = |reason: &str| BuildError::UnsafeOutput {
        out: out.to_owned(),
        reason: reason.into(),
    };
    let out_abs = absolute(out).map_err(io(out))?;
    if out_abs.parent().is_none() {
        return Err(unsafe_output("it is the root of the file system"));
    }
    let project = dir
        .canonicalize()
        .unwrap_or_else(|_| absolute(dir).unwrap_or_else(|_| dir.to_owned()));
    let out_real = out_abs.canonicalize().unwrap_or_else(|_| out_abs.clone());
    if project.starts_with(&out_real) || project.starts_with(&out_abs) {
        return Err(unsafe_output("it is the project directory or holds it"));
    }
    Ok(())
}

/// `path` made absolute and free of `.` and `..`, without following links.
fn absolute(path: &Path) -> std::io::Result<PathBuf> {
    let mut clean = PathBuf::new();
    for component in std::path::absolute(path)?.components() {
        match component {
            std::path::Component::ParentDir => {
                clean.pop();
            }
            std::path::Component::CurDir => {}
            other => clean.push(other),
        }
    }
    Ok(clean)
}

/// Writes `files` into a new directory beside `out`, then swaps it into place.
fn write_atomically(out: &Path, files: &[(PathBuf, Vec<u8>)]) -> Result<(), BuildError> {
    let out = absolute(out).map_err(io(out))?;
    let parent = out.parent().unwrap_or(Path::new("/")).to_owned();
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if out.exists() {
        let entries = std::fs::read_dir(&out).map_err(io(&out))?;
        for entry in entries {
            let entry = entry.map_err(io(&out))?;
            let entry_name = entry.file_name().to_string_lossy().into_owned();
            if !OUTPUT_ENTRIES.contains(&entry_name.as_str()) {
                return Err(BuildError::UnsafeOutput {
                    out: out.clone(),
                    reason: format!(
                        "it holds `{entry_name}`, which a build does not write; choose an empty or new folder"
                    ),
                });
            }
        }
    }
    std::fs::create_dir_all(&parent).map_err(io(&parent))?;
    let staging = parent.join(format!(".{name}.tallyseal-new-{}", std::process::id()));
    let result = (|| {
        std::fs::create_dir(&staging).map_err(io(&staging))?;
        for (path, bytes) in files {
            let target = staging.join(path);
            if let Some(folder) = target.parent() {
                std::fs::create_dir_all(folder).map_err(io(folder))?;
            }
            std::fs::write(&target, bytes).map_err(io(&target))?;
        }
        swap(&staging, &out)
    })();
    if result.is_err() && staging.exists() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    result
}

/// Renames `staging` to `out`, moving a previous `out` aside first and deleting it
/// only once the new site is in place.
fn swap(staging: &Path, out: &Path) -> Result<(), BuildError> {
    if !out.exists() {
        return std::fs::rename(staging, out).map_err(io(out));
    }
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let previous = out.with_file_name(format!(".{name}.tallyseal-old-{}", std::process::id()));
    std::fs::rename(out, &previous).map_err(io(out))?;
    if let Err(e) = std::fs::rename(staging, out) {
        let _ = std::fs::rename(&previous, out);
        return Err(io(out)(e));
    }
    std::fs::remove_dir_all(&previous).map_err(io(&previous))
}
