//! The project-wide files: `clients.csv`, `contracts.csv` and `crosswalk.csv`.

use super::cell::{Country, Id, NonNegative, TaxKind};
use super::table::{self, Columns};
use crate::error::{ErrorKind, Location, Problems};
use crate::model::{
    Basis, Client, Crosswalk, Currency, Line, PricingModel, SourceConfig, SourceKind, TaxTreatment,
};
use chrono::NaiveDate;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

const CLIENTS: &str = "clients.csv";
const CONTRACTS: &str = "contracts.csv";
const CROSSWALK: &str = "crosswalk.csv";

fn required_file(
    dir: &Path,
    file: &str,
    columns: &Columns,
    problems: &mut Problems,
    each: impl FnMut(&mut table::Row),
) {
    if !table::read(dir, Path::new(file), columns, problems, each) {
        problems.error(Location::file(file), ErrorKind::MissingFile);
    }
}

/// `clients.csv`, sorted by `client_id`.
pub fn clients(dir: &Path, problems: &mut Problems) -> Vec<Client> {
    let columns = Columns {
        required: &[
            "client_id",
            "name",
            "country",
            "currency",
            "tax_treatment",
            "payment_terms_days",
        ],
        optional: &["address", "tax_id", "tax_rate", "email"],
    };
    let mut clients: Vec<Client> = Vec::new();
    let mut seen: HashMap<String, Location> = HashMap::new();
    required_file(dir, CLIENTS, &columns, problems, |row| {
        let (
            Some(Id(client_id)),
            Some(name),
            Some(Country(country)),
            Some(currency),
            Some(tax),
            Some(terms),
            Some(tax_rate),
        ) = (
            row.req::<Id>("client_id"),
            row.req::<String>("name"),
            row.req::<Country>("country"),
            row.req::<Currency>("currency"),
            row.req::<TaxKind>("tax_treatment"),
            row.req::<u32>("payment_terms_days"),
            row.opt::<NonNegative>("tax_rate"),
        )
        else {
            return;
        };
        let tax_id = row.text("tax_id");
        let tax = match (tax, tax_rate) {
            (TaxKind::Standard, Some(NonNegative(rate))) => TaxTreatment::Standard { rate },
            (TaxKind::Standard, None) => {
                row.invalid(
                    "tax_rate",
                    "a tax rate in percent for a standard-rated client",
                    "",
                );
                return;
            }
            (TaxKind::ReverseCharge, _) if tax_id.is_none() => {
                row.invalid(
                    "tax_id",
                    "the client's VAT registration, required for reverse_charge",
                    "",
                );
                return;
            }
            (TaxKind::ReverseCharge, rate) | (TaxKind::Exempt, rate) => {
                if rate.is_some_and(|NonNegative(r)| !r.is_zero()) {
                    row.warn(
                        "tax_rate",
                        "ignored: no tax is charged under this tax_treatment",
                    );
                }
                if tax == TaxKind::Exempt {
                    TaxTreatment::Exempt
                } else {
                    TaxTreatment::ReverseCharge
                }
            }
        };
        if let Some(first) = seen.get(&client_id) {
            let kind = ErrorKind::Duplicate {
                what: "client_id",
                id: client_id,
                first: first.file_line(),
            };
            row.error("client_id", kind);
            return;
        }
        seen.insert(client_id.clone(), row.location());
        clients.push(Client {
            client_id,
            name,
            address: row.text("address"),
            country,
            currency,
            tax_id,
            tax,
            payment_terms_days: terms,
            email: row.text("email"),
            at: row.location(),
        });
    });
    clients.sort_by(|a, b| a.client_id.cmp(&b.client_id));
    clients
}

/// `contracts.csv`, in file order. Campaigns are checked to belong to one client.
pub fn contracts(dir: &Path, clients: &[Client], problems: &mut Problems) -> Vec<Line> {
    let columns = Columns {
        required: &[
            "line_id",
            "client_id",
            "description",
            "model",
            "currency",
            "start",
            "end",
        ],
        optional: &["campaign", "rate", "budget", "basis", "po_number"],
    };
    let mut lines: Vec<Line> = Vec::new();
    let mut seen: HashMap<String, Location> = HashMap::new();
    let mut campaign_owner: HashMap<String, (String, Location)> = HashMap::new();
    required_file(dir, CONTRACTS, &columns, problems, |row| {
        let (
            Some(Id(line_id)),
            Some(Id(client_id)),
            Some(description),
            Some(model),
            Some(currency),
            Some(start),
            Some(end),
            Some(campaign),
            Some(basis),
        ) = (
            row.req::<Id>("line_id"),
            row.req::<Id>("client_id"),
            row.req::<String>("description"),
            row.req::<PricingModel>("model"),
            row.req::<Currency>("currency"),
            row.req::<NaiveDate>("start"),
            row.req::<NaiveDate>("end"),
            row.opt::<Id>("campaign"),
            row.opt::<SourceKind>("basis"),
        )
        else {
            return;
        };
        let rate = if model == PricingModel::Milestone {
            if row.text("rate").is_some() {
                row.warn(
                    "rate",
                    "ignored: milestone lines bill their milestones' amounts",
                );
            }
            None
        } else {
            let Some(NonNegative(rate)) = row.req::<NonNegative>("rate") else {
                return;
            };
            Some(rate)
        };
        let Some(budget) = row.amount("budget", currency, false) else {
            return;
        };
        let mut ok = true;
        if clients
            .binary_search_by(|c| c.client_id.cmp(&client_id))
            .is_err()
        {
            let hint = format!(" in {CLIENTS}");
            row.error(
                "client_id",
                ErrorKind::Unresolved {
                    what: "client_id",
                    id: client_id.clone(),
                    hint,
                },
            );
            ok = false;
        }
        if end < start {
            row.invalid(
                "end",
                format!("an end on or after the start {start}"),
                end.to_string(),
            );
            ok = false;
        }
        let campaign = campaign.map(|Id(c)| c);
        if model.needs_campaign() && campaign.is_none() {
            row.invalid(
                "campaign",
                format!("a campaign key, required for {} lines", model.as_str()),
                "",
            );
            ok = false;
        }
        if basis.is_some() && !model.counts_units() {
            row.warn(
                "basis",
                format!(
                    "ignored: only cpm, cpc and cpa lines have a basis, not {}",
                    model.as_str()
                ),
            );
        }
        if let Some(campaign) = &campaign {
            match campaign_owner.get(campaign) {
                Some((owner, first)) if *owner != client_id => {
                    row.error("campaign", ErrorKind::Rule(format!(
                        "campaign `{campaign}` already belongs to client `{owner}` ({}); lines of two clients may not share a campaign",
                        first.file_line()
                    )));
                    ok = false;
                }
                Some(_) => {}
                None => {
                    campaign_owner.insert(campaign.clone(), (client_id.clone(), row.location()));
                }
            }
        }
        if let Some(first) = seen.get(&line_id) {
            let kind = ErrorKind::Duplicate {
                what: "line_id",
                id: line_id,
                first: first.file_line(),
            };
            row.error("line_id", kind);
            return;
        }
        seen.insert(line_id.clone(), row.location());
        if !ok {
            return;
        }
        lines.push(Line {
            line_id,
            client_id,
            campaign,
            description,
            model,
            rate,
            currency,
            budget,
            start,
            end,
            basis: model
                .counts_units()
                .then(|| basis.unwrap_or(Basis::AdServer)),
            po_number: row.text("po_number"),
            at: row.location(),
        });
    });
    lines
}

/// `crosswalk.csv`: every `source` must be a `[[source]]` name.
pub fn crosswalk(dir: &Path, sources: &[SourceConfig], problems: &mut Problems) -> Crosswalk {
    let columns = Columns {
        required: &["source", "source_campaign_id", "campaign"],
        optional: &[],
    };
    let mut crosswalk = Crosswalk::default();
    let mut keys: HashMap<String, Arc<str>> = HashMap::new();
    required_file(dir, CROSSWALK, &columns, problems, |row| {
        let (Some(source), Some(source_campaign_id), Some(Id(campaign))) = (
            row.req::<String>("source"),
            row.req::<String>("source_campaign_id"),
            row.req::<Id>("campaign"),
        ) else {
            return;
        };
        let Some(index) = sources.iter().position(|s| s.name == source) else {
            let hint = " among the [[source]] tables of tallyseal.toml".to_owned();
            row.error(
                "source",
                ErrorKind::Unresolved {
                    what: "source",
                    id: source,
                    hint,
                },
            );
            return;
        };
        let campaign = keys
            .entry(campaign.clone())
            .or_insert_with(|| campaign.into())
            .clone();
        if let Err(first) =
            crosswalk.insert(index, source_campaign_id.clone(), campaign, row.location())
        {
            let id = format!("{source}/{source_campaign_id}");
            let kind = ErrorKind::Duplicate {
                what: "(source, source_campaign_id)",
                id,
                first: first.file_line(),
            };
            row.error("source_campaign_id", kind);
        }
    });
    crosswalk
}
