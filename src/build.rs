//! `build`: the whole pipeline in one function, and the output written atomically.
//!
//! load → reconcile and invoice (period by period) → render → seal → swap into place.
//! The site is written into a fresh directory beside `--out` and renamed into place only when
//! everything succeeded, so `--out` is always either the previous complete site or the
//! new one. An existing `--out` is replaced only if it holds nothing but what a build
//! writes; tallyseal never deletes what it did not make.

use crate::Project;
use crate::account::{self, AccountError, Statement};
use crate::check::{self, Conservation};
use crate::checklist::{self, Checklist, ClientPeriod};
use crate::error::LoadError;
use crate::error::{Location, Warning, display_path};
use crate::ingest::{LeafReader, Loaded};
use crate::invoice::{self, BillingError, PeriodBooks};
use crate::issued;
use crate::model::Period;
use crate::model::{LeafClass, PeriodData, amount_text};
use crate::render::verify_page::Signatures;
use crate::render::{self, TemplateError, Templates, rows};
use crate::seal::bundle;
use crate::seal::keys::{KeyError, Signer};
use crate::seal::merkle::Hash;
use crate::seal::statement::{self, BundleStatement, PeriodSources, SourceCount};
use crate::seal::{keys::hex, slice};
use crate::sealed::{self, SealError};
use crate::site::{self, SiteFiles, Staging, WriteError};
use crate::variance::{self, PeriodVariances};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// How to build.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Build without a key: an unsigned preview, marked so on every page, whose bundles
    /// have a manifest but no signature.
    pub unsigned: bool,
}

/// The stages of a build, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Loading the project: every open period's exports parsed, hashed and split; and,
    /// meanwhile, the sealed periods' inputs and stores checked.
    Ingest,
    /// Sealed periods' issued figures read back; open ones billed, settled, reviewed.
    Reconcile,
    Render,
    /// Slices, proofs, statements, manifests and signatures.
    Seal,
    Write,
}

impl Stage {
    pub fn as_str(&self) -> &'static str {
        match self {
            Stage::Ingest => "ingest",
            Stage::Reconcile => "reconcile",
            Stage::Render => "render",
            Stage::Seal => "seal",
            Stage::Write => "write",
        }
    }
}

/// Times each stage as it starts, and tells `progress`.
struct Clock<'a> {
    progress: &'a dyn Fn(Stage),
    current: Option<(Stage, std::time::Instant)>,
    done: Vec<(Stage, std::time::Duration)>,
}

impl Clock<'_> {
    fn start(&mut self, stage: Stage) {
        self.stop();
        (self.progress)(stage);
        self.current = Some((stage, std::time::Instant::now()));
    }

    fn stop(&mut self) {
        if let Some((stage, started)) = self.current.take() {
            match self.done.iter_mut().find(|(s, _)| *s == stage) {
                Some((_, took)) => *took += started.elapsed(),
                None => self.done.push((stage, started.elapsed())),
            }
        }
    }
}

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
    #[error(
        "no signing key: set [signing] key_file in tallyseal.toml or TALLYSEAL_SIGNING_KEY (make a key with `tallyseal keygen --out keys/agency.pem`), or build an unsigned preview with --unsigned"
    )]
    NoKey,
    #[error("the signing key: {0}")]
    Key(#[from] KeyError),
    #[error(
        "{} would enter the site as {}: the private key never leaves the project",
        .key.display(), .path.display()
    )]
    KeyInOutput { key: PathBuf, path: PathBuf },
    #[error(
        "{} and {} are both named {name}: a client's slices are named like their exports, so two exports of one period need different file names",
        .first.display(), .second.display()
    )]
    SliceNameClash {
        name: String,
        first: PathBuf,
        second: PathBuf,
    },
    #[error(transparent)]
    Sealed(#[from] SealError),
    #[error("{0}")]
    Issued(#[from] issued::IssuedError),
    #[error(
        "sealed period {period}: periods/{period}/sealed/{file}: {reason}; later periods build on what was issued, so restore periods/{period}/sealed from version control"
    )]
    SealedBroken {
        period: Period,
        file: String,
        reason: &'static str,
    },
    #[error("periods/{0}: no such period folder")]
    NoPeriod(Period),
    #[error("period {earlier} is still open: periods are sealed in order, so seal {earlier} first")]
    EarlierOpen { earlier: Period },
    #[error(
        "period {sealed} is sealed but the earlier period {open} is open: periods are sealed in order; restore periods/{open}/seal.lock and periods/{open}/sealed from version control"
    )]
    SealedAfterOpen { sealed: Period, open: Period },
    #[error("refusing to write the site to {}: {reason}", .out.display())]
    UnsafeOutput { out: PathBuf, reason: String },
    #[error("{}: {source}", .path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error(
        "the new site is in place, but the previous one, moved aside to {}, could not be deleted: {source}; delete it yourself",
        .previous.display()
    )]
    PreviousSiteLeft {
        previous: PathBuf,
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
    /// How long each stage took.
    pub timings: Vec<(Stage, std::time::Duration)>,
}

/// What a period's numbers are checked against: its variances, each client's checklist,
/// the agency's checklist and the conservation report of its exports.
#[derive(Debug)]
pub struct Review {
    pub variances: PeriodVariances,
    pub checklists: Vec<Checklist>,
    pub agency: Checklist,
    pub conservation: Vec<Conservation>,
    /// Each client's rows of the period, for its checklist and its slices; empty for a
    /// sealed period, whose rows are not read.
    pub client_rows: checklist::ClientRows,
}

/// Reviews every period; a row unaccounted for stops the build.
/// `key_id`: the key the bundles are signed with; none for an unsigned preview.
pub fn review(
    project: &Project,
    books: &[PeriodBooks],
    statements: &[Vec<Statement>],
    key_id: Option<&str>,
) -> Result<Vec<Review>, BuildError> {
    review_after(project, books, statements, key_id, Vec::new())
}

/// Continues the reviews of the first periods as issued (`issued`, read back from
/// their sealed bundles) with the reviews of the periods after them.
pub fn review_after(
    project: &Project,
    books: &[PeriodBooks],
    statements: &[Vec<Statement>],
    key_id: Option<&str>,
    issued: Vec<Review>,
) -> Result<Vec<Review>, BuildError> {
    let applied = |books: &PeriodBooks| -> Vec<String> {
        let adjustments = books.invoices.iter().flat_map(|i| &i.adjustments);
        adjustments.map(|a| a.adjustment_id.clone()).collect()
    };
    let mut applied_before: Vec<String> = books[..issued.len()].iter().flat_map(applied).collect();
    let mut reviews = issued;
    for (index, data) in project.periods.iter().enumerate().skip(reviews.len()) {
        let conservation = check::conservation(project, data, &books[index].out_of_flight);
        if let Some(broken) = conservation.iter().find(|c| !c.balanced()) {
            return Err(BuildError::Conservation(Box::new(broken.clone())));
        }
        let variances = variance::compute(project, books, index);
        let rows = checklist::rows_by_client(project, data);
        use rayon::prelude::*;
        let checklists: Vec<Checklist> = statements[index]
            .par_iter()
            .map(|statement| {
                checklist::client(&ClientPeriod {
                    rows: rows
                        .get(statement.client_id.as_str())
                        .map_or(&[], Vec::as_slice),
                    project,
                    data,
                    books: &books[index],
                    variances: &variances,
                    statement,
                    applied_before: &applied_before,
                    key_id,
                })
            })
            .collect();
        let agency = checklist::agency(data, &checklists);
        applied_before.extend(applied(&books[index]));
        reviews.push(Review {
            variances,
            checklists,
            agency,
            conservation,
            client_rows: rows,
        });
    }
    Ok(reviews)
}

/// Builds the project at `dir` into `out`: load, bill, settle, review, render, seal,
/// write.
/// `progress` hears of each stage as it starts.
pub fn build(
    dir: &Path,
    out: &Path,
    options: &Options,
    progress: &dyn Fn(Stage),
) -> Result<Built, BuildError> {
    let out = check_output(dir, out)?;
    let mut clock = Clock {
        progress,
        current: None,
        done: Vec::new(),
    };
    clock.start(Stage::Ingest);
    // The sealed periods' stores are checked while the open periods are parsed.
    let (loaded, stores) = rayon::join(|| Project::load_open(dir), || sealed::read_all(dir));
    let mut loaded = loaded?;
    let signer = signer(&loaded.project, options, &mut loaded.warnings)?;
    sweep_beside(&out);
    let staging = Staging::create(beside(&out, "new"))?;
    let (mut built, files) = assemble(loaded, stores, signer.as_ref(), &mut clock, staging)?;
    clock.start(Stage::Write);
    publish(dir, &out, files)?;
    clock.stop();
    built.timings = clock.done;
    Ok(built)
}

/// Every period's documents, statements of account and review: the sealed periods as
/// issued (read back from their stored bundles), the open ones computed after them.
#[derive(Debug)]
pub struct Computed {
    pub books: Vec<PeriodBooks>,
    pub statements: Vec<Vec<Statement>>,
    pub reviews: Vec<Review>,
    /// The sealed periods' stored bundles, verified, oldest first.
    pub stores: Vec<sealed::Stored>,
}

/// Checks the sealed periods (inputs against their locks, stored bundles verified),
/// reads back what they issued, and computes the open periods after them.
/// `stores`: sealed periods already checked and read ([`sealed::read_all`]); any other
/// is checked and read here.
pub fn compute(
    project: &Project,
    key_id: Option<&str>,
    mut stores: sealed::Stores,
) -> Result<Computed, BuildError> {
    let mut open = None;
    let mut sealed = Vec::new();
    for data in &project.periods {
        if !data.sealed {
            open.get_or_insert(data.period);
        } else if let Some(open) = open {
            return Err(BuildError::SealedAfterOpen {
                sealed: data.period,
                open,
            });
        } else {
            sealed.push(data);
        }
    }
    // Each sealed period checked and read back on every core at once (they do not
    // depend on each other), gathered in period order.
    // The cache, opened only if a sealed period was not read ahead.
    let cache = std::sync::OnceLock::new();
    let read_back = |(data, ahead): (&PeriodData, _)| -> Result<_, BuildError> {
        let stored = match ahead {
            Some(stored) => stored?,
            None => {
                let cache = cache.get_or_init(|| sealed::Cache::open(&project.dir));
                sealed::read(&project.dir, data.period, cache)?
            }
        };
        let issued = issued::read(project, data, &stored.files)?;
        Ok((issued, stored))
    };
    let sealed: Vec<_> = (sealed.into_iter())
        .map(|data| (data, stores.remove(&data.period)))
        .collect();
    use rayon::prelude::*;
    let read: Vec<_> = sealed.into_par_iter().map(read_back).collect();
    let (mut books, mut statements, mut reviews, mut stores) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for period in read {
        let (issued, stored) = period?;
        books.push(issued.books);
        statements.push(issued.statements);
        reviews.push(issued.review);
        stores.push(stored);
    }
    if let Some(cache) = cache.into_inner() {
        cache.save();
    }
    let books = invoice::bill_after(project, books)?;
    let statements = account::settle_after(project, &books, statements)?;
    let reviews = review_after(project, &books, &statements, key_id, reviews)?;
    Ok(Computed {
        books,
        statements,
        reviews,
        stores,
    })
}

/// Every file of the site, written into `staging` as it is made: compute, render, seal,
/// and each portal's in-browser verifier, which lists the sealed bundles.
fn assemble(
    loaded: Loaded,
    stores: sealed::Stores,
    signer: Option<&Signer>,
    clock: &mut Clock,
    staging: Staging,
) -> Result<(Built, SiteFiles), BuildError> {
    let project = &loaded.project;
    let key_id = signer.map(|s| s.key_id.as_str());
    clock.start(Stage::Reconcile);
    let computed = compute(project, key_id, stores)?;
    let Computed {
        books,
        statements,
        reviews,
        stores,
    } = computed;
    clock.start(Stage::Render);
    let templates = Templates::load(&project.dir)?;
    let mut files = SiteFiles::new(staging);
    site_files(
        &mut files,
        &templates,
        project,
        &books,
        &statements,
        &reviews,
        key_id,
    )?;
    clock.start(Stage::Seal);
    let signed = seal(
        &mut files,
        project,
        &books,
        &statements,
        &reviews,
        signer,
        stores,
    )?;
    clock.start(Stage::Render);
    render::verify_page::render(&templates, project, key_id, &signed, &mut files)?;
    clock.stop();
    let built = Built {
        files: files.len(),
        loaded,
        books,
        statements,
        reviews,
        timings: Vec::new(),
    };
    Ok((built, files))
}

/// What `seal` did.
#[derive(Debug)]
pub enum SealOutcome {
    /// The period's bundles and lock were stored.
    Sealed { bundles: usize, files: usize },
    /// The period was sealed already; nothing changed.
    AlreadySealed,
}

/// `tallyseal seal`: builds the project up to `period`, signed, and stores that period's
/// bundles under `periods/<period>/sealed/` with its `seal.lock`.
pub fn seal_period(dir: &Path, period: Period) -> Result<(Vec<Warning>, SealOutcome), BuildError> {
    let folder = sealed::folder(dir, period);
    if !folder.is_dir() {
        return Err(BuildError::NoPeriod(period));
    }
    if sealed::is_sealed(dir, period) {
        sealed::check_inputs(dir, period, &sealed::Cache::open(dir))?;
        return Ok((Vec::new(), SealOutcome::AlreadySealed));
    }
    if folder.join(sealed::STORE).exists() {
        return Err(SealError::StoreWithoutLock { period }.into());
    }
    let mut loaded = Project::load_open(dir)?;
    if let Some(earlier) = loaded
        .project
        .periods
        .iter()
        .map(|d| d.period)
        .find(|p| *p < period && !sealed::is_sealed(dir, *p))
    {
        return Err(BuildError::EarlierOpen { earlier });
    }
    let signer = signer(&loaded.project, &Options::default(), &mut loaded.warnings)?
        .ok_or(BuildError::NoKey)?;
    // Exactly the bundles `build` publishes from the same inputs and key.
    let mut clock = Clock {
        progress: &|_| {},
        current: None,
        done: Vec::new(),
    };
    let tool = dir.join(sealed::TOOL_DIR);
    site::sweep_abandoned(&tool, "seal-");
    let staging = tool.join(format!("seal-{}", std::process::id()));
    let staging = Staging::create(staging)?;
    let (built, mut files) = assemble(
        loaded,
        Default::default(),
        Some(&signer),
        &mut clock,
        staging,
    )?;
    files.retain(|path| sealed::in_bundle_of(path, period));
    let bundles = bundle::count(files.written().map(|(path, _)| path));
    sealed::store(dir, period, &files, &signer.key_id, &signer.public_pem)?;
    let outcome = SealOutcome::Sealed {
        bundles,
        files: files.len(),
    };
    Ok((built.loaded.warnings, outcome))
}

/// `tallyseal check --deep` on sealed periods: each one's inputs match its `seal.lock`
/// and its stored bundles verify (errors); today's figures of every sealed document
/// and statement of account (`books` and `statements`, recomputed from every input)
/// against the issued ones: a warning for each number that would differ.
pub fn check_sealed(
    project: &Project,
    books: &[PeriodBooks],
    statements: &[Vec<Statement>],
) -> Result<Vec<Warning>, BuildError> {
    let mut warnings = Vec::new();
    for (index, data) in project.periods.iter().enumerate() {
        if !sealed::is_sealed(&project.dir, data.period) {
            continue;
        }
        // Deep: every file hashed again, whatever the cache says.
        sealed::check_inputs(&project.dir, data.period, &sealed::Cache::none())?;
        let stored = sealed::stored(&project.dir, data.period, &sealed::Cache::none())?;
        for account in &statements[index] {
            let bundle = Path::new("clients")
                .join(&account.client_id)
                .join(data.period.to_string());
            let invoice = books[index]
                .invoices
                .iter()
                .find(|i| i.client_id == account.client_id);
            let today = [
                ("invoice.json", invoice.map(render::json::invoice)),
                ("account.json", Some(render::json::account(account))),
            ];
            for (name, computed) in today {
                let path = bundle.join(name);
                let issued = stored.files.get(&path);
                let store = Path::new("periods")
                    .join(data.period.to_string())
                    .join(sealed::STORE)
                    .join(&path);
                let warn = |message: String| Warning {
                    location: Location::file(&store),
                    message,
                };
                match (issued, computed) {
                    (Some(issued), Some(computed)) => {
                        let parse = |b: &[u8]| serde_json::from_slice(b).unwrap_or_default();
                        let mut changes = Vec::new();
                        json_changes("", &parse(issued), &parse(&computed), &mut changes);
                        warnings.extend(
                            changes
                                .into_iter()
                                .map(|c| warn(format!("would differ if computed today: {c}"))),
                        );
                    }
                    (None, Some(_)) => warnings.push(warn(
                        "today's rules would issue a document here; none was issued".into(),
                    )),
                    (Some(_), None) => warnings.push(warn(
                        "was issued, but today's rules would issue no document".into(),
                    )),
                    (None, None) => {}
                }
            }
        }
    }
    Ok(warnings)
}

/// Every difference between two JSON values, as `path: issued X, today Y`.
fn json_changes(
    path: &str,
    issued: &serde_json::Value,
    today: &serde_json::Value,
    out: &mut Vec<String>,
) {
    use serde_json::Value;
    match (issued, today) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for key in keys {
                let null = Value::Null;
                let at = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                json_changes(
                    &at,
                    a.get(key).unwrap_or(&null),
                    b.get(key).unwrap_or(&null),
                    out,
                );
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                json_changes(&format!("{path}[{i}]"), x, y, out);
            }
        }
        _ if issued != today => out.push(format!("{path}: issued {issued}, today {today}")),
        _ => {}
    }
}

/// The key to sign with, or none for an unsigned preview; a key file others may read
/// adds a warning.
fn signer(
    project: &Project,
    options: &Options,
    warnings: &mut Vec<Warning>,
) -> Result<Option<Signer>, BuildError> {
    if options.unsigned {
        return Ok(None);
    }
    let path = project.signing_key.as_ref().ok_or(BuildError::NoKey)?;
    let (signer, exposed) = Signer::load(path)?;
    if exposed {
        warnings.push(Warning {
            location: Location::file(path),
            message:
                "the private signing key can be read by other users; restrict it with `chmod 600`"
                    .into(),
        });
    }
    Ok(Some(signer))
}

/// Every output file, path relative to the site: the rendered pages and files, and the
/// attachments the clients' records reference.
fn site_files(
    files: &mut SiteFiles,
    templates: &Templates,
    project: &Project,
    books: &[PeriodBooks],
    statements: &[Vec<Statement>],
    reviews: &[Review],
    key_id: Option<&str>,
) -> Result<(), BuildError> {
    let staging = files.staging();
    let rendered = render::site(
        templates, staging, project, books, statements, reviews, key_id,
    )?;
    let key = project
        .signing_key
        .as_ref()
        .and_then(|k| k.canonicalize().ok());
    let mut written = rendered.written;
    for (path, source) in rendered.copies {
        if key.is_some() && source.canonicalize().ok() == key {
            return Err(BuildError::KeyInOutput { key: source, path });
        }
        let sha256 = staging.copy(&path, &source)?;
        written.push((path, sha256));
    }
    files.extend(written);
    Ok(())
}

/// Seals every bundle, period by period so that each client's bundles chain: the
/// client's slices of the raw exports and their proofs, `statement.json`, the signed
/// manifest; then each period's agency bundle with `sources.json`, and the public key in
/// every portal.
fn seal(
    files: &mut SiteFiles,
    project: &Project,
    books: &[PeriodBooks],
    statements: &[Vec<Statement>],
    reviews: &[Review],
    signer: Option<&Signer>,
    stores: Vec<sealed::Stored>,
) -> Result<Signatures, BuildError> {
    let key_id = signer.map(|s| s.key_id.clone());
    let agency = &project.config.agency.name;
    // Each client's last bundle: its `seq` and the SHA-256 of its manifest.
    let mut chain: HashMap<&str, (u64, Hash)> = HashMap::new();
    // Each client's bundles, by period, with the key id that signed each; and the
    // public keys, by key id.
    let mut signed = Signatures::new();
    let mut public: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    if let Some(signer) = signer {
        public.insert(
            signer.key_id.clone(),
            signer.public_pem.clone().into_bytes(),
        );
    }
    let mut stores = stores.into_iter();
    for (index, data) in project.periods.iter().enumerate() {
        let period = data.period.to_string();
        if let Some(stored) = stores.next() {
            for account in &statements[index] {
                let client_id = account.client_id.as_str();
                let bundle = Path::new("clients").join(client_id).join(&period);
                let issued = adopt(&stored, &bundle, data.period)?;
                let expected = match chain.get(client_id) {
                    Some((seq, sums)) => (seq + 1, Some(hex(sums))),
                    None => (1, None),
                };
                if (issued.seq, issued.prev.clone()) != expected {
                    return Err(BuildError::SealedBroken {
                        period: data.period,
                        file: display_path(&bundle.join(statement::STATEMENT)),
                        reason: "its seq and prev do not follow the client's previous bundle",
                    });
                }
                chain.insert(client_id, (issued.seq, issued.sums));
                let bundles = signed.entry(client_id.to_owned()).or_default();
                bundles.insert(data.period, issued.key_id);
            }
            public.extend(stored.keys);
            for (folder, listing) in stored.bundles {
                files.link(folder, listing);
            }
            continue;
        }
        let rows = &reviews[index].client_rows;
        let shown: Vec<String> = data.exports.iter().map(|e| display_path(&e.path)).collect();
        // Each client's bundle on every core at once: its slices, proofs, line CSVs,
        // statement and manifest; the client's chain and the site's index are updated
        // in client order.
        let seal_client = |account: &Statement| -> Result<ClientBundle, BuildError> {
            let client_id = account.client_id.as_str();
            let bundle = Path::new("clients").join(client_id).join(&period);
            let staging = files.staging();
            let mut added = Vec::new();
            let write = |path: PathBuf, bytes: &[u8]| -> Result<(PathBuf, Hash), WriteError> {
                let sha256 = staging.write(&path, bytes)?;
                Ok((path, sha256))
            };
            let invoice = books[index]
                .invoices
                .iter()
                .find(|i| i.client_id == client_id);
            // The CSVs of the invoice's delivery lines, filled from the leaves the slices
            // read (a line's rows are its client's), and which of them each row is in.
            let lines = invoice.map_or(&[][..], |i| i.lines.as_slice());
            let mut csvs: Vec<rows::DeliveryCsv> = (lines.iter())
                .filter(|line| rows::lists_delivery(line))
                .map(|line| rows::DeliveryCsv::new(project, data, line, &shown))
                .collect();
            let mut in_csvs: Vec<(u32, usize)> = (csvs.iter().enumerate())
                .flat_map(|(at, csv)| csv.rows().map(move |row| (row, at)))
                .collect();
            in_csvs.sort_unstable();
            let mut next = in_csvs.iter().peekable();
            let mut reader = LeafReader::new();
            let mut leaves: BTreeMap<usize, Vec<u64>> = BTreeMap::new();
            for &row in rows.get(client_id).map_or(&[][..], Vec::as_slice) {
                let origin = data.rows.origin(row);
                leaves
                    .entry(origin.export())
                    .or_default()
                    .push(origin.leaf as u64);
            }
            let mut sources = Vec::new();
            let mut named: HashMap<&std::ffi::OsStr, &Path> = HashMap::new();
            for (export_index, leaves) in leaves {
                let export = &data.exports[export_index];
                let name = export.path.file_name().unwrap_or_default();
                if let Some(first) = named.insert(name, &export.path) {
                    return Err(BuildError::SliceNameClash {
                        name: name.to_string_lossy().into_owned(),
                        first: first.to_owned(),
                        second: export.path.clone(),
                    });
                }
                let path = project.dir.join(&export.path);
                let source = &project.config.sources[export.source];
                let mut unreadable = None;
                let each = |leaf: usize, bytes: &[u8]| {
                    let at = (export_index, leaf);
                    let origin = |row: u32| data.rows.origin(row);
                    let mut split = false;
                    while let Some((row, csv)) = next.next_if(|(row, _)| {
                        (origin(*row).export(), origin(*row).leaf as usize) == at
                    }) {
                        if !std::mem::replace(&mut split, true) {
                            reader.split(bytes);
                        }
                        let cells = reader.cells(export, source.thousands_separator);
                        if csvs[*csv].row(*row, &cells).is_none() {
                            unreadable = Some(leaf);
                        }
                    }
                };
                let data_dir = bundle.join("data");
                let sliced = data_dir.join(name);
                let mut file = staging.file(&sliced)?;
                let proof = slice::slice(&path, export, &source.name, &leaves, &mut file, each)
                    .map_err(|e| match WriteError::take(e) {
                        Ok(written) => BuildError::Write(written),
                        Err(read) => io(&path)(read),
                    })?;
                if let Some(leaf) = unreadable {
                    return Err(io(&path)(LeafReader::unreadable(export, leaf)));
                }
                added.push((sliced, file.finish()?));
                let mut proof_name = name.to_owned();
                proof_name.push(".proof.json");
                added.push(write(data_dir.join(proof_name), &proof.to_json())?);
                sources.push(proof.seal());
            }
            if csvs.iter().any(|csv| !csv.is_complete()) {
                let message = "a row of a line's CSV is not among its client's rows (a bug in tallyseal; please report it)";
                return Err(io(&bundle)(std::io::Error::other(message)));
            }
            for csv in csvs {
                let path = bundle.join("lines").join(format!("{}.csv", csv.line_id()));
                let sha256 = staging.write_pieces(&path, csv.finish())?;
                added.push((path, sha256));
            }
            sources.sort_by(|a, b| a.file.cmp(&b.file));
            let (seq, prev) = match chain.get(client_id) {
                Some((seq, sums)) => (seq + 1, Some(hex(sums))),
                None => (1, None),
            };
            let attests = BundleStatement {
                kind: statement::STATEMENT_TYPE.into(),
                agency: agency.clone(),
                client_id: client_id.to_owned(),
                period: period.clone(),
                period_first: data.period.first().to_string(),
                period_last: data.period.last().to_string(),
                seq,
                prev,
                key_id: key_id.clone(),
                invoice_number: invoice.map(|i| i.number.clone()),
                invoice_total: invoice.map(|i| amount_text(i.total, i.currency)),
                currency: account.currency.code().to_owned(),
                sources,
                generator: statement::generator(),
            };
            added.push(write(
                bundle.join(statement::STATEMENT),
                &statement::to_json(&attests),
            )?);
            let sums = bundle::close(files, &mut added, &bundle, signer)?;
            Ok(ClientBundle { added, seq, sums })
        };
        use rayon::prelude::*;
        let sealed: Vec<_> = statements[index].par_iter().map(seal_client).collect();
        for (account, sealed) in statements[index].iter().zip(sealed) {
            let ClientBundle { added, seq, sums } = sealed?;
            let client_id = account.client_id.as_str();
            files.extend(added);
            chain.insert(client_id, (seq, sums));
            let bundles = signed.entry(client_id.to_owned()).or_default();
            bundles.insert(data.period, key_id.clone());
        }
        let mut sources: Vec<SourceCount> = data
            .exports
            .iter()
            .map(|export| SourceCount {
                source: project.config.sources[export.source].name.clone(),
                file: display_path(&export.path),
                size: export.size,
                sha256: hex(&export.sha256),
                leaves: export.leaf_count() as u64,
                rows: export.count(LeafClass::Data) as u64,
                root: hex(&export.tree.root()),
            })
            .collect();
        sources.sort_by(|a, b| a.file.cmp(&b.file));
        let period_sources = PeriodSources {
            kind: statement::SOURCES_TYPE.into(),
            agency: agency.clone(),
            period: period.clone(),
            period_first: data.period.first().to_string(),
            period_last: data.period.last().to_string(),
            key_id: key_id.clone(),
            sources,
            generator: statement::generator(),
        };
        let folder = Path::new("agency").join(&period);
        files.insert(
            folder.join(statement::SOURCES),
            &statement::to_json(&period_sources),
        )?;
        let mut added = Vec::new();
        bundle::close(files, &mut added, &folder, signer)?;
        files.extend(added);
    }
    for (client_id, bundles) in &signed {
        let portal = Path::new("clients").join(client_id);
        let key_ids: BTreeSet<&String> = bundles.values().flatten().collect();
        for key_id in key_ids {
            if let Some(pem) = public.get(key_id) {
                let named = format!("{key_id}.pub.pem");
                files.insert(portal.join("keys").join(named), pem)?;
            }
        }
        if let Some(signer) = signer {
            files.insert(portal.join("agency.pub.pem"), signer.public_pem.as_bytes())?;
        }
    }
    Ok(signed)
}

/// A client's bundle of an open period, sealed: the files it added to the staging folder
/// (slices, proofs, statement, manifest, signature), its place in the client's chain and
/// the SHA-256 of its manifest.
struct ClientBundle {
    added: Vec<(PathBuf, Hash)>,
    seq: u64,
    sums: Hash,
}

/// What a sealed bundle says of itself, for the bundles after it.
struct Issued {
    seq: u64,
    prev: Option<String>,
    sums: Hash,
    key_id: Option<String>,
}

/// Reads a client's stored bundle's place in the chain.
fn adopt(stored: &sealed::Stored, bundle: &Path, period: Period) -> Result<Issued, BuildError> {
    let differs = |file: &Path, reason| BuildError::SealedBroken {
        period,
        file: display_path(file),
        reason,
    };
    let sums_path = bundle.join(crate::seal::manifest::SUMS);
    let sums = stored
        .files
        .get(&sums_path)
        .ok_or_else(|| differs(bundle, "the client has no sealed bundle in it"))?;
    let statement_path = bundle.join(statement::STATEMENT);
    let attests: BundleStatement = stored
        .files
        .get(&statement_path)
        .and_then(|bytes| serde_json::from_slice(bytes).ok())
        .ok_or_else(|| differs(&statement_path, "it is missing or does not parse"))?;
    Ok(Issued {
        seq: attests.seq,
        prev: attests.prev,
        sums: Sha256::digest(sums).into(),
        key_id: attests.key_id,
    })
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BuildError + '_ {
    move |source| BuildError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Refuses an output that is `/`, the project, a folder holding the project, or a
/// folder holding anything a build does not write. Returns `out` made absolute.
fn check_output(dir: &Path, out: &Path) -> Result<PathBuf, BuildError> {
    let unsafe_output = |reason: String| BuildError::UnsafeOutput {
        out: out.to_owned(),
        reason,
    };
    let out_abs = absolute(out).map_err(io(out))?;
    if out_abs.parent().is_none() {
        return Err(unsafe_output("it is the root of the file system".into()));
    }
    let project = dir
        .canonicalize()
        .unwrap_or_else(|_| absolute(dir).unwrap_or_else(|_| dir.to_owned()));
    let out_real = out_abs.canonicalize().unwrap_or_else(|_| out_abs.clone());
    if project.starts_with(&out_real) || project.starts_with(&out_abs) {
        return Err(unsafe_output(
            "it is the project directory or holds it".into(),
        ));
    }
    if out_abs.exists() {
        for entry in std::fs::read_dir(&out_abs).map_err(io(&out_abs))? {
            let name = entry.map_err(io(&out_abs))?.file_name();
            let name = name.to_string_lossy();
            if !OUTPUT_ENTRIES.contains(&name.as_ref()) {
                return Err(unsafe_output(format!(
                    "it holds `{name}`, which a build does not write; choose an empty or new folder"
                )));
            }
        }
    }
    Ok(out_abs)
}

/// A hidden folder beside `out`, this process's own: `.<out name>.tallyseal-<what>-<pid>`.
fn beside(out: &Path, what: &str) -> PathBuf {
    out.with_file_name(format!(
        "{}{}",
        beside_prefix(out, what),
        std::process::id()
    ))
}

/// The name of [`beside`]'s folders but the process id.
fn beside_prefix(out: &Path, what: &str) -> String {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!(".{name}.tallyseal-{what}-")
}

/// Deletes what killed builds left beside `out`: their staging folders, and the
/// previous site a build had moved aside, once a site is in place again.
fn sweep_beside(out: &Path) {
    let Some(parent) = out.parent() else { return };
    site::sweep_abandoned(parent, &beside_prefix(out, "new"));
    if out.is_dir() {
        site::sweep_abandoned(parent, &beside_prefix(out, "old"));
    }
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

/// How a linked folder (a sealed bundle) reached the new site.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Placed {
    /// Moved over from the previous site, which the cache vouched held its links.
    Vouched,
    /// Moved over from the previous site, whose directory entries named its links;
    /// with the stamp of its folders taken before that check, and when.
    Moved(Option<(sealed::Stamp, i128)>),
    /// Hard-linked to the store, or copied where links are refused.
    Linked,
}

/// Puts the site of `files` (its staging folder beside `out`) in place of `out`: each
/// linked folder (a sealed bundle) is moved over whole from the previous site when that
/// holds the same files as the same inodes (its folders' stamp vouched for by the cache
/// of the project at `dir`, else [`sealed::Listing::linked_at`]), else its files are
/// hard-linked into the staging folder where the file system allows (their bytes are a
/// sealed store's, immutable), or copied. Then the staging folder is renamed to `out`;
/// on any failure the previous site stays as it was and the staging folder is deleted.
/// Last, the cache records the stamp of each folder moved over on the strength of its
/// directory entries, as it was when they were read, for the next build.
fn publish(dir: &Path, out: &Path, files: SiteFiles) -> Result<(), BuildError> {
    use rayon::prelude::*;
    let (staging, linked) = files.into_parts();
    let linked: Vec<_> = linked.into_iter().collect();
    let cache = sealed::Cache::open(dir);
    // Thousands of folders to check or link: every core at once, gathered in order.
    let placed: Vec<Placed> = linked
        .par_iter()
        .map(|(folder, listing)| {
            let previous = out.join(folder);
            let checked = sealed::cache::now();
            let shape = listing.shape_at(&previous).ok();
            if shape.is_some_and(|shape| cache.vouches_for(&previous, &shape)) {
                return Ok(Placed::Vouched);
            }
            if listing.linked_at(&previous) {
                return Ok(Placed::Moved(shape.map(|shape| (shape, checked))));
            }
            for (name, source) in listing.on_disk() {
                let target = staging.dir().join(folder).join(name);
                let linked = site::in_folder(&target, || std::fs::hard_link(&source, &target));
                if linked.is_err() {
                    site::in_folder(&target, || std::fs::copy(&source, &target))?;
                }
            }
            Ok::<_, WriteError>(Placed::Linked)
        })
        .collect::<Result<_, _>>()?;
    // Each folder moved over by its own rename, every core at once.
    let moves: Vec<Result<&PathBuf, BuildError>> = (linked.par_iter().zip(&placed))
        .filter(|(_, placed)| matches!(placed, Placed::Vouched | Placed::Moved(_)))
        .map(|((folder, _), _)| {
            let target = staging.dir().join(folder);
            site::in_folder(&target, || std::fs::rename(out.join(folder), &target))?;
            Ok(folder)
        })
        .collect();
    let (moved, failed): (Vec<_>, Vec<_>) = moves.into_iter().partition(Result::is_ok);
    let swapped = match failed.into_iter().next() {
        Some(failed) => failed.map(|_| None),
        None => swap(staging.dir(), out),
    };
    let previous = match swapped {
        Ok(previous) => previous,
        Err(error) => {
            // The previous site as it was.
            for folder in moved.into_iter().flatten() {
                let _ = std::fs::rename(staging.dir().join(folder), out.join(folder));
            }
            return Err(error);
        }
    };
    // A folder moved over is recorded as it was checked, if moving left it so (a move
    // changes neither a folder's inode nor its modification time).
    (linked.par_iter().zip(placed)).for_each(|((folder, listing), placed)| {
        let at = out.join(folder);
        if let Placed::Moved(Some((shape, checked))) = placed
            && listing.shape_at(&at).is_ok_and(|now| now == shape)
        {
            cache.record_stamp(&at, &shape, checked);
        }
    });
    cache.save();
    match previous {
        Some(previous) => std::fs::remove_dir_all(&previous)
            .map_err(|source| BuildError::PreviousSiteLeft { previous, source }),
        None => Ok(()),
    }
}

/// Renames `staging` to `out`, moving a previous `out` aside first; returns where the
/// previous site now is, for the caller to delete once the new one is in place.
fn swap(staging: &Path, out: &Path) -> Result<Option<PathBuf>, BuildError> {
    if !out.exists() {
        return std::fs::rename(staging, out)
            .map(|()| None)
            .map_err(io(out));
    }
    let previous = beside(out, "old");
    std::fs::rename(out, &previous).map_err(io(out))?;
    if let Err(e) = std::fs::rename(staging, out) {
        let _ = std::fs::rename(&previous, out);
        return Err(io(out)(e));
    }
    Ok(Some(previous))
}
