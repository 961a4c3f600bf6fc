//! One period folder: its raw exports and its optional CSV files, notes and attachments.

use super::cell::{Id, Positive};
use super::export::{self, ExportSpec};
use super::table::{self, Columns, Row};
use crate::error::{ErrorKind, Location, Problems, display_path};
use crate::model::{
    Adjustment, AdjustmentKind, Approval, CauseCode, ChangeOrder, Client, ClientScope, Config,
    Currency, Evidence, Explanation, ExportFile, FxRate, Line, ManualStatus, ManualStep, Milestone,
    Payment, Period, PeriodData, PricingModel, Rows, TimesheetEntry,
};
use chrono::NaiveDate;
use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

/// What a period's files refer to.
pub struct Master<'a> {
    pub dir: &'a Path,
    pub config: &'a Config,
    pub clients: &'a [Client],
    pub lines: HashMap<&'a str, &'a Line>,
}

impl Master<'_> {
    fn client(&self, client_id: &str) -> Option<&Client> {
        self.clients
            .binary_search_by(|c| c.client_id.as_str().cmp(client_id))
            .ok()
            .map(|i| &self.clients[i])
    }
}

/// The inputs a period folder may hold; anything else is reported and ignored.
const KNOWN: &[&str] = &[
    "exports",
    "fx.csv",
    "change_orders.csv",
    "milestones.csv",
    "timesheets.csv",
    "adjustments.csv",
    "variances.csv",
    "payments.csv",
    "checklist.csv",
    "notes",
    "attachments",
    "sealed",
    "seal.lock",
];

/// Reads `periods/<period>/`; its exports only when `exports` is set.
pub fn load(master: &Master, period: Period, exports: bool, problems: &mut Problems) -> PeriodData {
    let folder = Path::new("periods").join(period.to_string());
    let mut data = PeriodData::new(period);
    let mut reader = PeriodReader {
        master,
        folder: &folder,
        period,
        problems,
    };
    reader.unknown_entries();
    data.attachments = reader.attachments();
    if exports {
        (data.exports, data.rows) = reader.exports();
    }
    data.fx = reader.fx();
    data.change_orders = reader.change_orders();
    data.milestones = reader.milestones();
    data.timesheets = reader.timesheets();
    data.adjustments = reader.adjustments();
    data.explanations = reader.explanations();
    data.payments = reader.payments();
    data.checklist = reader.checklist();
    data.notes = reader.notes();
    data
}

struct PeriodReader<'a> {
    master: &'a Master<'a>,
    /// Relative to the project.
    folder: &'a Path,
    period: Period,
    problems: &'a mut Problems,
}

impl PeriodReader<'_> {
    /// Every file under `exports/`, each matched to exactly one `[[source]]`, read on
    /// every core at once (each in one streaming pass), kept in file order.
    fn exports(&mut self) -> (Vec<ExportFile>, Rows) {
        use rayon::prelude::*;
        let reader = self;
        let sources = &reader.master.config.sources;
        let mut specs = Vec::new();
        for relative in reader.files_under("exports") {
            let path = reader.folder.join(&relative);
            let matched: Vec<usize> = (0..sources.len())
                .filter(|i| sources[*i].matcher.is_match(&relative))
                .collect();
            let &[source_index] = matched.as_slice() else {
                let message = if matched.is_empty() {
                    let globs: Vec<_> = sources
                        .iter()
                        .map(|s| format!("{} = \"{}\"", s.name, s.files))
                        .collect();
                    format!(
                        "matches no [[source]] glob ({})",
                        if globs.is_empty() {
                            "none defined".into()
                        } else {
                            globs.join(", ")
                        }
                    )
                } else {
                    let names: Vec<_> = matched.iter().map(|i| sources[*i].name.as_str()).collect();
                    format!(
                        "matches the globs of several sources ({}); it must match exactly one",
                        names.join(", ")
                    )
                };
                reader
                    .problems
                    .error(Location::file(&path), ErrorKind::Rule(message));
                continue;
            };
            specs.push(ExportSpec {
                dir: reader.master.dir,
                path,
                source_index,
                source: &sources[source_index],
                period: reader.period,
                // Its rows are renumbered if an export before it cannot be read.
                export_index: specs.len(),
            });
        }
        // Each export with its own rows and problems, on every core, the largest
        // first so that no core is left with a large one at the end; merged in file order.
        let size =
            |spec: &ExportSpec| std::fs::metadata(spec.dir.join(&spec.path)).map_or(0, |m| m.len());
        let mut by_size: Vec<(u64, ExportSpec)> =
            specs.into_iter().map(|s| (size(&s), s)).collect();
        by_size.sort_by_key(|(size, spec)| (std::cmp::Reverse(*size), spec.export_index));
        // `par_bridge`: each core takes the next export as it comes free.
        let mut read: Vec<_> = by_size
            .into_iter()
            .par_bridge()
            .map(|(_, spec)| {
                let index = spec.export_index;
                let mut problems = Problems::default();
                let export = export::read(spec, &mut problems);
                (index, export, problems)
            })
            .collect();
        read.sort_by_key(|(index, _, _)| *index);
        let (mut exports, mut rows) = (Vec::new(), Rows::new());
        for (_, export, problems) in read {
            reader.problems.absorb(problems);
            if let Some(export) = export {
                // Rows are indexed by `u32` (model::Rows::MAX).
                if rows.len() + export.rows.len() > Rows::MAX {
                    let message = "a period's exports hold at most 4,294,967,295 delivery rows";
                    let at = Location::file(&export.file.path);
                    reader.problems.error(at, ErrorKind::Rule(message.into()));
                } else {
                    // Its index among the exports read, which its rows point at.
                    let index = u32::try_from(exports.len()).expect("as many exports as rows");
                    rows.append(export.rows, index);
                }
                exports.push(export.file);
            }
        }
        (exports, rows)
    }

    fn unknown_entries(&mut self) {
        let Ok(entries) = std::fs::read_dir(self.master.dir.join(self.folder)) else {
            return;
        };
        let mut names: Vec<_> = entries
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        for name in names.iter().filter(|n| !KNOWN.contains(&n.as_str())) {
            self.problems.warn(
                Location::file(self.folder.join(name)),
                "not an input of a period folder; ignored",
            );
        }
    }

    /// Files under a subfolder, relative to the period folder, sorted.
    fn files_under(&mut self, sub: &str) -> Vec<PathBuf> {
        let root = self.master.dir.join(self.folder);
        let mut files = Vec::new();
        for entry in walkdir::WalkDir::new(root.join(sub)).sort_by_file_name() {
            match entry {
                Ok(entry) if !entry.file_type().is_dir() => {
                    if let Ok(relative) = entry.path().strip_prefix(&root) {
                        files.push(relative.to_owned());
                    }
                }
                Ok(_) => {}
                Err(e)
                    if e.io_error()
                        .is_some_and(|io| io.kind() == std::io::ErrorKind::NotFound)
                        && e.depth() == 0 => {}
                Err(e) => {
                    let path = e
                        .path()
                        .and_then(|p| p.strip_prefix(self.master.dir).ok())
                        .unwrap_or(self.folder)
                        .to_owned();
                    self.problems.error(
                        Location::file(path),
                        ErrorKind::Rule(format!("cannot read: {e}")),
                    );
                }
            }
        }
        files
    }

    fn attachments(&mut self) -> Vec<PathBuf> {
        self.files_under("attachments")
            .into_iter()
            .filter_map(|p| p.strip_prefix("attachments").ok().map(Path::to_owned))
            .collect()
    }

    fn read(&mut self, name: &str, columns: Columns, each: impl FnMut(&mut Row, &Master, Period)) {
        let (master, period) = (self.master, self.period);
        let mut each = each;
        table::read(
            master.dir,
            &self.folder.join(name),
            &columns,
            self.problems,
            |row| each(row, master, period),
        );
    }

    fn fx(&mut self) -> Vec<FxRate> {
        let columns = Columns {
            required: &["as_of", "from", "to", "rate", "source"],
            optional: &[],
        };
        let mut rates: Vec<FxRate> = Vec::new();
        self.read("fx.csv", columns, |row, _, period| {
            let (Some(as_of), Some(from), Some(to), Some(Positive(rate)), Some(source)) = (
                row.req::<NaiveDate>("as_of"),
                row.req::<Currency>("from"),
                row.req::<Currency>("to"),
                row.req::<Positive>("rate"),
                row.req::<String>("source"),
            ) else {
                return;
            };
            if from == to {
                row.invalid("to", format!("a currency other than {from}"), to.code());
                return;
            }
            if let Some(first) = rates
                .iter()
                .find(|r| (r.as_of, r.from, r.to) == (as_of, from, to))
            {
                if first.rate != rate {
                    row.error("rate", ErrorKind::Rule(format!(
                        "conflicting rate for {from}->{to} as of {as_of}: {rate} here, {} at {}",
                        first.rate,
                        first.at.file_line()
                    )));
                }
                return;
            }
            if as_of > period.last() {
                row.warn(
                    "as_of",
                    format!(
                        "after {}: never the locked rate of this period",
                        period.last()
                    ),
                );
            }
            rates.push(FxRate {
                as_of,
                from,
                to,
                rate,
                source,
                at: row.location(),
            });
        });
        rates
    }

    fn change_orders(&mut self) -> Vec<ChangeOrder> {
        let columns = Columns {
            required: &["change_id", "line_id", "effective_from", "requested_by"],
            optional: &[
                "rate",
                "budget",
                "end",
                "approved_by",
                "approved_at",
                "reference",
            ],
        };
        let mut orders = Vec::new();
        self.read("change_orders.csv", columns, |row, master, _| {
            let (
                Some(Id(change_id)),
                Some(line),
                Some(effective_from),
                Some(rate),
                Some(end),
                Some(approval),
            ) = (
                row.req::<Id>("change_id"),
                line(row, master),
                row.req::<NaiveDate>("effective_from"),
                row.opt::<super::cell::NonNegative>("rate"),
                row.opt::<NaiveDate>("end"),
                approval(row),
            )
            else {
                return;
            };
            let Some(budget) = row.amount("budget", line.currency, false) else {
                return;
            };
            if end.is_some_and(|end| end < line.start) {
                row.invalid(
                    "end",
                    format!("an end on or after the line's start {}", line.start),
                    end.map(|e| e.to_string()).unwrap_or_default(),
                );
                return;
            }
            if rate.is_some() && line.model == PricingModel::Milestone {
                row.warn("rate", "ignored: milestone lines have no rate");
            }
            if rate.is_none() && budget.is_none() && end.is_none() {
                row.warn(
                    "change_id",
                    "changes nothing: rate, budget and end are all blank",
                );
            }
            orders.push(ChangeOrder {
                change_id,
                line_id: line.line_id.clone(),
                effective_from,
                rate: rate.map(|r| r.0),
                budget,
                end,
                approval,
                reference: row.text("reference"),
                at: row.location(),
            });
        });
        orders
    }

    fn milestones(&mut self) -> Vec<Milestone> {
        let columns = Columns {
            required: &["line_id", "milestone_id", "description", "amount"],
            optional: &["accepted_on", "accepted_by", "acceptance_ref"],
        };
        let mut milestones: Vec<Milestone> = Vec::new();
        self.read("milestones.csv", columns, |row, master, _| {
            let (Some(line), Some(Id(milestone_id)), Some(description), Some(accepted_on)) = (
                line_of_model(row, master, PricingModel::Milestone),
                row.req::<Id>("milestone_id"),
                row.req::<String>("description"),
                row.opt::<NaiveDate>("accepted_on"),
            ) else {
                return;
            };
            let Some(amount) = row.req_amount("amount", line.currency, true) else {
                return;
            };
            if let Some(first) = milestones
                .iter()
                .find(|m| m.line_id == line.line_id && m.milestone_id == milestone_id)
            {
                let id = format!("{}/{milestone_id}", line.line_id);
                row.error(
                    "milestone_id",
                    ErrorKind::Duplicate {
                        what: "milestone",
                        id,
                        first: first.at.file_line(),
                    },
                );
                return;
            }
            milestones.push(Milestone {
                line_id: line.line_id.clone(),
                milestone_id,
                description,
                amount,
                accepted_on,
                accepted_by: row.text("accepted_by"),
                acceptance_ref: row.text("acceptance_ref"),
                at: row.location(),
            });
        });
        milestones
    }

    fn timesheets(&mut self) -> Vec<TimesheetEntry> {
        let columns = Columns {
            required: &["line_id", "date", "person", "hours"],
            optional: &["description"],
        };
        let mut entries = Vec::new();
        self.read("timesheets.csv", columns, |row, master, period| {
            let (Some(line), Some(date), Some(person), Some(Positive(hours))) = (
                line_of_model(row, master, PricingModel::Hourly),
                row.req::<NaiveDate>("date"),
                row.req::<String>("person"),
                row.req::<Positive>("hours"),
            ) else {
                return;
            };
            if !period.contains(date) {
                row.invalid(
                    "date",
                    format!("a date in {period} (the period folder it is in)"),
                    date.to_string(),
                );
                return;
            }
            entries.push(TimesheetEntry {
                line_id: line.line_id.clone(),
                date,
                person,
                hours,
                description: row.text("description"),
                at: row.location(),
            });
        });
        entries
    }

    fn adjustments(&mut self) -> Vec<Adjustment> {
        let columns = Columns {
            required: &[
                "adjustment_id",
                "client_id",
                "kind",
                "amount",
                "currency",
                "reason",
                "requested_by",
            ],
            optional: &[
                "line_id",
                "description",
                "approved_by",
                "approved_at",
                "evidence",
                "invoice_number",
            ],
        };
        let mut adjustments: Vec<Adjustment> = Vec::new();
        let folder = self.folder.to_owned();
        self.read("adjustments.csv", columns, |row, master, _| {
            let (
                Some(Id(adjustment_id)),
                Some(client),
                Some(kind),
                Some(currency),
                Some(reason),
                Some(approval),
                Some(evidence),
            ) = (
                row.req::<Id>("adjustment_id"),
                client(row, master),
                row.req::<AdjustmentKind>("kind"),
                row.req::<Currency>("currency"),
                row.req::<CauseCode>("reason"),
                approval(row),
                evidence(row, master.dir, &folder),
            )
            else {
                return;
            };
            let Some(line_id) = client_line(row, master, client, "line_id", false) else {
                return;
            };
            if currency != client.currency {
                row.invalid(
                    "currency",
                    format!("{}, the client's invoice currency", client.currency),
                    currency.code(),
                );
                return;
            }
            let Some(amount) = row.req_amount("amount", currency, true) else {
                return;
            };
            if let Some(first) = adjustments
                .iter()
                .find(|a| a.adjustment_id == adjustment_id)
            {
                let kind = ErrorKind::Duplicate {
                    what: "adjustment_id",
                    id: adjustment_id,
                    first: first.at.file_line(),
                };
                row.error("adjustment_id", kind);
                return;
            }
            adjustments.push(Adjustment {
                adjustment_id,
                client_id: client.client_id.clone(),
                line_id,
                kind,
                amount,
                currency,
                reason,
                description: row.text("description"),
                approval,
                evidence,
                invoice_number: row.text("invoice_number"),
                at: row.location(),
            });
        });
        adjustments
    }

    fn explanations(&mut self) -> Vec<Explanation> {
        let columns = Columns {
            required: &["client_id", "line_id", "cause", "explanation"],
            optional: &["evidence", "approved_by"],
        };
        let mut explanations = Vec::new();
        let folder = self.folder.to_owned();
        self.read("variances.csv", columns, |row, master, _| {
            let (Some(client), Some(cause), Some(explanation), Some(evidence)) = (
                client(row, master),
                row.req::<CauseCode>("cause"),
                row.req::<String>("explanation"),
                evidence(row, master.dir, &folder),
            ) else {
                return;
            };
            let Some(Some(line_id)) = client_line(row, master, client, "line_id", true) else {
                return;
            };
            explanations.push(Explanation {
                client_id: client.client_id.clone(),
                line_id,
                cause,
                explanation,
                evidence,
                approved_by: row.text("approved_by"),
                at: row.location(),
            });
        });
        explanations
    }

    fn payments(&mut self) -> Vec<Payment> {
        let columns = Columns {
            required: &[
                "payment_id",
                "client_id",
                "received_on",
                "amount",
                "currency",
            ],
            optional: &["reference", "invoice_number"],
        };
        let mut payments = Vec::new();
        self.read("payments.csv", columns, |row, master, period| {
            let (Some(Id(payment_id)), Some(client), Some(received_on), Some(currency)) = (
                row.req::<Id>("payment_id"),
                client(row, master),
                row.req::<NaiveDate>("received_on"),
                row.req::<Currency>("currency"),
            ) else {
                return;
            };
            if received_on > period.last() {
                let expected = format!("a date on or before {} (a payment belongs to the period it was received in or a later one)", period.last());
                row.invalid("received_on", expected, received_on.to_string());
                return;
            }
            if currency != client.currency {
                row.invalid("currency", format!("{}, the client's invoice currency", client.currency), currency.code());
                return;
            }
            let Some(amount) = row.req_amount("amount", currency, true) else { return };
            payments.push(Payment {
                payment_id,
                client_id: client.client_id.clone(),
                received_on,
                amount,
                currency,
                reference: row.text("reference"),
                invoice_number: row.text("invoice_number"),
                at: row.location(),
            });
        });
        payments
    }

    fn checklist(&mut self) -> Vec<ManualStep> {
        let columns = Columns {
            required: &["client_id", "step", "status"],
            optional: &["owner", "signed_off_by", "signed_off_at", "evidence"],
        };
        let mut steps = Vec::new();
        let folder = self.folder.to_owned();
        self.read("checklist.csv", columns, |row, master, _| {
            let scope = match row.text("client_id").as_deref() {
                Some("*") => Some(ClientScope::Every),
                _ => client(row, master).map(|c| ClientScope::One(c.client_id.clone())),
            };
            let (Some(client), Some(step), Some(status), Some(signed_off_at), Some(evidence)) = (
                scope,
                row.req::<String>("step"),
                row.req::<ManualStatus>("status"),
                row.opt::<NaiveDate>("signed_off_at"),
                evidence(row, master.dir, &folder),
            ) else {
                return;
            };
            steps.push(ManualStep {
                client,
                step,
                owner: row.text("owner"),
                status,
                signed_off_by: row.text("signed_off_by"),
                signed_off_at,
                evidence,
                at: row.location(),
            });
        });
        steps
    }

    /// `notes/<client_id>.md`, each for an existing client.
    fn notes(&mut self) -> std::collections::BTreeMap<String, String> {
        let mut notes = std::collections::BTreeMap::new();
        for relative in self.files_under("notes") {
            let path = self.folder.join(&relative);
            let client_id = relative
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".md"));
            let Some(client_id) = client_id.filter(|_| relative.components().count() == 2) else {
                self.problems.warn(
                    Location::file(&path),
                    "not a notes/<client_id>.md file; ignored",
                );
                continue;
            };
            if self.master.client(client_id).is_none() {
                let hint = format!(" in clients.csv (the note is {})", display_path(&path));
                self.problems.error(
                    Location::file(&path),
                    ErrorKind::Unresolved {
                        what: "client_id",
                        id: client_id.into(),
                        hint,
                    },
                );
                continue;
            }
            match std::fs::read(self.master.dir.join(&path)).map(String::from_utf8) {
                Ok(Ok(text)) => {
                    notes.insert(
                        client_id.to_owned(),
                        text.trim_start_matches('\u{feff}').to_owned(),
                    );
                }
                Ok(Err(_)) => self
                    .problems
                    .error(Location::file(&path), ErrorKind::NotUtf8),
                Err(e) => self.problems.error(Location::file(&path), ErrorKind::Io(e)),
            }
        }
        notes
    }
}

/// The `client_id` cell, resolved.
fn client<'m>(row: &mut Row, master: &'m Master) -> Option<&'m Client> {
    let Id(client_id) = row.req::<Id>("client_id")?;
    let found = master.client(&client_id);
    if found.is_none() {
        row.error(
            "client_id",
            ErrorKind::Unresolved {
                what: "client_id",
                id: client_id,
                hint: " in clients.csv".into(),
            },
        );
    }
    found
}

/// The `line_id` cell, resolved.
fn line<'m>(row: &mut Row, master: &'m Master) -> Option<&'m Line> {
    let Id(line_id) = row.req::<Id>("line_id")?;
    let found = master.lines.get(line_id.as_str()).copied();
    if found.is_none() {
        row.error(
            "line_id",
            ErrorKind::Unresolved {
                what: "line_id",
                id: line_id,
                hint: " in contracts.csv".into(),
            },
        );
    }
    found
}

/// The `line_id` cell, resolved to a line of the given pricing model.
fn line_of_model<'m>(row: &mut Row, master: &'m Master, model: PricingModel) -> Option<&'m Line> {
    let line = line(row, master)?;
    if line.model != model {
        let expected = format!("a {} line", model.as_str());
        row.invalid(
            "line_id",
            expected,
            format!("{} (a {} line)", line.line_id, line.model.as_str()),
        );
        return None;
    }
    Some(line)
}

/// An optional (or `required`) line id that must belong to `client`.
fn client_line(
    row: &mut Row,
    master: &Master,
    client: &Client,
    column: &str,
    required: bool,
) -> Option<Option<String>> {
    let id = if required {
        row.req::<Id>(column).map(Some)?
    } else {
        row.opt::<Id>(column)?
    };
    let Some(Id(line_id)) = id else {
        return Some(None);
    };
    match master.lines.get(line_id.as_str()) {
        None => {
            row.error(
                column,
                ErrorKind::Unresolved {
                    what: "line_id",
                    id: line_id,
                    hint: " in contracts.csv".into(),
                },
            );
            None
        }
        Some(line) if line.client_id != client.client_id => {
            let found = format!("{line_id} (a line of client {})", line.client_id);
            row.invalid(
                column,
                format!("a line of client {}", client.client_id),
                found,
            );
            None
        }
        Some(_) => Some(Some(line_id)),
    }
}

fn approval(row: &mut Row) -> Option<Approval> {
    let (Some(requested_by), Some(approved_at)) = (
        row.req::<String>("requested_by"),
        row.opt::<NaiveDate>("approved_at"),
    ) else {
        return None;
    };
    Some(Approval {
        requested_by,
        approved_by: row.text("approved_by"),
        approved_at,
    })
}

/// The `evidence` cell: a file under the period's `attachments/` or an `https://` URL.
fn evidence(row: &mut Row, dir: &Path, folder: &Path) -> Option<Option<Evidence>> {
    let Some(text) = row.text("evidence") else {
        return Some(None);
    };
    if let Some(rest) = text.strip_prefix("https://") {
        if rest.is_empty() || rest.chars().any(char::is_whitespace) {
            row.invalid("evidence", "an https:// URL", text);
            return None;
        }
        return Some(Some(Evidence::Url(text)));
    }
    let expected = "a path inside the period's attachments/ folder, or an https:// URL";
    let path = Path::new(&text);
    let plain = path
        .components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    if text.contains("://")
        || text.contains('\\')
        || text.starts_with('/')
        || !plain
        || text.contains(':')
    {
        row.invalid("evidence", expected, text);
        return None;
    }
    let attachments = dir.join(folder).join("attachments");
    let target = attachments.join(path);
    let inside = match (attachments.canonicalize(), target.canonicalize()) {
        (Ok(root), Ok(resolved)) => resolved.starts_with(&root) && resolved.is_file(),
        _ => {
            let shown = display_path(&folder.join("attachments").join(path));
            row.error(
                "evidence",
                ErrorKind::Unresolved {
                    what: "attachment",
                    id: shown,
                    hint: String::new(),
                },
            );
            return None;
        }
    };
    if !inside {
        row.invalid(
            "evidence",
            "a file inside attachments/ (not a folder, nor a link leading out of it)",
            text,
        );
        return None;
    }
    Some(Some(Evidence::Attachment(path.to_owned())))
}
