//! Ingest: a project directory, exactly as the spec's `inputs.md` defines it, becomes a
//! validated [`Project`]. Every problem of the run is collected with its file, line and
//! column; a project with any error does not load.
//!
//! The order reads like the directory: `tallyseal.toml`, the master files, then each
//! period folder (exports streamed once each, then the period's own CSV files), then
//! the checks that span periods.

mod cell;
mod classify;
pub mod config;
mod export;
mod master;
mod period;
mod table;

pub use cell::{Cell, is_identifier, parse_decimal};
pub use export::{Cells, LeafReader, ReadBackError, parse_metric, read_back, read_metrics};

use crate::error::{ErrorKind, LoadError, Location, Problems, Warning};
use crate::model::{ApprovalStatus, Period, PeriodData, Project};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The environment variable whose value (a path) overrides `[signing] key_file`.
pub const SIGNING_KEY_ENV: &str = "TALLYSEAL_SIGNING_KEY";

/// A loaded project and what the user should still read.
#[derive(Debug)]
pub struct Loaded {
    pub project: Project,
    pub warnings: Vec<Warning>,
}

impl Project {
    /// Loads the project at `dir`, every export of every period, taking the signing key
    /// override from the environment.
    pub fn load(dir: &Path) -> Result<Loaded, LoadError> {
        let key = std::env::var_os(SIGNING_KEY_ENV).map(PathBuf::from);
        load(dir, key, Exports::All)
    }

    /// Loads the project at `dir` as a build needs it: the exports of sealed periods are
    /// not read, since their documents are published as stored and their inputs are
    /// checked against `seal.lock`.
    pub fn load_open(dir: &Path) -> Result<Loaded, LoadError> {
        let key = std::env::var_os(SIGNING_KEY_ENV).map(PathBuf::from);
        load(dir, key, Exports::OpenPeriods)
    }
}

/// Which periods' exports to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exports {
    All,
    /// Only those of periods without a `seal.lock`.
    OpenPeriods,
}

/// Loads the project at `dir`; `key_override` stands for `TALLYSEAL_SIGNING_KEY`.
pub fn load(
    dir: &Path,
    key_override: Option<PathBuf>,
    exports: Exports,
) -> Result<Loaded, LoadError> {
    let mut problems = Problems::default();
    if !dir.is_dir() {
        let kind = ErrorKind::Rule(
            "not a project directory (expected a folder with tallyseal.toml)".into(),
        );
        problems.error(Location::file(dir), kind);
        return Err(LoadError { problems });
    }
    let config = config::load(dir, &mut problems);
    let clients = master::clients(dir, &mut problems);
    let lines = master::contracts(dir, &clients, &mut problems);
    let Some(config) = config else {
        return Err(LoadError { problems });
    };
    let crosswalk = master::crosswalk(dir, &config.sources, &mut problems);
    warn_unreachable_campaigns(&lines, &crosswalk, &mut problems);

    let mut periods = Vec::new();
    {
        let master = period::Master {
            dir,
            config: &config,
            clients: &clients,
            lines: lines.iter().map(|l| (l.line_id.as_str(), l)).collect(),
        };
        for period in period_folders(dir, &mut problems) {
            let sealed = crate::sealed::is_sealed(dir, period);
            let read = !sealed || exports == Exports::All;
            let mut data = period::load(&master, period, read, &mut problems);
            data.sealed = sealed;
            classify::rows(dir, &mut data, &crosswalk, &config.sources, &mut problems);
            periods.push(data);
        }
    }
    check_across_periods(&periods, &mut problems);

    if problems.has_errors() {
        return Err(LoadError { problems });
    }
    let signing_key = config::signing_key(dir, &config, key_override);
    let project = Project {
        dir: dir.to_owned(),
        config,
        signing_key,
        clients,
        lines,
        crosswalk,
        periods,
    };
    Ok(Loaded {
        project,
        warnings: problems.warnings,
    })
}

/// The `periods/YYYY-MM` folders, ascending. Anything else there is an error, since a
/// misnamed period would otherwise be silently left out.
fn period_folders(dir: &Path, problems: &mut Problems) -> Vec<Period> {
    let entries = match std::fs::read_dir(dir.join("periods")) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            problems.error(Location::file("periods"), ErrorKind::MissingFile);
            return Vec::new();
        }
        Err(e) => {
            problems.error(Location::file("periods"), ErrorKind::Io(e));
            return Vec::new();
        }
    };
    let mut periods = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let at = Location::file(Path::new("periods").join(&name));
        match (entry.path().is_dir(), Period::parse(&name)) {
            (true, Some(period)) => periods.push(period),
            (true, None) => problems.error(
                at,
                ErrorKind::Invalid {
                    expected: "a period folder named YYYY-MM".into(),
                    found: name,
                },
            ),
            _ => problems.warn(at, "not a period folder; ignored"),
        }
    }
    periods.sort();
    periods
}

/// Lines that can never be billed from delivery, and mappings that feed no line.
fn warn_unreachable_campaigns(
    lines: &[crate::model::Line],
    crosswalk: &crate::model::Crosswalk,
    problems: &mut Problems,
) {
    let mapped = crosswalk.campaigns();
    for line in lines.iter().filter(|l| l.model.needs_campaign()) {
        if let Some(campaign) = line.campaign.as_deref().filter(|c| !mapped.contains(c)) {
            let message = format!(
                "campaign `{campaign}` of line `{}` has no crosswalk.csv entry: no delivery can reach it",
                line.line_id
            );
            problems.warn(line.at.clone(), message);
        }
    }
    for campaign in mapped {
        if !lines
            .iter()
            .any(|l| l.campaign.as_deref() == Some(campaign))
        {
            let message = format!(
                "campaign `{campaign}` is mapped but no line of contracts.csv has it: its rows are never billed"
            );
            problems.warn(Location::file("crosswalk.csv"), message);
        }
    }
}

/// `change_id` and `payment_id` are unique across all periods; an adjustment applied
/// in one period and listed again later is not applied again (a warning).
fn check_across_periods(periods: &[PeriodData], problems: &mut Problems) {
    let orders = periods.iter().flat_map(|p| &p.change_orders);
    unique(
        "change_id",
        orders.map(|o| (o.change_id.as_str(), &o.at)),
        problems,
    );
    let payments = periods.iter().flat_map(|p| &p.payments);
    unique(
        "payment_id",
        payments.map(|p| (p.payment_id.as_str(), &p.at)),
        problems,
    );
    let mut applied: HashMap<&str, (Period, &Location)> = HashMap::new();
    for data in periods {
        for adjustment in &data.adjustments {
            if let Some((period, at)) = applied.get(adjustment.adjustment_id.as_str()) {
                let message = format!(
                    "adjustment `{}` was already applied in {period} ({}); it is not applied again",
                    adjustment.adjustment_id,
                    at.file_line()
                );
                problems.warn(adjustment.at.clone(), message);
            } else if adjustment.approval.status(data.period.last()) == ApprovalStatus::Approved {
                applied.insert(&adjustment.adjustment_id, (data.period, &adjustment.at));
            }
        }
    }
}

/// Reports every id seen before, naming where it was first defined.
fn unique<'a>(
    what: &'static str,
    ids: impl Iterator<Item = (&'a str, &'a Location)>,
    problems: &mut Problems,
) {
    let mut first: HashMap<&str, &Location> = HashMap::new();
    for (id, at) in ids {
        if let Some(earlier) = first.get(id) {
            let kind = ErrorKind::Duplicate {
                what,
                id: id.to_owned(),
                first: earlier.file_line(),
            };
            problems.error(at.clone(), kind);
        } else {
            first.insert(id, at);
        }
    }
}
