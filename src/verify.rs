//! `tallyseal verify`: the checks of seal.md ("Verification") on one bundle, each
//! reported as it runs, stopping at the first that fails.
//!
//! 1. `signature`: `SHA256SUMS.sig` is a valid Ed25519 signature (`verify_strict`) of
//!    the exact bytes of `SHA256SUMS` by one of the keys the verifier trusts;
//! 2. `files`: every listed file is present with its listed hash, and no other file is;
//! 3. `statement`: `statement.json` (an agency bundle: `sources.json`) parses, names the
//!    client and period of the bundle's place, and the key that signed it;
//! 4. `proofs`: every slice recomputes its export's root through its multiproof, and
//!    the proof's file, size, hash, leaf count and root are the statement's;
//! 5. `chain`: `seq` 1 has no `prev`; with `--prev`, the previous bundle verifies too,
//!    is the same client's for the month before, `seq` follows its `seq`, and `prev` is
//!    the SHA-256 of its `SHA256SUMS`;
//! 6. `sources` (with `--sources`): each full raw export hashes to the stated SHA-256
//!    and root.

use crate::error::{Problems, display_path};
use crate::ingest::config;
use crate::seal::keys::{self, hex};
use crate::seal::leaves::seal_file;
use crate::seal::manifest::{self, SIGNATURE, SUMS};
use crate::seal::merkle::{Hash, leaf_hash, root_from_proof};
use crate::seal::proof::Proof;
use crate::seal::statement::{
    BundleStatement, PeriodSources, SOURCES, SOURCES_TYPE, STATEMENT, STATEMENT_TYPE,
};
use ed25519_dalek::{Signature, VerifyingKey};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A public key the verifier was given, out of band.
#[derive(Debug, Clone)]
pub struct TrustedKey {
    pub path: PathBuf,
    pub key: VerifyingKey,
    pub key_id: String,
}

impl TrustedKey {
    pub fn read(path: &Path) -> Result<TrustedKey, keys::KeyError> {
        let key = keys::read_public(path)?;
        Ok(TrustedKey {
            path: path.to_owned(),
            key_id: keys::key_id(&key),
            key,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    Skipped,
}

/// The outcome of one check.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    #[serde(rename = "check")]
    pub number: u8,
    pub name: &'static str,
    pub status: Status,
    pub detail: String,
}

/// Every check run, in order; the last one is the failure when `verified` is false.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub bundle: String,
    pub verified: bool,
    pub checks: Vec<Check>,
}

impl Report {
    pub fn failure(&self) -> Option<&Check> {
        self.checks.iter().find(|c| c.status == Status::Fail)
    }
}

/// What a bundle attests: a client's statement, or the agency's sources of a period.
enum Attested {
    Client(BundleStatement),
    Agency(PeriodSources),
}

/// One raw export as the attesting file names it.
struct Named<'a> {
    source: &'a str,
    file: &'a str,
    size: u64,
    sha256: &'a str,
    leaves: u64,
    root: &'a str,
}

impl Attested {
    fn sources(&self) -> Vec<Named<'_>> {
        match self {
            Attested::Client(s) => s
                .sources
                .iter()
                .map(|s| Named {
                    source: &s.source,
                    file: &s.file,
                    size: s.size,
                    sha256: &s.sha256,
                    leaves: s.leaves,
                    root: &s.root,
                })
                .collect(),
            Attested::Agency(s) => s
                .sources
                .iter()
                .map(|s| Named {
                    source: &s.source,
                    file: &s.file,
                    size: s.size,
                    sha256: &s.sha256,
                    leaves: s.leaves,
                    root: &s.root,
                })
                .collect(),
        }
    }
}

/// A check's detail when it holds, or why it does not.
type Outcome = Result<String, String>;

/// What a bundle is verified against.
#[derive(Debug, Clone, Copy)]
pub struct Against<'a> {
    /// The keys the verifier trusts.
    pub keys: &'a [TrustedKey],
    /// The agency's project, holding the full raw exports.
    pub sources: Option<&'a Path>,
    /// The client's previous bundle.
    pub prev: Option<&'a Path>,
}

/// Verifies the bundle in `bundle`. `progress` sees each check as it completes.
pub fn verify(bundle: &Path, against: Against, progress: impl FnMut(&Check)) -> Report {
    run(bundle, against, progress).0
}

/// What checks 1–3 established, for the bundle after this one: its statement and the
/// exact bytes of its signed manifest.
struct Established {
    attested: Attested,
    sums: Vec<u8>,
}

fn run(
    bundle: &Path,
    against: Against,
    mut progress: impl FnMut(&Check),
) -> (Report, Option<Established>) {
    let Against {
        keys,
        sources,
        prev,
    } = against;
    let mut report = Report {
        bundle: display_path(bundle),
        verified: false,
        checks: Vec::new(),
    };
    let mut record = |number: u8, name: &'static str, outcome: Result<(Status, String), String>| {
        let (status, detail) = match outcome {
            Ok(done) => done,
            Err(detail) => (Status::Fail, detail),
        };
        let check = Check {
            number,
            name,
            status,
            detail,
        };
        progress(&check);
        report.checks.push(check);
        status != Status::Fail
    };

    // Each check works on bytes an earlier check established: the manifest as signed,
    // the files as hashed. Nothing is read from the disk twice.
    let mut signed = None;
    let signature = signature(bundle, keys).map(|(key, sums, detail)| {
        signed = Some((key, sums));
        detail
    });
    let pass = |outcome: Outcome| outcome.map(|detail| (Status::Pass, detail));
    let skip = |detail: &str| Ok((Status::Skipped, detail.to_owned()));
    if !record(1, "signature", pass(signature)) {
        return (report, None);
    }
    let (signer, sums) = signed.expect("set when check 1 passed");
    let mut held = None;
    let files = files(bundle, &sums).map(|(h, detail)| {
        held = Some(h);
        detail
    });
    if !record(2, "files", pass(files)) {
        return (report, None);
    }
    let held = held.expect("set when check 2 passed");
    let mut attested = None;
    let statement = statement(&held, bundle, &signer.key_id).map(|(a, detail)| {
        attested = Some(a);
        detail
    });
    if !record(3, "statement", pass(statement)) {
        return (report, None);
    }
    let attested = attested.expect("set when check 3 passed");
    let proofs = match &attested {
        Attested::Client(statement) => pass(proofs(&held, statement)),
        Attested::Agency(_) => skip("an agency bundle holds no slices"),
    };
    if !record(4, "proofs", proofs) {
        return (report, None);
    }
    let chain = match (&attested, prev) {
        (Attested::Agency(_), _) => skip("an agency bundle has no chain"),
        (Attested::Client(statement), prev) => match (chain_form(statement), prev) {
            (Err(e), _) => Err(e),
            (Ok(_), Some(prev)) => pass(chain(statement, prev, keys)),
            (Ok(first), None) if first => {
                pass(Ok("the client's first bundle: seq 1, no prev".into()))
            }
            (Ok(_), None) => {
                skip("not checked: give --prev <the client's previous bundle> to check the chain")
            }
        },
    };
    if !record(5, "chain", chain) {
        return (report, None);
    }
    let full = match sources {
        Some(project) => pass(full_sources(project, &attested)),
        None => skip("not checked: give --sources <project> to check the full raw exports"),
    };
    if !record(6, "sources", full) {
        return (report, None);
    }
    report.verified = true;
    (report, Some(Established { attested, sums }))
}

/// The bytes of `name` in the bundle, which must be a regular file (never a link, a
/// device or a pipe, which could feed a verifier without end).
fn read(bundle: &Path, name: &str) -> Result<Vec<u8>, String> {
    let path = bundle.join(name);
    match std::fs::symlink_metadata(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(format!("{name} is missing")),
        Err(e) => Err(format!("{name}: {e}")),
        Ok(m) if !m.is_file() => Err(format!("{name} is not a plain file")),
        Ok(_) => std::fs::read(&path).map_err(|e| format!("{name}: {e}")),
    }
}

/// The bytes of verified files that later checks read, by path in the bundle.
struct Held(BTreeMap<String, Vec<u8>>);

impl Held {
    fn get(&self, name: &str) -> Result<&[u8], String> {
        self.0
            .get(name)
            .map(Vec::as_slice)
            .ok_or_else(|| format!("{name} is missing"))
    }
}

/// Check 1.
fn signature<'k>(
    bundle: &Path,
    keys: &'k [TrustedKey],
) -> Result<(&'k TrustedKey, Vec<u8>, String), String> {
    let sums = read(bundle, SUMS)?;
    let present = std::fs::symlink_metadata(bundle.join(SIGNATURE));
    if present
        .as_ref()
        .is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound)
    {
        return Err(format!(
            "{SIGNATURE} is missing: the bundle is an unsigned preview, or its signature was removed"
        ));
    }
    if let Ok(m) = &present
        && m.is_file()
        && m.len() != 64
    {
        return Err(format!(
            "{SIGNATURE} is {} bytes; a raw Ed25519 signature is 64",
            m.len()
        ));
    }
    let signature = read(bundle, SIGNATURE)?;
    let bytes: [u8; 64] = signature.as_slice().try_into().map_err(|_| {
        format!(
            "{SIGNATURE} is {} bytes; a raw Ed25519 signature is 64",
            signature.len()
        )
    })?;
    let signature = Signature::from_bytes(&bytes);
    let signer = keys
        .iter()
        .find(|k| k.key.verify_strict(&sums, &signature).is_ok())
        .ok_or_else(|| {
            let ids: Vec<&str> = keys.iter().map(|k| k.key_id.as_str()).collect();
            format!(
                "the signature does not verify with the trusted key(s) {}: {SUMS} or its signature was changed, or another key signed it",
                ids.join(", ")
            )
        })?;
    let detail = format!(
        "{SUMS} is signed by key {} ({})",
        signer.key_id,
        signer.path.display()
    );
    Ok((signer, sums, detail))
}

/// Check 2.
fn files(bundle: &Path, sums: &[u8]) -> Result<(Held, String), String> {
    let entries = manifest::parse(sums).map_err(|e| e.to_string())?;
    let mut held = Held(BTreeMap::new());
    for entry in &entries {
        let path = bundle.join(&entry.path);
        let metadata = std::fs::symlink_metadata(&path)
            .map_err(|_| format!("{} is listed in {SUMS} but missing", entry.path))?;
        if !metadata.is_file() {
            return Err(format!(
                "{} is listed in {SUMS} but is not a plain file",
                entry.path
            ));
        }
        let later =
            [STATEMENT, SOURCES].contains(&entry.path.as_str()) || entry.path.starts_with("data/");
        let hash: Hash = if later {
            let bytes = read(bundle, &entry.path)?;
            let hash = Sha256::digest(&bytes).into();
            held.0.insert(entry.path.clone(), bytes);
            hash
        } else {
            manifest::hash_file(&path)
                .map_err(|e| format!("{}: {e}", entry.path))?
                .1
        };
        if hash != entry.sha256 {
            return Err(format!(
                "{} does not match its hash in {SUMS}: it was changed",
                entry.path
            ));
        }
    }
    let listed: BTreeSet<&str> = entries.iter().map(|e| e.path.as_str()).collect();
    for entry in walkdir::WalkDir::new(bundle).sort_by_file_name() {
        let entry = entry.map_err(|e| e.to_string())?;
        if entry.file_type().is_dir() {
            continue;
        }
        let relative = display_path(entry.path().strip_prefix(bundle).unwrap_or(entry.path()));
        if relative != SUMS && relative != SIGNATURE && !listed.contains(relative.as_str()) {
            return Err(format!(
                "{relative} is in the bundle but not listed in {SUMS}"
            ));
        }
    }
    let detail = format!(
        "{} files listed, each present with its listed hash; no other file",
        entries.len()
    );
    Ok((held, detail))
}

/// The last two folder names of the bundle's place.
fn place(bundle: &Path) -> (String, String) {
    let full = std::path::absolute(bundle).unwrap_or_else(|_| bundle.to_owned());
    let full = full.canonicalize().unwrap_or(full);
    let name = |p: Option<&Path>| {
        p.and_then(Path::file_name)
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    (name(full.parent()), name(Some(&full)))
}

/// Check 3.
fn statement(held: &Held, bundle: &Path, key_id: &str) -> Result<(Attested, String), String> {
    let (owner, period) = place(bundle);
    let (attested, file, kind, who, when, signed_by) = if let Ok(bytes) = held.get(STATEMENT) {
        let statement: BundleStatement = serde_json::from_slice(bytes)
            .map_err(|e| format!("{STATEMENT} does not parse: {e}"))?;
        let (kind, who, when, by) = (
            statement.kind.clone(),
            statement.client_id.clone(),
            statement.period.clone(),
            statement.key_id.clone(),
        );
        (Attested::Client(statement), STATEMENT, kind, who, when, by)
    } else if let Ok(bytes) = held.get(SOURCES) {
        let sources: PeriodSources =
            serde_json::from_slice(bytes).map_err(|e| format!("{SOURCES} does not parse: {e}"))?;
        let (kind, when, by) = (
            sources.kind.clone(),
            sources.period.clone(),
            sources.key_id.clone(),
        );
        (
            Attested::Agency(sources),
            SOURCES,
            kind,
            "agency".into(),
            when,
            by,
        )
    } else {
        return Err(format!(
            "neither {STATEMENT} nor {SOURCES}: not a tallyseal bundle"
        ));
    };
    let expected = match attested {
        Attested::Client(_) => STATEMENT_TYPE,
        Attested::Agency(_) => SOURCES_TYPE,
    };
    if kind != expected {
        return Err(format!("{file} has type {kind:?}, not {expected:?}"));
    }
    if who != owner || when != period {
        return Err(format!(
            "{file} is for {who} {when}, but the bundle sits in {owner}/{period}: it belongs elsewhere"
        ));
    }
    if signed_by.as_deref() != Some(key_id) {
        return Err(format!(
            "{file} names key {}, but the signature is by key {key_id}",
            signed_by.as_deref().unwrap_or("null")
        ));
    }
    let detail = format!("{file}: {who}, period {when}, key {key_id}");
    Ok((attested, detail))
}

/// Check 4.
fn proofs(held: &Held, statement: &BundleStatement) -> Outcome {
    let mut expected = BTreeSet::new();
    let mut leaves_shown = 0usize;
    for (position, source) in statement.sources.iter().enumerate() {
        if position > 0 && statement.sources[position - 1].file >= source.file {
            return Err(format!(
                "{STATEMENT}: sources are not sorted by file, or one is named twice"
            ));
        }
        let name = source.file.rsplit('/').next().unwrap_or(&source.file);
        let slice_path = format!("data/{name}");
        let proof_path = format!("{slice_path}.proof.json");
        let slice = held.get(&slice_path)?;
        let proof = Proof::from_json(held.get(&proof_path)?)
            .map_err(|e| format!("{proof_path} does not parse: {e}"))?;
        if proof.seal() != *source {
            return Err(format!(
                "{proof_path} does not describe {} as {STATEMENT} does",
                source.file
            ));
        }
        let mut at = 0usize;
        let mut shown = Vec::with_capacity(proof.included.len());
        for (index, length) in &proof.included {
            let end = usize::try_from(*length)
                .ok()
                .and_then(|l| at.checked_add(l))
                .filter(|end| *end <= slice.len())
                .ok_or_else(|| {
                    format!("{slice_path} is shorter than the leaves its proof lists")
                })?;
            let index = usize::try_from(*index)
                .map_err(|_| format!("{proof_path}: a leaf index is too large"))?;
            shown.push((index, leaf_hash(&slice[at..end])));
            at = end;
        }
        if at != slice.len() {
            return Err(format!(
                "{slice_path} has {} bytes beyond the leaves its proof lists",
                slice.len() - at
            ));
        }
        let subtrees = proof.subtrees().ok_or_else(|| {
            format!("{proof_path}: a subtree is not [start, end, 64 lowercase hex digits]")
        })?;
        let leaves =
            usize::try_from(proof.leaves).map_err(|_| format!("{proof_path}: too many leaves"))?;
        let root =
            root_from_proof(leaves, &shown, &subtrees).map_err(|e| format!("{proof_path}: {e}"))?;
        if hex(&root) != source.root {
            return Err(format!(
                "{slice_path} and its proof do not recompute the root of {}: the slice or the proof was changed",
                source.file
            ));
        }
        leaves_shown += shown.len();
        expected.insert(slice_path);
        expected.insert(proof_path);
    }
    // Check 2 established that the bundle holds exactly the listed files.
    if let Some(other) = held
        .0
        .keys()
        .find(|p| p.starts_with("data/") && !expected.contains(*p))
    {
        return Err(format!(
            "{other} is neither the slice nor the proof of a source in {STATEMENT}"
        ));
    }
    Ok(format!(
        "{} slice(s), {leaves_shown} leaves, recompute their exports' roots",
        statement.sources.len()
    ))
}

/// Check 5, without the previous bundle: `seq` counts from 1, `seq` 1 alone names no
/// `prev`, and a `prev` is a SHA-256. True for the client's first bundle.
fn chain_form(statement: &BundleStatement) -> Result<bool, String> {
    match (statement.seq, &statement.prev) {
        (0, _) => Err(format!("{STATEMENT} has seq 0: bundles count from 1")),
        (1, None) => Ok(true),
        (1, Some(_)) => Err(format!("{STATEMENT} has seq 1 but names a prev")),
        (_, None) => Err(format!("{STATEMENT} has seq {} but no prev", statement.seq)),
        (_, Some(prev)) if manifest::parse_hash(prev).is_none() => {
            Err(format!("{STATEMENT}: prev is not 64 lowercase hex digits"))
        }
        _ => Ok(false),
    }
}

/// Check 5, with the previous bundle at `prev`.
fn chain(statement: &BundleStatement, prev: &Path, keys: &[TrustedKey]) -> Outcome {
    let (earlier, established) = run(
        prev,
        Against {
            keys,
            sources: None,
            prev: None,
        },
        |_| {},
    );
    if let Some(failed) = earlier.failure() {
        return Err(format!(
            "the previous bundle {} does not verify: check {} ({}): {}",
            prev.display(),
            failed.number,
            failed.name,
            failed.detail
        ));
    }
    let Some(Established {
        attested: Attested::Client(previous),
        sums,
    }) = established
    else {
        return Err(format!("{} is not a client's bundle", prev.display()));
    };
    if previous.client_id != statement.client_id {
        return Err(format!(
            "the previous bundle is client {}'s, not {}'s",
            previous.client_id, statement.client_id
        ));
    }
    let expected = crate::model::Period::parse(&previous.period).map(|p| p.next().to_string());
    if expected.as_deref() != Some(statement.period.as_str()) {
        return Err(format!(
            "the previous bundle is for {}, not the month before {}",
            previous.period, statement.period
        ));
    }
    let next = previous.seq.checked_add(1);
    if Some(statement.seq) != next {
        let should = next.map_or("beyond counting".to_owned(), |n| n.to_string());
        return Err(format!(
            "seq is {}, but the previous bundle's is {}: it should be {should}",
            statement.seq, previous.seq,
        ));
    }
    let sums = hex(&Sha256::digest(&sums));
    if statement.prev.as_deref() != Some(sums.as_str()) {
        return Err(format!(
            "prev is {}, but the previous bundle's SHA256SUMS hashes to {sums}",
            statement.prev.as_deref().unwrap_or("null")
        ));
    }
    Ok(format!(
        "follows {} (seq {} → {}); prev is the SHA-256 of its SHA256SUMS",
        previous.period, previous.seq, statement.seq
    ))
}

/// Check 6.
fn full_sources(project: &Path, attested: &Attested) -> Outcome {
    let mut problems = Problems::default();
    let config = config::load(project, &mut problems);
    let config = match config {
        Some(config) if !problems.has_errors() => config,
        _ => {
            let first = problems
                .errors
                .first()
                .map(|e| e.to_string())
                .unwrap_or_default();
            return Err(format!(
                "cannot read the project's settings in {}: {first}",
                project.display()
            ));
        }
    };
    let named = attested.sources();
    for source in &named {
        let skip_rows = config
            .sources
            .iter()
            .find(|s| s.name == source.source)
            .map(|s| s.skip_rows)
            .ok_or_else(|| {
                format!(
                    "source `{}` is not configured in {}",
                    source.source,
                    project.join("tallyseal.toml").display()
                )
            })?;
        let plain = Path::new(source.file)
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)));
        let path = project.join(source.file);
        let regular = std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_file());
        if !plain || !regular {
            return Err(format!(
                "{}: not a plain file inside {}",
                source.file,
                project.display()
            ));
        }
        let seal = seal_file(&path, skip_rows).map_err(|e| format!("{}: {e}", path.display()))?;
        let differs = |what: &str, found: String, stated: String| {
            Err(format!(
                "{}: its {what} is {found}, but the bundle states {stated}",
                source.file
            ))
        };
        if seal.size != source.size {
            return differs("size", seal.size.to_string(), source.size.to_string());
        }
        if hex(&seal.sha256) != source.sha256 {
            return differs("SHA-256", hex(&seal.sha256), source.sha256.to_owned());
        }
        if seal.tree.len() as u64 != source.leaves {
            return differs(
                "leaf count",
                seal.tree.len().to_string(),
                source.leaves.to_string(),
            );
        }
        if hex(&seal.tree.root()) != source.root {
            return differs(
                "Merkle root",
                hex(&seal.tree.root()),
                source.root.to_owned(),
            );
        }
    }
    Ok(format!(
        "{} raw export(s) in {} hash to the stated SHA-256 and root",
        named.len(),
        project.display()
    ))
}
