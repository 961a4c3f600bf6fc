//! A whole loaded project: settings, master data, and every period's records.

use super::{
    Adjustment, ChangeOrder, Client, Config, Explanation, ExportFile, FxRate, Line, ManualStep,
    Milestone, Payment, Period, RowOrigin, Rows, TimesheetEntry,
};
use crate::error::Location;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

/// Everything a project directory says, validated.
#[derive(Debug, Clone)]
pub struct Project {
    pub dir: PathBuf,
    pub config: Config,
    /// The private key to sign with: `TALLYSEAL_SIGNING_KEY`, else `[signing] key_file`
    /// resolved against the project directory.
    pub signing_key: Option<PathBuf>,
    /// Sorted by `client_id`.
    pub clients: Vec<Client>,
    /// In file order.
    pub lines: Vec<Line>,
    pub crosswalk: Crosswalk,
    /// In ascending order.
    pub periods: Vec<PeriodData>,
}

impl Project {
    pub fn client(&self, client_id: &str) -> Option<&Client> {
        self.clients
            .binary_search_by(|c| c.client_id.as_str().cmp(client_id))
            .ok()
            .map(|i| &self.clients[i])
    }

    pub fn line(&self, line_id: &str) -> Option<&Line> {
        self.lines.iter().find(|l| l.line_id == line_id)
    }

    /// The client owning a universal campaign key (lines of two clients never share one).
    pub fn campaign_owner(&self, campaign: &str) -> Option<&str> {
        self.lines
            .iter()
            .find(|l| l.campaign.as_deref() == Some(campaign))
            .map(|l| l.client_id.as_str())
    }
}

/// `crosswalk.csv`: `(source, source_campaign_id)` → universal campaign key.
#[derive(Debug, Clone, Default)]
pub struct Crosswalk {
    /// By source index, then source campaign id.
    map: HashMap<usize, HashMap<String, (Arc<str>, Location)>>,
}

impl Crosswalk {
    /// Adds a mapping; gives back the location of an earlier one of the same key.
    pub fn insert(
        &mut self,
        source: usize,
        source_campaign_id: String,
        campaign: Arc<str>,
        at: Location,
    ) -> Result<(), Location> {
        match self
            .map
            .entry(source)
            .or_default()
            .entry(source_campaign_id)
        {
            std::collections::hash_map::Entry::Occupied(first) => Err(first.get().1.clone()),
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert((campaign, at));
                Ok(())
            }
        }
    }

    pub fn campaign(&self, source: usize, source_campaign_id: &str) -> Option<&Arc<str>> {
        self.map
            .get(&source)?
            .get(source_campaign_id)
            .map(|(c, _)| c)
    }

    pub fn len(&self) -> usize {
        self.map.values().map(HashMap::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every universal campaign key that some source id maps to.
    pub fn campaigns(&self) -> std::collections::BTreeSet<&str> {
        self.map
            .values()
            .flat_map(HashMap::values)
            .map(|(c, _)| &**c)
            .collect()
    }
}

/// One period folder.
#[derive(Debug, Clone)]
pub struct PeriodData {
    pub period: Period,
    /// The period has a `seal.lock`: its documents are those stored under `sealed/`.
    pub sealed: bool,
    pub exports: Vec<ExportFile>,
    /// Every data row of every export, in (export, file) order.
    pub rows: Rows,
    pub fx: Vec<FxRate>,
    pub change_orders: Vec<ChangeOrder>,
    pub milestones: Vec<Milestone>,
    pub timesheets: Vec<TimesheetEntry>,
    pub adjustments: Vec<Adjustment>,
    pub explanations: Vec<Explanation>,
    pub payments: Vec<Payment>,
    pub checklist: Vec<ManualStep>,
    /// `notes/<client_id>.md`, by client.
    pub notes: BTreeMap<String, String>,
    /// Every file under `attachments/`, relative to that folder, sorted.
    pub attachments: Vec<PathBuf>,
}

impl PeriodData {
    pub fn new(period: Period) -> PeriodData {
        PeriodData {
            period,
            sealed: false,
            exports: Vec::new(),
            rows: Rows::new(),
            fx: Vec::new(),
            change_orders: Vec::new(),
            milestones: Vec::new(),
            timesheets: Vec::new(),
            adjustments: Vec::new(),
            explanations: Vec::new(),
            payments: Vec::new(),
            checklist: Vec::new(),
            notes: BTreeMap::new(),
            attachments: Vec::new(),
        }
    }

    /// The 1-based line of its export a row starts on.
    pub fn line(&self, origin: RowOrigin) -> u64 {
        self.exports[origin.export()].line(origin.leaf as usize)
    }
}
