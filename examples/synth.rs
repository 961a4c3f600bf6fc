//! A synthetic agency: writes a valid tallyseal project of any size, for benchmarks and
//! scale tests. Deterministic: the same arguments give byte-identical files (one keyed
//! splitmix64 generator, sorted iteration, no clock, only `+ - × ÷ √` on floats).
//!
//! ```text
//! cargo run --release --example synth -- --size large --out target/bench-data/large-grouped
//! cargo run --release --example synth -- --seed 7 --clients 3 --lines 10 --rows 2000 \
//!     --periods 2 --order date --out /tmp/tiny
//! ```
//!
//! The project has what `sample-data/` has, at scale: clients in six invoice currencies
//! and three tax treatments, every pricing model, raw exports shaped like Google Ads
//! (preamble, `Total` rows, thousands separators, a currency column), Meta (CRLF, fixed
//! USD, quoted names), Campaign Manager 360 (an ad server, preamble and `Grand Total`)
//! and DV360 (a trailing blank line), each with a `grain`; a sprinkle of duplicate,
//! unmapped and out-of-flight rows (about 0.1 %, 0.5 % and under 1 % of rows); locked FX
//! rates, change orders, milestones, timesheets, adjustments, payments, checklist steps,
//! notes and attachments; a variance explanation wherever the data makes a variance;
//! and a signing key derived from the seed (a benchmark key: never use it for billing).
//!
//! Every row's values are a function of its (stream, day, row) key, so `--order grouped`
//! (by campaign, then day) and `--order date` (by day, campaigns interleaved) write the
//! same rows, only in another order.

use chrono::{Datelike, NaiveDate};
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

// ---------------------------------------------------------------------------
// parameters
// ---------------------------------------------------------------------------

/// The order of the data rows of every export.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// By campaign, then day: each client's rows are contiguous.
    Grouped,
    /// By day, then campaign: clients interleave on every day.
    Date,
}

/// What to generate.
#[derive(Clone, Debug)]
pub struct Params {
    pub seed: u64,
    pub clients: usize,
    /// Contract lines in total.
    pub lines: usize,
    /// `[[source]]` tables, one export each per period.
    pub sources: usize,
    /// Data rows of all exports of one period, duplicates included.
    pub rows: u64,
    /// Calendar months, the last one 2026-10.
    pub periods: usize,
    pub order: Order,
    pub out: PathBuf,
}

impl Params {
    /// `small` (~100k rows) and `large` (10 M rows, 500 clients, 5,000 lines).
    pub fn preset(size: &str) -> Option<Params> {
        let base = Params {
            seed: 1,
            clients: 50,
            lines: 500,
            sources: 4,
            rows: 100_000,
            periods: 1,
            order: Order::Grouped,
            out: PathBuf::new(),
        };
        match size {
            "small" => Some(base),
            "large" => Some(Params {
                clients: 500,
                lines: 5_000,
                rows: 10_000_000,
                ..base
            }),
            _ => None,
        }
    }

    /// Parses the command line: a `--size` preset first, then every explicit flag over it.
    pub fn from_args(args: &[String]) -> Result<Params, String> {
        let mut flags = BTreeMap::new();
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            let name = flag
                .strip_prefix("--")
                .ok_or_else(|| format!("unexpected argument `{flag}`"))?;
            let known = [
                "seed", "clients", "lines", "sources", "rows", "periods", "order", "out", "size",
            ];
            if !known.contains(&name) {
                return Err(format!("unknown flag `{flag}`"));
            }
            let value = it.next().ok_or_else(|| format!("`{flag}` needs a value"))?;
            flags.insert(name.to_owned(), value.clone());
        }
        let size = flags.get("size").map(String::as_str).unwrap_or("small");
        let mut p = Params::preset(size)
            .ok_or_else(|| format!("--size must be small or large, not `{size}`"))?;
        fn num<T: std::str::FromStr>(
            flags: &BTreeMap<String, String>,
            k: &str,
        ) -> Result<Option<T>, String> {
            flags
                .get(k)
                .map(|v| {
                    v.replace('_', "")
                        .parse()
                        .map_err(|_| format!("--{k} must be a whole number, not `{v}`"))
                })
                .transpose()
        }
        p.seed = num(&flags, "seed")?.unwrap_or(p.seed);
        p.clients = num(&flags, "clients")?.unwrap_or(p.clients);
        p.lines = num(&flags, "lines")?.unwrap_or(p.lines);
        p.sources = num(&flags, "sources")?.unwrap_or(p.sources);
        p.rows = num(&flags, "rows")?.unwrap_or(p.rows);
        p.periods = num(&flags, "periods")?.unwrap_or(p.periods);
        if let Some(order) = flags.get("order") {
            p.order = match order.as_str() {
                "grouped" => Order::Grouped,
                "date" => Order::Date,
                other => return Err(format!("--order must be grouped or date, not `{other}`")),
            };
        }
        p.out = flags
            .get("out")
            .map(PathBuf::from)
            .ok_or("--out DIR is required")?;
        if p.clients == 0 || p.sources == 0 || p.periods == 0 {
            return Err("--clients, --sources and --periods must be at least 1".into());
        }
        if p.lines < p.clients {
            return Err(format!(
                "--lines ({}) must be at least --clients ({}): every client has a line",
                p.lines, p.clients
            ));
        }
        if p.periods > 120 {
            return Err("--periods: at most 120".into());
        }
        Ok(p)
    }
}

#[allow(dead_code)] // the integration test includes this file as a module
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!(
            "synth: writes a synthetic tallyseal project\n\n\
             --size small|large   preset (small: 50 clients, 500 lines, 100,000 rows; large: 500\n\
             \x20                    clients, 5,000 lines, 10,000,000 rows; both 4 sources, 1 period)\n\
             --seed N  --clients N  --lines N  --sources N  --rows N (per period)  --periods N\n\
             --order grouped|date  --out DIR (must not exist, or be empty)"
        );
        return;
    }
    let params = match Params::from_args(&args) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    match generate(&params) {
        Ok(summary) => print!(
            "{}\nwritten to {}\n",
            summary.report(&params),
            params.out.display()
        ),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}

// ---------------------------------------------------------------------------
// what was written
// ---------------------------------------------------------------------------

/// One export file: its rows by what tallyseal should make of them.
#[derive(Clone, Debug, Default)]
pub struct ExportSummary {
    pub period: String,
    pub source: String,
    /// Relative to the project.
    pub path: String,
    /// Data records, duplicates included.
    pub data: u64,
    pub duplicates: u64,
    /// Distinct rows whose source campaign id is not in the crosswalk.
    pub unmapped: u64,
    /// Distinct mapped rows dated outside every flight of their campaign.
    pub out_of_flight: u64,
    pub totals: u64,
    pub blank: u64,
    pub bytes: u64,
}

/// Everything written.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    pub exports: Vec<ExportSummary>,
    pub files: usize,
    pub bytes: u64,
    pub campaigns: usize,
    pub explanations: usize,
}

impl Summary {
    /// The table printed by the example and kept in the project's README.md.
    pub fn report(&self, p: &Params) -> String {
        let mut s = format!(
            "synthetic agency: seed {}, {} clients, {} lines, {} campaigns, {} sources, {} period(s), order {}\n\
             {} files, {} bytes\n\n\
             | period | source | data rows | duplicates | unmapped | out of flight | total rows | blank | bytes |\n\
             | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
            p.seed,
            p.clients,
            p.lines,
            self.campaigns,
            p.sources,
            p.periods,
            match p.order {
                Order::Grouped => "grouped",
                Order::Date => "date",
            },
            self.files,
            self.bytes,
        );
        let mut all = ExportSummary::default();
        for e in &self.exports {
            s += &format!(
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
                e.period,
                e.source,
                e.data,
                e.duplicates,
                e.unmapped,
                e.out_of_flight,
                e.totals,
                e.blank,
                e.bytes
            );
            all.data += e.data;
            all.duplicates += e.duplicates;
            all.unmapped += e.unmapped;
            all.out_of_flight += e.out_of_flight;
            all.totals += e.totals;
            all.blank += e.blank;
            all.bytes += e.bytes;
        }
        s += &format!(
            "| all | | {} | {} | {} | {} | {} | {} | {} |\n",
            all.data,
            all.duplicates,
            all.unmapped,
            all.out_of_flight,
            all.totals,
            all.blank,
            all.bytes
        );
        s
    }
}

// ---------------------------------------------------------------------------
// deterministic randomness
// ---------------------------------------------------------------------------

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// splitmix64's output function.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A value keyed by the seed and a path of numbers: independent of generation order.
fn key(seed: u64, parts: &[u64]) -> u64 {
    parts
        .iter()
        .fold(mix(seed ^ GOLDEN), |h, &p| mix(h ^ p.wrapping_mul(GOLDEN)))
}

/// In [0, 1).
fn unit(h: u64) -> f64 {
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// Sequential splitmix64 for the master data, generated in one fixed order.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GOLDEN);
        mix(self.0)
    }
    fn unit(&mut self) -> f64 {
        unit(self.next())
    }
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    /// An index drawn by integer weights.
    fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u32 = weights.iter().sum();
        let mut x = (self.next() % total as u64) as u32;
        for (i, &w) in weights.iter().enumerate() {
            if x < w {
                return i;
            }
            x -= w;
        }
        weights.len() - 1
    }
}

// tags that keep keyed values of different kinds apart
const T_TRUTH: u64 = 1;
const T_RATIO: u64 = 2;
const T_CLICKS: u64 = 3;
const T_CONV: u64 = 4;
const T_POP: u64 = 5;
const T_NOISE: u64 = 6;
const T_KEY: u64 = 7;

// ---------------------------------------------------------------------------
// reference data
// ---------------------------------------------------------------------------

struct Currency {
    code: &'static str,
    minor: u32,
    /// Units per US dollar at the start; walks a little every period.
    per_usd: f64,
}

const CURRENCIES: [Currency; 6] = [
    Currency {
        code: "EUR",
        minor: 2,
        per_usd: 0.92,
    },
    Currency {
        code: "USD",
        minor: 2,
        per_usd: 1.0,
    },
    Currency {
        code: "GBP",
        minor: 2,
        per_usd: 0.79,
    },
    Currency {
        code: "CHF",
        minor: 2,
        per_usd: 0.88,
    },
    Currency {
        code: "JPY",
        minor: 0,
        per_usd: 151.2,
    },
    Currency {
        code: "SEK",
        minor: 2,
        per_usd: 10.6,
    },
];
const USD: usize = 1;
/// How often each currency is a client's invoice currency.
const CURRENCY_WEIGHTS: [u32; 6] = [40, 22, 22, 6, 5, 5];

const PREFIXES: [&str; 30] = [
    "alpen", "bright", "helio", "kumo", "oak", "red", "silver", "north", "blue", "river", "stone",
    "sun", "iron", "maple", "cedar", "harbor", "falcon", "aurora", "lumen", "nova", "terra",
    "vela", "zephyr", "orchid", "granite", "willow", "ember", "coral", "summit", "meadow",
];
const SUFFIXES: [&str; 16] = [
    "rose", "water", "wood", "ridge", "field", "peak", "gate", "line", "works", "craft", "brook",
    "stone", "light", "crest", "vale", "point",
];
const INDUSTRIES: [&str; 14] = [
    "Foods", "Uhren", "Energie", "Software", "Travel", "Outdoor", "Health", "Retail", "Labs",
    "Mobility", "Fashion", "Finance", "Home", "Games",
];
const TOPICS: [&str; 16] = [
    "spring-launch",
    "always-on",
    "brand",
    "prospecting",
    "retargeting",
    "holiday",
    "back-to-school",
    "summer-sale",
    "app-installs",
    "video",
    "search",
    "display",
    "social",
    "ctv",
    "audio",
    "native",
];
const AD_NAMES: [&str; 12] = [
    "Hero video 15s",
    "Hero video, 30s cut",
    "Static A",
    "Static B",
    "Carousel – city",
    "UGC testimonial",
    "Offer ends soon",
    "Savings calculator",
    "Product demo, v2",
    "Gift guide",
    "Bumper 6s",
    "Lookalike – seasonal",
];
const AD_GROUPS: [&str; 8] = [
    "Brand exact",
    "Brand phrase",
    "Generic",
    "Competitor",
    "In-market",
    "Remarketing",
    "Similar audiences",
    "Topics",
];
const SITES: [&str; 8] = [
    "GDN", "YouTube", "DV360", "Xandr", "Teads", "Outbrain", "Seedtag", "OpenX",
];
const SIZES: [&str; 6] = [
    "300x250",
    "728x90",
    "160x600",
    "320x50",
    "Instream_15s",
    "Native",
];
const PEOPLE: [&str; 10] = [
    "a.moreau",
    "b.keane",
    "c.lindqvist",
    "d.howard",
    "e.sato",
    "f.natarajan",
    "g.brandt",
    "h.richter",
    "i.tanaka",
    "j.patel",
];
const SERVICES: [&str; 8] = [
    "SEO and content",
    "Analytics and reporting",
    "Social community management",
    "CRM and email",
    "Creative production",
    "Marketing automation",
    "Conversion optimisation",
    "Brand strategy",
];
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

// ---------------------------------------------------------------------------
// the agency's model
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Model {
    Cpm,
    Cpc,
    Cpa,
    MediaPct,
    Flat,
    Hourly,
    Milestone,
}

impl Model {
    fn name(self) -> &'static str {
        match self {
            Model::Cpm => "cpm",
            Model::Cpc => "cpc",
            Model::Cpa => "cpa",
            Model::MediaPct => "media_pct",
            Model::Flat => "flat",
            Model::Hourly => "hourly",
            Model::Milestone => "milestone",
        }
    }
    fn priced_per_unit(self) -> bool {
        matches!(self, Model::Cpm | Model::Cpc | Model::Cpa)
    }
}

/// The shape of one kind of export.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Template {
    GoogleAds,
    Meta,
    Cm360,
    Dv360,
}

const TEMPLATES: [Template; 4] = [
    Template::GoogleAds,
    Template::Meta,
    Template::Cm360,
    Template::Dv360,
];

impl Template {
    fn base_name(self) -> &'static str {
        match self {
            Template::GoogleAds => "google_ads",
            Template::Meta => "meta",
            Template::Cm360 => "cm360",
            Template::Dv360 => "dv360",
        }
    }
    fn ad_server(self) -> bool {
        self == Template::Cm360
    }
}

struct Source {
    name: String,
    template: Template,
    /// Streams of this source, in file order for `--order grouped`.
    streams: Vec<usize>,
    next_id: u64,
}

struct Period {
    name: String,
    first: i32,
    days: u32,
    year: i32,
    month: u32,
    dates: Vec<String>,
}

impl Period {
    fn last(&self) -> i32 {
        self.first + self.days as i32 - 1
    }
    fn date(&self, day: u32) -> &str {
        &self.dates[day as usize]
    }
}

struct Client {
    id: String,
    name: String,
    address: String,
    country: &'static str,
    currency: usize,
    tax_id: String,
    treatment: &'static str,
    tax_rate: &'static str,
    terms: u32,
    email: String,
}

struct Line {
    id: String,
    client: usize,
    campaign: Option<usize>,
    description: String,
    model: Model,
    /// Contract minor units (per 1,000 for cpm); tenths of a percent for media_pct.
    rate: u64,
    currency: usize,
    budget: Option<u64>,
    start: i32,
    end: i32,
    basis: &'static str,
    po: String,
    /// (period, effective day, new rate, approved)
    change: Option<(usize, i32, u64, bool)>,
}

struct Campaign {
    key: String,
    /// `None`: an internal test campaign, in no crosswalk (its rows are unmapped).
    client: Option<usize>,
    lines: Vec<usize>,
    /// The flight of its lines; delivery runs from `start - pre` to `end + post`.
    start: i32,
    end: i32,
    pre: i32,
    post: i32,
    /// Mean impressions per export row.
    per_row: f64,
    weight: f64,
    level: f64,
    weekend: f64,
    ctr: f64,
    cvr: f64,
    cpm_usd: f64,
    /// Ad-server impressions as a share of platform ones, lowest and spread.
    ratio: (f64, f64),
    /// A day the ad server lost its tag.
    outage: Option<i32>,
    discrepant: bool,
}

struct Stream {
    source: usize,
    campaign: usize,
    id: String,
    name_csv: String,
    /// Spend currency (platforms).
    currency: usize,
    /// Share of the campaign's impressions on this source kind.
    share: f64,
    weight: f64,
    /// Spend in minor units × 1,000 per 1,000 impressions.
    cpm_milli: u64,
    grain_base: u64,
    ad_server: bool,
    /// Per period: the stream's rows there, if it delivers there.
    alloc: Vec<Option<Alloc>>,
}

/// One timesheet entry of an hourly line.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Timesheet {
    day: i32,
    quarter_hours: u32,
    person: &'static str,
}

/// A milestone of a milestone line, accepted in a period or not yet.
struct Milestone {
    id: String,
    description: String,
    /// Minor units of the line's currency.
    amount: u64,
    accepted_in: Option<usize>,
}

/// One campaign's impressions on one day of flight, by kind of source.
#[derive(Clone, Copy, Default)]
struct KindsOnDay {
    platform: u64,
    ad_server: u64,
    platform_rows: bool,
    ad_server_rows: bool,
}

struct Alloc {
    /// Day indices (0-based within the period) with rows, ascending.
    days: Vec<u32>,
    distinct: u64,
    /// Indices into `days` carrying one duplicate row, ascending.
    dups: Vec<u32>,
}

impl Alloc {
    /// Distinct rows on the i-th active day: spread evenly, at least one.
    fn rows_on(&self, i: usize) -> u64 {
        let d = self.days.len() as u64;
        let i = i as u64;
        (i + 1) * self.distinct / d - i * self.distinct / d
    }
}

/// One stream-day's metric totals, split exactly over its rows.
#[derive(Clone, Copy, Default)]
struct DayTotals {
    impressions: u64,
    clicks: u64,
    /// Hundredths on platforms, whole conversions on the ad server.
    conversions: u64,
    /// Minor units of the stream's currency (platforms).
    spend: u64,
}

struct Agency {
    p: Params,
    periods: Vec<Period>,
    sources: Vec<Source>,
    clients: Vec<Client>,
    lines: Vec<Line>,
    campaigns: Vec<Campaign>,
    streams: Vec<Stream>,
    /// Units per USD, per period and currency.
    fx: Vec<[f64; 6]>,
    /// Per line and period: the estimated billed amount in contract currency units.
    billed: Vec<Vec<f64>>,
    /// Per line and period: hours of timesheets (hourly lines).
    hours: Vec<Vec<Vec<Timesheet>>>,
    /// Per line: milestones (id, description, amount in minor units, accepted in period).
    milestones: Vec<Vec<Milestone>>,
}

fn date_of(ordinal: i32) -> NaiveDate {
    NaiveDate::from_num_days_from_ce_opt(ordinal).expect("a date in range")
}

fn ordinal(y: i32, m: u32, d: u32) -> i32 {
    NaiveDate::from_ymd_opt(y, m, d)
        .expect("a valid date")
        .num_days_from_ce()
}

fn iso(ordinal: i32) -> String {
    date_of(ordinal).format("%Y-%m-%d").to_string()
}

fn months(n: usize) -> Vec<Period> {
    // the last period is 2026-10; earlier ones count back month by month
    let (mut y, mut m) = (2026i32, 10u32);
    let mut out = Vec::new();
    for _ in 0..n {
        let first = ordinal(y, m, 1);
        let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
        let days = (ordinal(ny, nm, 1) - first) as u32;
        out.push(Period {
            name: format!("{y:04}-{m:02}"),
            first,
            days,
            year: y,
            month: m,
            dates: (0..days as i32).map(|i| iso(first + i)).collect(),
        });
        (y, m) = if m == 1 { (y - 1, 12) } else { (y, m - 1) };
    }
    out.reverse();
    out
}

/// `v` minor units as a plain decimal: 123450 → "1234.50".
fn minor_str(v: u64, minor: u32) -> String {
    if minor == 0 {
        return v.to_string();
    }
    let unit = 10u64.pow(minor);
    format!("{}.{:0width$}", v / unit, v % unit, width = minor as usize)
}

/// A CSV cell: quoted when it holds a comma, quote or line break.
fn cell(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

fn csv_row(cells: &[&str]) -> String {
    let mut s = cells.iter().map(|c| cell(c)).collect::<Vec<_>>().join(",");
    s.push('\n');
    s
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

/// `total` split by weights, each part floored cumulatively so the parts add up exactly.
fn cumulative_split(total: u64, cumulative_before: u128, weight: u128, sum: u128) -> u64 {
    let t = total as u128;
    ((t * (cumulative_before + weight)) / sum - (t * cumulative_before) / sum) as u64
}

// ---------------------------------------------------------------------------
// planning: master data, flights, streams, rows
// ---------------------------------------------------------------------------

impl Agency {
    fn plan(p: &Params) -> Result<Agency, String> {
        let periods = months(p.periods);
        let range = (periods[0].first, periods[p.periods - 1].last());
        let mut rng = Rng(p.seed.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ 0x5EED);

        // FX: a walk of at most ±1 % per currency and period, so no pair moves 5 %.
        let mut fx = Vec::new();
        let mut now: [f64; 6] = std::array::from_fn(|i| CURRENCIES[i].per_usd);
        for _ in &periods {
            fx.push(now);
            for (i, v) in now.iter_mut().enumerate() {
                if i != USD {
                    *v *= 1.0 + rng.range(-0.01, 0.01);
                }
            }
        }

        let sources: Vec<Source> = (0..p.sources)
            .map(|i| {
                let template = TEMPLATES[i % TEMPLATES.len()];
                let round = i / TEMPLATES.len();
                let name = if round == 0 {
                    template.base_name().to_owned()
                } else {
                    format!("{}{}", template.base_name(), round + 1)
                };
                Source {
                    name,
                    template,
                    streams: Vec::new(),
                    next_id: 0,
                }
            })
            .collect();

        let clients = plan_clients(p, &mut rng);
        let mut agency = Agency {
            p: p.clone(),
            periods,
            sources,
            clients,
            lines: Vec::new(),
            campaigns: Vec::new(),
            streams: Vec::new(),
            fx,
            billed: Vec::new(),
            hours: Vec::new(),
            milestones: Vec::new(),
        };
        agency.plan_lines(&mut rng, range);
        agency.plan_streams(&mut rng);
        agency.allocate_rows()?;
        agency.plan_services(&mut rng);
        agency.estimate_and_cap(&mut rng);
        Ok(agency)
    }

    fn plan_lines(&mut self, rng: &mut Rng, range: (i32, i32)) {
        // lines per client: one each, the rest by a long-tailed weight
        let n = self.clients.len();
        let weights: Vec<f64> = (0..n).map(|_| 1.0 / (0.08 + rng.unit())).collect();
        let per_client = split_by_weight((self.p.lines - n) as u64, &weights);
        let span = range.1 - range.0 + 1;
        let platforms = self.sources.iter().any(|s| !s.template.ad_server());
        for (c, extra) in per_client.iter().enumerate() {
            let count = 1 + *extra as usize;
            let cur = self.clients[c].currency;
            let mut fee_target: Option<usize> = None;
            for k in 0..count {
                // cpm, cpc, cpa, media_pct, flat, hourly, milestone
                let mut model = [
                    Model::Cpm,
                    Model::Cpc,
                    Model::Cpa,
                    Model::MediaPct,
                    Model::Flat,
                    Model::Hourly,
                    Model::Milestone,
                ][rng.weighted(&[34, 18, 10, 14, 10, 8, 6])];
                if !platforms && (model.priced_per_unit() || model == Model::MediaPct) {
                    model = Model::Flat; // no platform reports spend or units: services only
                }
                let currency = if rng.chance(0.9) {
                    cur
                } else if cur == USD {
                    0
                } else {
                    USD
                };
                let minor = CURRENCIES[currency].minor;
                let fx = CURRENCIES[currency].per_usd;
                let to_minor = |usd: f64, step: f64| -> u64 {
                    // a price in this currency, rounded to `step` units
                    let units = (usd * fx / step).round().max(1.0) * step;
                    (units * 10f64.powi(minor as i32)).round() as u64
                };
                let line_index = self.lines.len();
                let id = format!(
                    "{}-{:02}-{}",
                    self.clients[c].id,
                    k + 1,
                    model.name().replace('_', "")
                );
                // the flight: usually across the whole range; some start or end inside it
                let (mut start, mut end) = (
                    range.0 - rng.below(90) as i32,
                    range.1 + rng.below(120) as i32,
                );
                let (mut pre, mut post) = (0, 0);
                let mid_start = rng.chance(0.08);
                let mid_end = rng.chance(0.05);
                if span >= 10 && mid_start {
                    start = range.0 + 3 + rng.below((span - 8) as usize) as i32;
                    pre = 1 + rng.below(2) as i32; // tag tests before the launch
                }
                if span >= 10 && mid_end {
                    let lo = start.max(range.0) + 4;
                    if lo < range.1 - 2 {
                        end = lo + rng.below((range.1 - 2 - lo) as usize) as i32;
                        post = 1 + rng.below(2) as i32; // ads kept running after the end
                    }
                }
                let topic = *rng.pick(&TOPICS);
                let mut campaign = None;
                let mut description;
                let mut rate;
                let mut basis = "";
                match model {
                    Model::MediaPct if fee_target.is_some() && rng.chance(0.75) => {
                        // a fee on the media of the client's latest unit-priced campaign
                        let target = fee_target.take().unwrap_or_default();
                        let camp = &self.campaigns[target];
                        campaign = Some(target);
                        start = camp.start;
                        end = camp.end;
                        rate = 80 + rng.below(71) as u64; // 8.0 % .. 15.0 %
                        description = format!("Trading desk fee, {}% of media spend", tenths(rate));
                    }
                    _ => {
                        rate = 0;
                        description = String::new();
                    }
                }
                if campaign.is_none() && (model.priced_per_unit() || model == Model::MediaPct) {
                    let key = format!("{}-{}-{}", self.clients[c].id, topic, k + 1);
                    let search = matches!(model, Model::Cpc | Model::Cpa);
                    let ctr = if search {
                        rng.range(0.02, 0.08)
                    } else {
                        rng.range(0.002, 0.02)
                    };
                    let cpm_usd = if search {
                        ctr * rng.range(0.5, 4.0) * 1000.0
                    } else {
                        rng.range(1.5, 12.0)
                    };
                    let u = rng.unit();
                    let discrepant = model == Model::Cpm && rng.chance(0.02);
                    let ratio = if discrepant {
                        (0.80, 0.06)
                    } else {
                        (0.95, 0.04)
                    };
                    self.campaigns.push(Campaign {
                        key,
                        client: Some(c),
                        lines: Vec::new(),
                        start,
                        end,
                        pre,
                        post,
                        per_row: 30.0 + 3000.0 * u * u,
                        weight: {
                            let v = 0.05 + rng.unit();
                            1.0 / (v * v)
                        },
                        level: 0.0,
                        weekend: rng.range(0.6, 1.25),
                        ctr,
                        cvr: rng.range(0.01, 0.05),
                        cpm_usd,
                        ratio,
                        outage: None,
                        discrepant,
                    });
                    let index = self.campaigns.len() - 1;
                    campaign = Some(index);
                }
                match model {
                    Model::Cpm => {
                        rate = to_minor(rng.range(2.5, 18.0), 0.05);
                        description = format!(
                            "{} display and video, CPM",
                            capitalise(&topic.replace('-', " "))
                        );
                        fee_target = campaign;
                    }
                    Model::Cpc => {
                        rate = to_minor(rng.range(0.4, 6.0), 0.01);
                        description =
                            format!("{} search, per click", capitalise(&topic.replace('-', " ")));
                        basis = "platform";
                        fee_target = campaign;
                    }
                    Model::Cpa => {
                        rate = to_minor(rng.range(15.0, 120.0), 0.5);
                        description = format!(
                            "{}, cost per acquisition",
                            capitalise(&topic.replace('-', " "))
                        );
                        basis = "platform";
                        fee_target = campaign;
                    }
                    Model::MediaPct if rate == 0 => {
                        rate = 80 + rng.below(71) as u64;
                        description = format!("Managed media, {}% of media spend", tenths(rate));
                    }
                    Model::MediaPct => {}
                    Model::Flat => {
                        rate = to_minor(rng.range(1500.0, 12000.0), 50.0);
                        description = format!("Monthly {} retainer", rng.pick(&SERVICES));
                    }
                    Model::Hourly => {
                        rate = to_minor(rng.range(90.0, 220.0), 5.0);
                        description = format!("{} consultancy, per hour", rng.pick(&SERVICES));
                    }
                    Model::Milestone => {
                        description = format!(
                            "{}, fixed-price milestones",
                            rng.pick(&[
                                "Website relaunch",
                                "Brand identity refresh",
                                "App store launch kit",
                                "Data warehouse setup",
                            ])
                        );
                    }
                }
                if let Some(ci) = campaign {
                    self.campaigns[ci].lines.push(line_index);
                }
                let po = if rng.chance(0.6) {
                    format!("PO-{}-{:05}", 2026, rng.below(100_000))
                } else {
                    String::new()
                };
                self.lines.push(Line {
                    id,
                    client: c,
                    campaign,
                    description,
                    model,
                    rate,
                    currency,
                    budget: None,
                    start,
                    end,
                    basis,
                    po,
                    change: None,
                });
            }
        }
    }

    fn plan_streams(&mut self, rng: &mut Rng) {
        let platforms: Vec<usize> = (0..self.sources.len())
            .filter(|&s| !self.sources[s].template.ad_server())
            .collect();
        let servers: Vec<usize> = (0..self.sources.len())
            .filter(|&s| self.sources[s].template.ad_server())
            .collect();
        if platforms.is_empty() {
            return;
        }
        let mapped = self.campaigns.len();
        for ci in 0..mapped {
            let unit = self.campaigns[ci]
                .lines
                .iter()
                .map(|&l| self.lines[l].model)
                .find(|m| m.priced_per_unit());
            let client_cur = self.clients[self.campaigns[ci].client.unwrap_or(0)].currency;
            // the primary platform, by template popularity; sometimes a second one
            let popularity: Vec<u32> = platforms
                .iter()
                .map(|&s| match self.sources[s].template {
                    Template::GoogleAds => 50,
                    Template::Meta => 30,
                    _ => 20,
                })
                .collect();
            let first = platforms[rng.weighted(&popularity)];
            let mut chosen = vec![first];
            if platforms.len() > 1 && rng.chance(0.15) {
                let other = platforms[rng.below(platforms.len())];
                if other != first {
                    chosen.push(other);
                }
            }
            let mut ids = Vec::new();
            for &s in &chosen {
                ids.push(s);
                if rng.chance(0.2) {
                    ids.push(s); // two accounts or a split campaign
                }
            }
            let shares: Vec<f64> = ids.iter().map(|_| rng.range(0.5, 1.5)).collect();
            let total: f64 = shares.iter().sum();
            for (k, &s) in ids.iter().enumerate() {
                let currency = match self.sources[s].template {
                    Template::Meta => USD,
                    _ if rng.chance(0.85) => client_cur,
                    _ => USD,
                };
                self.add_stream(s, ci, currency, shares[k] / total, false, rng);
            }
            // cpm campaigns are usually measured by an ad server too: then billed on it
            let cpm = unit == Some(Model::Cpm);
            if cpm && !servers.is_empty() && rng.chance(0.9) {
                let s = servers[rng.below(servers.len())];
                self.add_stream(s, ci, USD, 1.0, true, rng);
                let explicit = rng.chance(0.3);
                for &l in &self.campaigns[ci].lines.clone() {
                    if self.lines[l].model == Model::Cpm {
                        self.lines[l].basis = if explicit { "ad_server" } else { "" };
                    }
                }
                // one campaign in fifty loses its ad-server tag for a day
                let c = &self.campaigns[ci];
                let full = c.start <= self.periods[0].first
                    && c.end >= self.periods[self.p.periods - 1].last()
                    && !c.discrepant;
                if full && rng.chance(0.02) {
                    let p = &self.periods[rng.below(self.periods.len())];
                    let day = p.first + 3 + rng.below(p.days as usize - 6) as i32;
                    let c = &mut self.campaigns[ci];
                    c.outage = Some(day);
                    c.ratio = (0.975, 0.015);
                }
            } else if cpm {
                for &l in &self.campaigns[ci].lines.clone() {
                    if self.lines[l].model == Model::Cpm {
                        self.lines[l].basis = "platform";
                    }
                }
            }
        }
        // internal test campaigns in no crosswalk: their rows are unmapped
        let tests = 1 + mapped / 150;
        for t in 0..tests {
            let range = (
                self.periods[0].first,
                self.periods[self.p.periods - 1].last(),
            );
            self.campaigns.push(Campaign {
                key: format!("internal-test-{}", t + 1),
                client: None,
                lines: Vec::new(),
                start: range.0,
                end: range.1,
                pre: 0,
                post: 0,
                per_row: rng.range(20.0, 400.0),
                weight: 1.0,
                level: 0.0,
                weekend: 1.0,
                ctr: rng.range(0.005, 0.02),
                cvr: 0.0,
                cpm_usd: rng.range(1.0, 3.0),
                ratio: (0.95, 0.04),
                outage: None,
                discrepant: false,
            });
            let ci = self.campaigns.len() - 1;
            let s = platforms[rng.below(platforms.len())];
            let currency = if self.sources[s].template == Template::Meta {
                USD
            } else {
                2
            };
            self.add_stream(s, ci, currency, 1.0, false, rng);
        }
    }

    fn add_stream(
        &mut self,
        source: usize,
        campaign: usize,
        currency: usize,
        share: f64,
        ad_server: bool,
        rng: &mut Rng,
    ) {
        let src = &mut self.sources[source];
        src.next_id += 1;
        let n = src.next_id;
        let jitter = rng.below(7) as u64;
        let id = match src.template {
            Template::GoogleAds => 20_871_000_000 + n * 7 + jitter,
            Template::Meta => 120_208_811_000_000 + n * 7 + jitter,
            Template::Cm360 => 31_500_000 + n * 7 + jitter,
            Template::Dv360 => 1_000_000 + n * 7 + jitter,
        }
        .to_string();
        let c = &self.campaigns[campaign];
        let title = capitalise(&c.key.replace('-', " "));
        let name = match (src.template, c.client) {
            (_, None) => "NW | Internal test | do not bill".to_owned(),
            (Template::GoogleAds, Some(cl)) => {
                format!(
                    "{} | {} | {}",
                    self.clients[cl].name, title, self.clients[cl].country
                )
            }
            (Template::Meta, Some(cl)) => format!("{} – {}", self.clients[cl].name, title),
            (Template::Cm360, _) => c.key.to_uppercase().replace('-', "_"),
            (Template::Dv360, _) => format!("IO {title}"),
        };
        let cur = &CURRENCIES[currency];
        let cpm_milli =
            (c.cpm_usd * cur.per_usd * 10f64.powi(cur.minor as i32) * 1000.0).round() as u64;
        let weight = c.weight * share * if ad_server { 0.6 } else { 1.0 };
        let index = self.streams.len();
        self.streams.push(Stream {
            source,
            campaign,
            id,
            name_csv: cell(&name),
            currency,
            share,
            weight,
            cpm_milli,
            grain_base: (index as u64 + 1) * 10_000_000,
            ad_server,
            alloc: Vec::new(),
        });
        self.sources[source].streams.push(index);
    }

    /// Gives every stream its rows in every period: at least one per delivery day, the
    /// rest by weight; 0.5 % of rows to unmapped streams; one duplicate per 1,000 rows.
    fn allocate_rows(&mut self) -> Result<(), String> {
        let mut k0 = 0.0;
        for (pi, period) in self.periods.iter().enumerate() {
            let mut days_of = Vec::new();
            for s in &self.streams {
                let c = &self.campaigns[s.campaign];
                let from = (c.start - c.pre).max(period.first);
                let to = (c.end + c.post).min(period.last());
                let days: Vec<u32> = (from..=to)
                    .filter(|&d| !(s.ad_server && c.outage == Some(d)))
                    .map(|d| (d - period.first) as u32)
                    .collect();
                days_of.push(days);
            }
            let day_sum = |unmapped: bool| -> u64 {
                self.streams
                    .iter()
                    .zip(&days_of)
                    .filter(|(s, _)| self.campaigns[s.campaign].client.is_none() == unmapped)
                    .map(|(_, d)| d.len() as u64)
                    .sum()
            };
            let (min_mapped, min_unmapped) = (day_sum(false), day_sum(true));
            let rows = self.p.rows;
            let unmapped_rows = if min_unmapped == 0 {
                0
            } else {
                min_unmapped.max(rows / 200)
            };
            if rows < min_mapped + unmapped_rows {
                return Err(format!(
                    "--rows {rows} is too few: period {} needs at least {} (one row per stream and day)",
                    period.name,
                    min_mapped + unmapped_rows
                ));
            }
            let mut rows_of = vec![0u64; self.streams.len()];
            for (unmapped, budget) in [(false, rows - unmapped_rows), (true, unmapped_rows)] {
                let members: Vec<usize> = (0..self.streams.len())
                    .filter(|&s| {
                        !days_of[s].is_empty()
                            && self.campaigns[self.streams[s].campaign].client.is_none() == unmapped
                    })
                    .collect();
                let floor: u64 = members.iter().map(|&s| days_of[s].len() as u64).sum();
                let weights: Vec<f64> = members
                    .iter()
                    .map(|&s| self.streams[s].weight * days_of[s].len() as f64)
                    .collect();
                let extra = split_by_weight(budget - floor, &weights);
                if !unmapped && pi == 0 {
                    let w: f64 = weights.iter().sum();
                    k0 = (budget - floor) as f64 / w.max(1e-9);
                }
                for (k, &s) in members.iter().enumerate() {
                    rows_of[s] = days_of[s].len() as u64 + extra[k];
                }
            }
            // duplicates: one per 1,000 rows, spread over streams in a fixed order
            let mut cumulative = 0u64;
            for (s, days) in days_of.into_iter().enumerate() {
                if days.is_empty() {
                    self.streams[s].alloc.push(None);
                    continue;
                }
                let r = rows_of[s];
                let d = days.len() as u64;
                let want = (cumulative + r) / 1000 - cumulative / 1000;
                cumulative += r;
                let dup = want.min(d).min(r - d);
                let dups = (0..dup)
                    .map(|j| ((2 * j + 1) * d / (2 * dup)) as u32)
                    .collect();
                self.streams[s].alloc.push(Some(Alloc {
                    days,
                    distinct: r - dup,
                    dups,
                }));
            }
        }
        // impressions per campaign-day: about `per_row` per row at the planned row counts
        for c in &mut self.campaigns {
            c.level = c.per_row * (2.0 + k0 * c.weight);
        }
        Ok(())
    }

    /// Impressions, clicks, conversions and spend of one stream on one day.
    fn day_totals(&self, s: usize, pi: usize, day: u32, rows: u64) -> DayTotals {
        let seed = self.p.seed;
        let st = &self.streams[s];
        let c = &self.campaigns[st.campaign];
        let date = (self.periods[pi].first + day as i32) as u64;
        let weekday = date_of(date as i32).weekday().number_from_monday();
        let wk = if weekday >= 6 { c.weekend } else { 1.0 };
        let truth =
            c.level * wk * (0.85 + 0.3 * unit(key(seed, &[T_TRUTH, st.campaign as u64, date])));
        if st.ad_server {
            let f = c.ratio.0 + c.ratio.1 * unit(key(seed, &[T_RATIO, st.campaign as u64, date]));
            let impressions = ((truth * f * st.share) as u64).max(rows);
            let clicks = (impressions as f64
                * c.ctr
                * (0.9 + 0.2 * unit(key(seed, &[T_CLICKS, s as u64, date]))))
                as u64;
            let conversions = (clicks as f64 * c.cvr + 0.5) as u64;
            DayTotals {
                impressions,
                clicks,
                conversions,
                spend: 0,
            }
        } else {
            let impressions = ((truth * st.share) as u64).max(rows);
            let clicks = (impressions as f64
                * c.ctr
                * (0.9 + 0.2 * unit(key(seed, &[T_CLICKS, s as u64, date]))))
                as u64;
            let conversions = (clicks as f64
                * c.cvr
                * 100.0
                * (0.8 + 0.4 * unit(key(seed, &[T_CONV, s as u64, date]))))
                as u64;
            let spend = ((impressions as u128 * st.cpm_milli as u128) / 1_000_000) as u64;
            DayTotals {
                impressions,
                clicks,
                conversions,
                spend,
            }
        }
    }

    fn has_ad_server(&self, campaign: usize) -> bool {
        self.campaigns[campaign]
            .lines
            .iter()
            .any(|&l| self.lines[l].model == Model::Cpm && self.lines[l].basis != "platform")
    }

    /// Per active day of a stream in a period: (day index, rows, totals).
    fn stream_days(&self, s: usize, pi: usize) -> Vec<(u32, u64, DayTotals)> {
        let Some(a) = &self.streams[s].alloc[pi] else {
            return Vec::new();
        };
        (0..a.days.len())
            .map(|i| {
                let rows = a.rows_on(i);
                (a.days[i], rows, self.day_totals(s, pi, a.days[i], rows))
            })
            .collect()
    }

    /// Timesheets, milestones and change orders.
    fn plan_services(&mut self, rng: &mut Rng) {
        let np = self.periods.len();
        for l in 0..self.lines.len() {
            let line = &self.lines[l];
            let mut hours = vec![Vec::new(); np];
            let mut milestones = Vec::new();
            let active: Vec<usize> = (0..np)
                .filter(|&pi| {
                    line.start <= self.periods[pi].last() && line.end >= self.periods[pi].first
                })
                .collect();
            match line.model {
                Model::Hourly => {
                    for &pi in &active {
                        let p = &self.periods[pi];
                        let (from, to) = (line.start.max(p.first), line.end.min(p.last()));
                        for _ in 0..(6 + rng.below(5)) {
                            let day = from + rng.below((to - from + 1) as usize) as i32;
                            let quarters = 4 + rng.below(21) as u32; // 1.00 .. 6.00 hours
                            hours[pi].push(Timesheet {
                                day,
                                quarter_hours: quarters,
                                person: PEOPLE[rng.below(PEOPLE.len())],
                            });
                        }
                        hours[pi].sort();
                    }
                }
                Model::Milestone => {
                    let minor = CURRENCIES[line.currency].minor;
                    let names = [
                        "Discovery and wireframes",
                        "Design system",
                        "Build and QA",
                        "Launch",
                    ];
                    for (k, name) in names.iter().enumerate().take(2 + rng.below(3)) {
                        let usd = 500.0 * (4.0 + rng.below(20) as f64);
                        let amount = (usd * CURRENCIES[line.currency].per_usd / 100.0).round()
                            as u64
                            * 100
                            * 10u64.pow(minor);
                        let accepted =
                            (!active.is_empty() && rng.chance(0.6)).then(|| *rng.pick(&active));
                        milestones.push(Milestone {
                            id: format!("M{}", k + 1),
                            description: (*name).to_owned(),
                            amount: amount.max(1),
                            accepted_in: accepted,
                        });
                    }
                }
                _ => {}
            }
            self.hours.push(hours);
            self.milestones.push(milestones);
            // a few approved rate changes mid-period, and a few pending ones
            let line = &self.lines[l];
            if line.model.priced_per_unit() && rng.chance(0.05) {
                let candidates: Vec<usize> = active
                    .iter()
                    .copied()
                    .filter(|&pi| {
                        line.start <= self.periods[pi].first + 5
                            && line.end >= self.periods[pi].last() - 5
                    })
                    .collect();
                if !candidates.is_empty() {
                    let pi = *rng.pick(&candidates);
                    let day = self.periods[pi].first + 8 + rng.below(12) as i32;
                    let rate = (line.rate as f64 * rng.range(1.02, 1.08)).round() as u64;
                    let approved = rng.chance(0.8);
                    self.lines[l].change = Some((pi, day, rate, approved));
                }
            }
        }
    }

    /// Estimates each line's billed amount per period (contract currency) and sets
    /// budgets on a few lines so their cap binds in the last period.
    fn estimate_and_cap(&mut self, rng: &mut Rng) {
        let np = self.periods.len();
        // per campaign and period: basis-unit totals by kind, and spend by currency
        let mut units = vec![vec![[[0f64; 3]; 2]; np]; self.campaigns.len()];
        let mut spend = vec![vec![[0f64; 6]; np]; self.campaigns.len()];
        for s in 0..self.streams.len() {
            let st = &self.streams[s];
            let c = &self.campaigns[st.campaign];
            for pi in 0..np {
                for (day, _, t) in self.stream_days(s, pi) {
                    let d = self.periods[pi].first + day as i32;
                    if d < c.start || d > c.end {
                        continue;
                    }
                    let kind = st.ad_server as usize;
                    let u = &mut units[st.campaign][pi][kind];
                    u[0] += t.impressions as f64;
                    u[1] += t.clicks as f64;
                    u[2] += t.conversions as f64 / if st.ad_server { 1.0 } else { 100.0 };
                    if !st.ad_server {
                        spend[st.campaign][pi][st.currency] +=
                            t.spend as f64 / 10f64.powi(CURRENCIES[st.currency].minor as i32);
                    }
                }
            }
        }
        for l in 0..self.lines.len() {
            let line = &self.lines[l];
            let unit = 10f64.powi(CURRENCIES[line.currency].minor as i32);
            let rate = line.rate as f64 / unit;
            let mut per_period = vec![0.0; np];
            for (pi, est) in per_period.iter_mut().enumerate() {
                let p = &self.periods[pi];
                let flight = (line.end.min(p.last()) - line.start.max(p.first) + 1).max(0);
                if flight == 0 {
                    continue;
                }
                let kind = (line.basis != "platform") as usize;
                *est = match line.model {
                    Model::Cpm => units[line.campaign.unwrap_or(0)][pi][kind][0] * rate / 1000.0,
                    Model::Cpc => units[line.campaign.unwrap_or(0)][pi][kind][1] * rate,
                    Model::Cpa => units[line.campaign.unwrap_or(0)][pi][kind][2] * rate,
                    Model::MediaPct => {
                        let by_cur = &spend[line.campaign.unwrap_or(0)][pi];
                        (0..6)
                            .map(|k| by_cur[k] * self.fx[pi][line.currency] / self.fx[pi][k])
                            .sum::<f64>()
                            * line.rate as f64
                            / 1000.0
                    }
                    Model::Flat => rate * flight as f64 / p.days as f64,
                    Model::Hourly => {
                        self.hours[l][pi]
                            .iter()
                            .map(|h| h.quarter_hours as f64 / 4.0)
                            .sum::<f64>()
                            * rate
                    }
                    Model::Milestone => self.milestones[l]
                        .iter()
                        .filter(|m| m.accepted_in == Some(pi))
                        .map(|m| m.amount as f64 / unit)
                        .sum(),
                };
            }
            // a cap on one unit-priced line in twelve: it binds in the last period
            let last = np - 1;
            if line.model.priced_per_unit()
                && line.change.is_none()
                && per_period[last] >= 100.0
                && rng.chance(1.0 / 20.0)
            {
                let earlier: f64 = per_period[..last].iter().map(|g| (g * unit).round()).sum();
                let budget = (earlier + (per_period[last] * unit * 0.7).round()) as u64;
                let budget = budget / 10u64.pow(CURRENCIES[line.currency].minor)
                    * 10u64.pow(CURRENCIES[line.currency].minor);
                self.lines[l].budget = Some(budget);
                per_period[last] = (budget as f64 - earlier) / unit;
            }
            self.billed.push(per_period);
        }
    }
}

/// `total` split by weights into whole parts that add up exactly (cumulative floors).
fn split_by_weight(total: u64, weights: &[f64]) -> Vec<u64> {
    let sum: f64 = weights.iter().sum();
    if sum <= 0.0 {
        let mut out = vec![0; weights.len()];
        if let Some(first) = out.first_mut() {
            *first = total;
        }
        return out;
    }
    let mut out = Vec::with_capacity(weights.len());
    let (mut acc, mut given) = (0.0, 0u64);
    for (i, w) in weights.iter().enumerate() {
        acc += w;
        let upto = if i + 1 == weights.len() {
            total
        } else {
            ((total as f64) * (acc / sum)).floor().min(total as f64) as u64
        };
        let upto = upto.max(given);
        out.push(upto - given);
        given = upto;
    }
    out
}

fn tenths(v: u64) -> String {
    if v.is_multiple_of(10) {
        (v / 10).to_string()
    } else {
        format!("{}.{}", v / 10, v % 10)
    }
}

fn plan_clients(p: &Params, rng: &mut Rng) -> Vec<Client> {
    const EURO: [(&str, &str, &str); 8] = [
        ("DE", "GmbH", "Friedrichstraße 120\n10117 Berlin\nGermany"),
        ("FR", "SAS", "12 rue de la Paix\n75002 Paris\nFrance"),
        (
            "NL",
            "B.V.",
            "Herengracht 420\n1017 BZ Amsterdam\nNetherlands",
        ),
        (
            "IE",
            "Ltd",
            "2 Grand Canal Square\nDublin 2, D02 A342\nIreland",
        ),
        ("ES", "S.L.", "Calle de Alcalá 45\n28014 Madrid\nSpain"),
        ("IT", "S.r.l.", "Via Monte Napoleone 8\n20121 Milano\nItaly"),
        ("AT", "GmbH", "Kärntner Straße 21\n1010 Wien\nAustria"),
        ("BE", "NV", "Rue Royale 100\n1000 Bruxelles\nBelgium"),
    ];
    (0..p.clients)
        .map(|i| {
            let stem = format!("{}{}", rng.pick(&PREFIXES), rng.pick(&SUFFIXES));
            let industry = *rng.pick(&INDUSTRIES);
            let currency = rng.weighted(&CURRENCY_WEIGHTS);
            let digits = rng.next() % 1_000_000_000;
            let (country, form, address, treatment, rate, tax_id) = match CURRENCIES[currency].code
            {
                "EUR" => {
                    let (c, f, a) = *rng.pick(&EURO);
                    (c, f, a, "reverse_charge", "", format!("{c}{digits:09}"))
                }
                "SEK" => (
                    "SE",
                    "AB",
                    "Kungsgatan 9\n111 43 Stockholm\nSweden",
                    "reverse_charge",
                    "",
                    format!("SE{digits:09}01"),
                ),
                "GBP" => (
                    "GB",
                    "Ltd",
                    "Unit 7, Trafford Wharf\nManchester M17 1HH\nUnited Kingdom",
                    "standard",
                    "20",
                    format!("GB{digits:09}"),
                ),
                "CHF" => (
                    "CH",
                    "AG",
                    "Bahnhofstrasse 42\n8001 Zürich\nSwitzerland",
                    "standard",
                    "8.1",
                    format!("CHE-{digits:09} MWST"),
                ),
                "JPY" => (
                    "JP",
                    "K.K.",
                    "〒150-0002 東京都渋谷区渋谷2-21-1\nTokyo\nJapan",
                    "standard",
                    "10",
                    format!("T{digits:013}"),
                ),
                _ => (
                    "US",
                    "Inc.",
                    "1450 Mission Street, Suite 300\nSan Francisco, CA 94103\nUSA",
                    "exempt",
                    "",
                    String::new(),
                ),
            };
            let id = format!("{stem}-{:03}", i + 1);
            Client {
                name: format!("{} {} {}", capitalise(&stem), industry, form),
                email: format!("ap@{stem}{}.example", i + 1),
                id,
                address: address.to_owned(),
                country,
                currency,
                tax_id,
                treatment,
                tax_rate: rate,
                terms: *rng.pick(&[14u32, 30, 30, 30, 45, 60]),
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------
// writing
// ---------------------------------------------------------------------------

/// Counts what it writes.
struct Counted<W: Write> {
    inner: W,
    bytes: u64,
}

impl<W: Write> Write for Counted<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn create(path: &Path) -> io::Result<Counted<BufWriter<File>>> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    Ok(Counted {
        inner: BufWriter::with_capacity(1 << 20, File::create(path)?),
        bytes: 0,
    })
}

struct Writer<'a> {
    root: &'a Path,
    summary: Summary,
}

impl Writer<'_> {
    fn file(&mut self, rel: &str, text: &str) -> io::Result<()> {
        let mut w = create(&self.root.join(rel))?;
        w.write_all(text.as_bytes())?;
        w.flush()?;
        self.summary.files += 1;
        self.summary.bytes += w.bytes;
        Ok(())
    }
}

/// Writes the project into `p.out`, which must not exist or be empty.
pub fn generate(p: &Params) -> Result<Summary, String> {
    if let Ok(mut entries) = fs::read_dir(&p.out)
        && entries.next().is_some()
    {
        return Err(format!(
            "{}: not empty; choose a new directory",
            p.out.display()
        ));
    }
    let agency = Agency::plan(p)?;
    let io = |e: io::Error| format!("{}: {e}", p.out.display());
    fs::create_dir_all(&p.out).map_err(io)?;
    let mut w = Writer {
        root: &p.out,
        summary: Summary::default(),
    };
    agency.write_all(&mut w).map_err(io)?;
    w.summary.campaigns = agency
        .campaigns
        .iter()
        .filter(|c| c.client.is_some())
        .count();
    let readme = format!(
        "# Synthetic agency\n\nWritten by `cargo run --release --example synth -- --seed {} --clients {} \
         --lines {} --sources {} --rows {} --periods {} --order {}`. A benchmark fixture: \
         `keys/synth-agency.pem` is derived from the seed, so it is no secret.\n\n{}",
        p.seed,
        p.clients,
        p.lines,
        p.sources,
        p.rows,
        p.periods,
        if p.order == Order::Grouped {
            "grouped"
        } else {
            "date"
        },
        w.summary.report(p)
    );
    w.file("README.md", &readme).map_err(io)?;
    Ok(w.summary)
}

impl Agency {
    fn write_all(&self, w: &mut Writer) -> io::Result<()> {
        self.write_toml(w)?;
        self.write_key(w)?;
        self.write_master(w)?;
        for pi in 0..self.periods.len() {
            for src in 0..self.sources.len() {
                let e = self.write_export(w.root, pi, src)?;
                w.summary.files += 1;
                w.summary.bytes += e.bytes;
                w.summary.exports.push(e);
            }
            self.write_period_files(w, pi)?;
        }
        Ok(())
    }

    fn write_toml(&self, w: &mut Writer) -> io::Result<()> {
        let mut t = String::from(
            "# A synthetic agency written by examples/synth.rs: a benchmark fixture.\n\n\
             [agency]\nname = \"Synthetic Media Ltd\"\naddress = \"1 Benchmark Street, London EC1A 1AA\"\n\
             country = \"GB\"\ntax_id = \"GB000000000\"\nemail = \"billing@synthetic.example\"\n\n\
             [invoice]\nnumber_format = \"SY-{year}-{seq:06}\"\nfirst_number = 1\nrounding = \"half_up\"\n\n\
             [tolerances]\ndiscrepancy_pct = 10\nprior_period_pct = 50\nunderdelivery_pct = 10\nfx_movement_pct = 5\n\n\
             [signing]\nkey_file = \"keys/synth-agency.pem\"   # derived from the seed: a benchmark key\n",
        );
        for s in &self.sources {
            let files = format!("exports/{}-*.csv", s.name);
            t += &match s.template {
                Template::GoogleAds => format!(
                    "\n# Google Ads ad report: two preamble lines, \"Total\" rows, thousands separators.\n\
                     [[source]]\nname = \"{}\"\nfiles = \"{files}\"\nkind = \"platform\"\nskip_rows = 2\n\
                     footer_prefix = \"Total\"\nthousands_separator = \",\"\ngrain = [\"Ad group ID\", \"Ad ID\"]\n\n\
                     [source.columns]\ncampaign = \"Campaign ID\"\ndate = \"Day\"\nimpressions = \"Impr.\"\n\
                     clicks = \"Clicks\"\nconversions = \"Conversions\"\nspend = \"Cost\"\ncurrency = \"Currency code\"\n",
                    s.name
                ),
                Template::Meta => format!(
                    "\n# Meta Ads Manager, one row per ad and day, CRLF, ad account in USD.\n\
                     [[source]]\nname = \"{}\"\nfiles = \"{files}\"\nkind = \"platform\"\ngrain = [\"Ad ID\"]\n\
                     currency = \"USD\"\n\n[source.columns]\ncampaign = \"Campaign ID\"\ndate = \"Reporting starts\"\n\
                     impressions = \"Impressions\"\nclicks = \"Link clicks\"\nconversions = \"Results\"\n\
                     spend = \"Amount spent (USD)\"\n",
                    s.name
                ),
                Template::Cm360 => format!(
                    "\n# Campaign Manager 360 (ad server): report preamble, \"Grand Total\" row, no spend.\n\
                     [[source]]\nname = \"{}\"\nfiles = \"{files}\"\nkind = \"ad_server\"\nskip_rows = 6\n\
                     footer_prefix = \"Grand Total\"\ngrain = [\"Placement ID\"]\n\n[source.columns]\n\
                     campaign = \"Campaign ID\"\ndate = \"Date\"\nimpressions = \"Impressions\"\nclicks = \"Clicks\"\n\
                     conversions = \"Total Conversions\"\n",
                    s.name
                ),
                Template::Dv360 => format!(
                    "\n# Display & Video 360, one row per line item and creative, advertiser currency.\n\
                     [[source]]\nname = \"{}\"\nfiles = \"{files}\"\nkind = \"platform\"\n\
                     grain = [\"Line Item ID\", \"Creative ID\"]\n\n[source.columns]\n\
                     campaign = \"Insertion Order ID\"\ndate = \"Date\"\nimpressions = \"Impressions\"\n\
                     clicks = \"Clicks\"\nconversions = \"Total Conversions\"\nspend = \"Revenue (Adv Currency)\"\n\
                     currency = \"Advertiser Currency\"\n",
                    s.name
                ),
            };
        }
        w.file("tallyseal.toml", &t)
    }

    fn write_key(&self, w: &mut Writer) -> io::Result<()> {
        let seed: [u8; 32] = std::array::from_fn(|i| {
            (key(self.p.seed, &[T_KEY, i as u64 / 8]) >> (8 * (i % 8))) as u8
        });
        let signing = ed25519_dalek::SigningKey::from_bytes(&seed);
        let keys = tallyseal::seal::keys::private_pem(&signing).map_err(io::Error::other)?;
        let public = tallyseal::seal::keys::public_pem(&signing.verifying_key())
            .map_err(io::Error::other)?;
        w.file("keys/synth-agency.pem", &keys)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(
                w.root.join("keys/synth-agency.pem"),
                fs::Permissions::from_mode(0o600),
            )?;
        }
        w.file("keys/synth-agency.pub.pem", &public)
    }

    fn write_master(&self, w: &mut Writer) -> io::Result<()> {
        let mut t = String::from(
            "client_id,name,address,country,currency,tax_id,tax_treatment,tax_rate,payment_terms_days,email\n",
        );
        for c in &self.clients {
            t += &csv_row(&[
                &c.id,
                &c.name,
                &c.address,
                c.country,
                CURRENCIES[c.currency].code,
                &c.tax_id,
                c.treatment,
                c.tax_rate,
                &c.terms.to_string(),
                &c.email,
            ]);
        }
        w.file("clients.csv", &t)?;

        let mut t = String::from(
            "line_id,client_id,campaign,description,model,rate,currency,budget,start,end,basis,po_number\n",
        );
        for l in &self.lines {
            let minor = CURRENCIES[l.currency].minor;
            let rate = match l.model {
                Model::MediaPct => tenths(l.rate),
                Model::Milestone => String::new(),
                _ => minor_str(l.rate, minor),
            };
            t += &csv_row(&[
                &l.id,
                &self.clients[l.client].id,
                l.campaign
                    .map(|c| self.campaigns[c].key.as_str())
                    .unwrap_or(""),
                &l.description,
                l.model.name(),
                &rate,
                CURRENCIES[l.currency].code,
                &l.budget.map(|b| minor_str(b, minor)).unwrap_or_default(),
                &iso(l.start),
                &iso(l.end),
                l.basis,
                &l.po,
            ]);
        }
        w.file("contracts.csv", &t)?;

        let mut t = String::from("source,source_campaign_id,campaign\n");
        for s in &self.streams {
            let c = &self.campaigns[s.campaign];
            if c.client.is_some() {
                t += &csv_row(&[&self.sources[s.source].name, &s.id, &c.key]);
            }
        }
        w.file("crosswalk.csv", &t)
    }

    fn write_export(&self, root: &Path, pi: usize, src: usize) -> io::Result<ExportSummary> {
        let source = &self.sources[src];
        let period = &self.periods[pi];
        let rel = format!(
            "periods/{}/exports/{}-{}.csv",
            period.name, source.name, period.name
        );
        let mut out = create(&root.join(&rel))?;
        let mut e = ExportSummary {
            period: period.name.clone(),
            source: source.name.clone(),
            path: rel,
            ..ExportSummary::default()
        };
        let template = source.template;
        let last = iso(period.last());
        match template {
            Template::GoogleAds => write!(
                out,
                "Ad report\n\"{m} 1, {y} - {m} {d}, {y}\"\n\
                 Campaign,Campaign ID,Ad group,Ad group ID,Ad ID,Day,Currency code,Impr.,Clicks,Avg. CPC,Cost,Conversions\n",
                m = MONTHS[period.month as usize - 1],
                y = period.year,
                d = period.days
            )?,
            Template::Meta => out.write_all(
                b"Reporting starts,Reporting ends,Campaign name,Campaign ID,Ad name,Ad ID,Impressions,\
                  Link clicks,Results,Result indicator,Amount spent (USD)\r\n",
            )?,
            Template::Cm360 => write!(
                out,
                "Campaign Manager 360 report\n\nReport Time,{} 06:12:44\nDate Range,{} - {last}\n\nReport Fields\n\
                 Date,Advertiser,Campaign,Campaign ID,Placement,Placement ID,Impressions,Clicks,Total Conversions\n",
                iso(period.last() + 1),
                period.date(0)
            )?,
            Template::Dv360 => out.write_all(
                b"Date,Advertiser,Advertiser Currency,Insertion Order,Insertion Order ID,Line Item,Line Item ID,\
                  Creative ID,Impressions,Clicks,Total Conversions,Revenue (Adv Currency)\n",
            )?,
        }
        let streams: Vec<usize> = source
            .streams
            .iter()
            .copied()
            .filter(|&s| self.streams[s].alloc[pi].is_some())
            .collect();
        let mut block = Block::default();
        let mut sums = DayTotals::default();
        match self.p.order {
            Order::Grouped => {
                for &s in &streams {
                    let a = self.streams[s].alloc[pi].as_ref().expect("filtered");
                    for i in 0..a.days.len() {
                        self.write_block(&mut out, &mut block, &mut e, &mut sums, pi, s, i)?;
                    }
                }
            }
            Order::Date => {
                let mut cursor = vec![0usize; streams.len()];
                for day in 0..period.days {
                    for (k, &s) in streams.iter().enumerate() {
                        let a = self.streams[s].alloc[pi].as_ref().expect("filtered");
                        if a.days.get(cursor[k]) == Some(&day) {
                            self.write_block(
                                &mut out, &mut block, &mut e, &mut sums, pi, s, cursor[k],
                            )?;
                            cursor[k] += 1;
                        }
                    }
                }
            }
        }
        match template {
            Template::GoogleAds => {
                let mut line = Vec::new();
                for label in ["Total: Campaigns", "Total: Account"] {
                    line.clear();
                    line.extend_from_slice(label.as_bytes());
                    line.extend_from_slice(b",--,--,--,--,--,--,");
                    grouped(&mut line, sums.impressions, 0);
                    line.push(b',');
                    grouped(&mut line, sums.clicks, 0);
                    line.extend_from_slice(b",--,--,");
                    grouped(&mut line, sums.conversions, 2);
                    line.push(b'\n');
                    out.write_all(&line)?;
                    e.totals += 1;
                }
            }
            Template::Cm360 => {
                writeln!(
                    out,
                    "Grand Total:,,,,,,{},{},{}",
                    sums.impressions, sums.clicks, sums.conversions
                )?;
                e.totals += 1;
            }
            Template::Dv360 => {
                out.write_all(b"\n")?;
                e.blank += 1;
            }
            Template::Meta => {}
        }
        out.flush()?;
        e.bytes = out.bytes;
        Ok(e)
    }

    /// Writes one stream's rows of one day (and its duplicate, if it has one).
    #[allow(clippy::too_many_arguments)]
    fn write_block<W: Write>(
        &self,
        out: &mut W,
        block: &mut Block,
        e: &mut ExportSummary,
        sums: &mut DayTotals,
        pi: usize,
        s: usize,
        i: usize,
    ) -> io::Result<()> {
        let seed = self.p.seed;
        let st = &self.streams[s];
        let c = &self.campaigns[st.campaign];
        let a = st.alloc[pi].as_ref().expect("an allocation");
        let period = &self.periods[pi];
        let day = a.days[i];
        let n = a.rows_on(i);
        let t = self.day_totals(s, pi, day, n);
        let date_ord = period.first + day as i32;
        let date = period.date(day);
        // weights: a stable popularity per grain, with daily noise
        block.weights.clear();
        let mut sum = 0u128;
        for j in 0..n {
            let pop = 1 + key(seed, &[T_POP, s as u64, j]) % 1000;
            let noise = 700 + key(seed, &[T_NOISE, s as u64, date_ord as u64, j]) % 601;
            let w = (pop * noise) as u128;
            block.weights.push(w);
            sum += w;
        }
        let template = self.sources[st.source].template;
        let cur = &CURRENCIES[st.currency];
        let mut before = 0u128;
        let unmapped = c.client.is_none();
        let out_of_flight = !unmapped && (date_ord < c.start || date_ord > c.end);
        let has_dup = a.dups.binary_search(&(i as u32)).is_ok();
        for j in 0..n {
            let w = block.weights[j as usize];
            let r = DayTotals {
                impressions: cumulative_split(t.impressions, before, w, sum),
                clicks: cumulative_split(t.clicks, before, w, sum),
                conversions: cumulative_split(t.conversions, before, w, sum),
                spend: cumulative_split(t.spend, before, w, sum),
            };
            before += w;
            let line = &mut block.line;
            line.clear();
            let grain = st.grain_base + j;
            match template {
                Template::GoogleAds => {
                    line.extend_from_slice(st.name_csv.as_bytes());
                    line.push(b',');
                    line.extend_from_slice(st.id.as_bytes());
                    line.push(b',');
                    let group = j / 6;
                    write!(
                        line,
                        "{} {},{},{},{},{},",
                        AD_GROUPS[(group % 8) as usize],
                        group / 8 + 1,
                        150_000_000_000 + st.grain_base / 10 + group,
                        600_000_000_000 + grain,
                        date,
                        cur.code
                    )?;
                    grouped(line, r.impressions, 0);
                    line.push(b',');
                    grouped(line, r.clicks, 0);
                    line.push(b',');
                    let cpc = (r.spend + r.clicks / 2).checked_div(r.clicks).unwrap_or(0);
                    grouped(line, cpc, cur.minor);
                    line.push(b',');
                    grouped(line, r.spend, cur.minor);
                    line.push(b',');
                    grouped(line, r.conversions, 2);
                    line.push(b'\n');
                }
                Template::Meta => {
                    write!(line, "{date},{date},")?;
                    line.extend_from_slice(st.name_csv.as_bytes());
                    line.push(b',');
                    line.extend_from_slice(st.id.as_bytes());
                    line.push(b',');
                    let name = AD_NAMES[(j % 12) as usize];
                    if j == 4 && s.is_multiple_of(16) {
                        // a name with a line break, as Excel and Meta write it
                        line.extend_from_slice("\"Carousel – city\n(story cut)\"".as_bytes());
                    } else if name.contains(',') {
                        write!(line, "\"{name} #{}\"", j / 12 + 1)?;
                    } else {
                        write!(line, "{name} #{}", j / 12 + 1)?;
                    }
                    write!(
                        line,
                        ",{},{},{},",
                        120_208_900_000_000 + grain,
                        r.impressions,
                        r.clicks
                    )?;
                    trimmed(line, r.conversions);
                    line.extend_from_slice(b",actions:offsite_conversion.fb_pixel_purchase,");
                    plain(line, r.spend, 2);
                    line.extend_from_slice(b"\r\n");
                }
                Template::Cm360 => {
                    let client = c
                        .client
                        .map(|k| self.clients[k].name.as_str())
                        .unwrap_or("");
                    write!(line, "{date},{},", cell(client))?;
                    line.extend_from_slice(st.name_csv.as_bytes());
                    writeln!(
                        line,
                        ",{},{}_{}_{},{},{},{},{}",
                        st.id,
                        st.name_csv,
                        SITES[(j % 8) as usize],
                        SIZES[(j / 8 % 6) as usize],
                        400_000_000 + grain,
                        r.impressions,
                        r.clicks,
                        r.conversions
                    )?;
                }
                Template::Dv360 => {
                    let client = c
                        .client
                        .map(|k| self.clients[k].name.as_str())
                        .unwrap_or("Synthetic Media");
                    write!(line, "{date},{},{},", cell(client), cur.code)?;
                    line.extend_from_slice(st.name_csv.as_bytes());
                    write!(
                        line,
                        ",{},LI {} {},{},{},{},{},",
                        st.id,
                        SITES[(j / 4 % 8) as usize],
                        j / 4 + 1,
                        70_000_000 + st.grain_base / 100 + j / 4,
                        900_000_000 + grain,
                        r.impressions,
                        r.clicks
                    )?;
                    plain(line, r.conversions, 2);
                    line.push(b',');
                    plain(line, r.spend, cur.minor);
                    line.push(b'\n');
                }
            }
            out.write_all(line)?;
            if j == 0 {
                block.first.clear();
                block.first.extend_from_slice(line);
            }
            sums.impressions += r.impressions;
            sums.clicks += r.clicks;
            sums.conversions += r.conversions;
        }
        e.data += n;
        if unmapped {
            e.unmapped += n;
        } else if out_of_flight {
            e.out_of_flight += n;
        }
        if has_dup {
            // the same row again, as when two overlapping downloads are concatenated
            out.write_all(&block.first)?;
            e.data += 1;
            e.duplicates += 1;
        }
        Ok(())
    }

    fn write_period_files(&self, w: &mut Writer, pi: usize) -> io::Result<()> {
        let p = &self.periods[pi];
        let dir = format!("periods/{}", p.name);
        let last = iso(p.last());
        let mut rng = Rng(key(self.p.seed, &[100, pi as u64]));

        // fx.csv: every ordered pair, locked at the period's last day
        let mut t = String::from("as_of,from,to,rate,source\n");
        for (a, ca) in CURRENCIES.iter().enumerate() {
            for (b, cb) in CURRENCIES.iter().enumerate() {
                if a != b {
                    let rate = self.fx[pi][b] / self.fx[pi][a];
                    t += &format!(
                        "{last},{},{},{:.6},ECB reference rate\n",
                        ca.code, cb.code, rate
                    );
                }
            }
        }
        w.file(&format!("{dir}/fx.csv"), &t)?;

        let active = |l: &Line| l.start <= p.last() && l.end >= p.first;

        // timesheets.csv
        let mut t = String::from("line_id,date,person,hours,description\n");
        for (l, line) in self.lines.iter().enumerate() {
            for sheet in &self.hours[l][pi] {
                let (day, quarters, person) = (sheet.day, sheet.quarter_hours, sheet.person);
                let hours = format!("{}.{:02}", quarters / 4, quarters % 4 * 25);
                t += &csv_row(&[
                    &line.id,
                    &iso(day),
                    person,
                    &hours,
                    "Workshop, analysis and reporting",
                ]);
            }
        }
        w.file(&format!("{dir}/timesheets.csv"), &t)?;

        // milestones.csv: accepted here, or pending (listed without acceptance)
        let mut t = String::from(
            "line_id,milestone_id,description,amount,accepted_on,accepted_by,acceptance_ref\n",
        );
        for (l, line) in self.lines.iter().enumerate() {
            for m in &self.milestones[l] {
                let (id, name, amount, accepted) =
                    (&m.id, &m.description, &m.amount, &m.accepted_in);
                let amount = minor_str(*amount, CURRENCIES[line.currency].minor);
                if *accepted == Some(pi) {
                    let day = iso(p.first + 5 + (l as i32 % 20));
                    t += &csv_row(&[
                        &line.id,
                        id,
                        name,
                        &amount,
                        &day,
                        "Client project lead",
                        &format!("ACC-{}-{}", line.id, id),
                    ]);
                } else if accepted.is_none_or(|a| a > pi)
                    && active(line)
                    && pi + 1 == self.periods.len()
                {
                    t += &csv_row(&[&line.id, id, name, &amount, "", "", ""]);
                }
            }
        }
        w.file(&format!("{dir}/milestones.csv"), &t)?;

        // change_orders.csv
        let mut t = String::from(
            "change_id,line_id,effective_from,rate,budget,end,requested_by,approved_by,approved_at,reference\n",
        );
        for (l, line) in self.lines.iter().enumerate() {
            if let Some((cpi, day, rate, approved)) = line.change
                && cpi == pi
            {
                {
                    let (by, at) = if approved {
                        ("c.lindqvist", iso(day - 3))
                    } else {
                        ("", String::new())
                    };
                    t += &csv_row(&[
                        &format!("CO-{}-{:05}", p.name, l),
                        &line.id,
                        &iso(day),
                        &minor_str(rate, CURRENCIES[line.currency].minor),
                        "",
                        "",
                        "d.howard",
                        by,
                        &at,
                        "Rate card review",
                    ]);
                }
            }
        }
        w.file(&format!("{dir}/change_orders.csv"), &t)?;

        // adjustments.csv: a few credits, make-goods and fees, some with attachments
        let mut t = String::from(
            "adjustment_id,client_id,line_id,kind,amount,currency,reason,description,requested_by,approved_by,approved_at,evidence,invoice_number\n",
        );
        let mut n = 0;
        for (c, client) in self.clients.iter().enumerate() {
            let lines: Vec<&Line> = self
                .lines
                .iter()
                .filter(|l| l.client == c && active(l))
                .collect();
            if lines.is_empty() || !rng.chance(0.04) {
                continue;
            }
            n += 1;
            let id = format!("ADJ-{}-{n:04}", p.name.replace('-', ""));
            let (kind, reason, text) = *rng.pick(&[
                ("credit", "other", "Goodwill credit agreed with the client"),
                (
                    "credit",
                    "creative_delay",
                    "Credit: creative delivered late",
                ),
                (
                    "make_good",
                    "make_good",
                    "Make-good for under-served placements",
                ),
                ("fee", "other", "One-off: tracking setup"),
            ]);
            let cur = &CURRENCIES[client.currency];
            let amount = (50 + rng.below(18) as u64 * 50)
                * if cur.minor == 0 {
                    150
                } else {
                    10u64.pow(cur.minor)
                };
            let approved = rng.chance(0.9);
            let (by, at) = if approved {
                ("m.lindqvist", iso(p.last() - 2))
            } else {
                ("", String::new())
            };
            let evidence = if rng.chance(0.3) {
                let rel = format!("adjustments/{id}.txt");
                w.file(
                    &format!("{dir}/attachments/{rel}"),
                    &format!(
                        "{id}\n{text}\nClient: {}\nAmount: {} {}\n",
                        client.name,
                        minor_str(amount, cur.minor),
                        cur.code
                    ),
                )?;
                rel
            } else {
                format!("https://synthetic.example/adjustments/{id}")
            };
            let line = if rng.chance(0.7) {
                rng.pick(&lines).id.as_str()
            } else {
                ""
            };
            t += &csv_row(&[
                &id,
                &client.id,
                line,
                kind,
                &minor_str(amount, cur.minor),
                cur.code,
                reason,
                text,
                "a.moreau",
                by,
                &at,
                &evidence,
                "",
            ]);
        }
        w.file(&format!("{dir}/adjustments.csv"), &t)?;

        // payments.csv: most clients pay (part of) what they were invoiced last period
        let mut t = String::from(
            "payment_id,client_id,received_on,amount,currency,reference,invoice_number\n",
        );
        if pi > 0 {
            let mut n = 0;
            for (c, client) in self.clients.iter().enumerate() {
                let cur = &CURRENCIES[client.currency];
                let owed: f64 = self
                    .lines
                    .iter()
                    .enumerate()
                    .filter(|(_, l)| l.client == c)
                    .map(|(l, line)| {
                        self.billed[l][pi - 1] * self.fx[pi - 1][client.currency]
                            / self.fx[pi - 1][line.currency]
                    })
                    .sum();
                let share = [1.0, 1.0, 0.5, 0.0][rng.below(4)];
                let amount = (owed * share).floor() as u64;
                if amount == 0 {
                    continue;
                }
                n += 1;
                t += &csv_row(&[
                    &format!("PAY-{}-{n:05}", p.name.replace('-', "")),
                    &client.id,
                    &iso(p.first + 3 + rng.below(20) as i32),
                    &minor_str(amount * 10u64.pow(cur.minor), cur.minor),
                    cur.code,
                    &format!("Bank transfer {}", client.name),
                    "",
                ]);
            }
        }
        w.file(&format!("{dir}/payments.csv"), &t)?;

        // checklist.csv
        let mut t =
            String::from("client_id,step,owner,status,signed_off_by,signed_off_at,evidence\n");
        t += &csv_row(&[
            "*",
            "Platform invoices matched to exported spend",
            "Ad operations",
            "done",
            "j.patel",
            &last,
            "",
        ]);
        t += &csv_row(&[
            "*",
            "Signed IO / SOW and PO on file for every billed line",
            "Account management",
            "done",
            "b.keane",
            &last,
            "",
        ]);
        for client in &self.clients {
            if rng.chance(0.03) {
                t += &csv_row(&[
                    &client.id,
                    "Client sign-off on the monthly report",
                    "Account management",
                    "pending",
                    "",
                    "",
                    "",
                ]);
            }
        }
        w.file(&format!("{dir}/checklist.csv"), &t)?;

        // notes
        for client in &self.clients {
            if rng.chance(0.05) {
                w.file(
                    &format!("{dir}/notes/{}.md", client.id),
                    &format!(
                        "# {} {}\n\n- Delivery on plan across channels.\n- Next review: first week of the \
                         coming month.\n\n| Item | Status |\n| --- | --- |\n| Tracking | verified |\n| Creative | \
                         approved |\n",
                        MONTHS[p.month as usize - 1],
                        p.year
                    ),
                )?;
            }
        }

        // variances.csv: an explanation wherever the data makes a variance
        let t = self.explanations(pi);
        w.summary.explanations += t.lines().count() - 1;
        w.file(&format!("{dir}/variances.csv"), &t)
    }

    /// Explains the discrepancies and outages the data has (computed exactly from the
    /// rows written) and every predicted change of more than 40 % against last period.
    fn explanations(&self, pi: usize) -> String {
        let p = &self.periods[pi];
        let mut t = String::from("client_id,line_id,cause,explanation,evidence,approved_by\n");
        // per campaign: day → (platform, ad server) impressions over flight days
        let mut by_campaign: BTreeMap<usize, BTreeMap<i32, KindsOnDay>> = BTreeMap::new();
        for s in 0..self.streams.len() {
            let st = &self.streams[s];
            let c = &self.campaigns[st.campaign];
            if c.client.is_none() || !self.has_ad_server(st.campaign) {
                continue;
            }
            for (day, _, totals) in self.stream_days(s, pi) {
                let d = p.first + day as i32;
                if d < c.start || d > c.end {
                    continue;
                }
                let e = by_campaign
                    .entry(st.campaign)
                    .or_default()
                    .entry(d)
                    .or_default();
                if st.ad_server {
                    e.ad_server += totals.impressions;
                    e.ad_server_rows = true;
                } else {
                    e.platform += totals.impressions;
                    e.platform_rows = true;
                }
            }
        }
        for (&ci, days) in &by_campaign {
            let c = &self.campaigns[ci];
            let client = &self.clients[c.client.unwrap_or(0)];
            for &l in &c.lines {
                let line = &self.lines[l];
                if line.model != Model::Cpm || line.basis == "platform" {
                    continue;
                }
                let (flight_from, flight_to) = (line.start.max(p.first), line.end.min(p.last()));
                let in_flight = days.range(flight_from..=flight_to);
                let (mut plat, mut srv, mut both) = (0u64, 0u64, (false, false));
                let mut outage = Vec::new();
                for (&d, k) in in_flight {
                    let (a, b, ra, rb) =
                        (k.platform, k.ad_server, k.platform_rows, k.ad_server_rows);
                    plat += a;
                    srv += b;
                    both = (both.0 || ra, both.1 || rb);
                    if (a > 0) != (b > 0) {
                        outage.push(iso(d));
                    }
                }
                if both.0 && both.1 && (srv == 0 || (srv.abs_diff(plat)) * 100 > srv * 10) {
                    let pct = srv.abs_diff(plat) as f64 * 100.0 / srv.max(1) as f64;
                    t += &csv_row(&[
                        &client.id,
                        &line.id,
                        "ad_server_discrepancy",
                        &format!(
                            "The platforms counted **{pct:.1} %** more impressions than the ad server in {}: \
                             invalid traffic and viewability filtering on the ad-server side. Billing stays on \
                             the contract basis (ad server).",
                            p.name
                        ),
                        "https://www.iab.com/guidelines/iab-measurement-guidelines/",
                        "c.lindqvist",
                    ]);
                }
                if !outage.is_empty() {
                    t += &csv_row(&[
                        &client.id,
                        &line.id,
                        "tracking_outage",
                        &format!(
                            "The ad-server tag was missing from the creative on {}: the platform served, \
                             the ad server recorded nothing. Those days are not billed.",
                            outage.join(", ")
                        ),
                        "",
                        "c.lindqvist",
                    ]);
                }
            }
        }
        if pi > 0 {
            for (l, line) in self.lines.iter().enumerate() {
                let (prev, now) = (self.billed[l][pi - 1], self.billed[l][pi]);
                let unit = 10f64.powi(CURRENCIES[line.currency].minor as i32);
                let active = line.start <= p.last() && line.end >= p.first;
                if !active || prev * unit < 1.0 || (now - prev).abs() <= 0.4 * prev {
                    continue;
                }
                let why = match line.model {
                    Model::Milestone => {
                        "Milestones are billed when the client accepts them.".to_owned()
                    }
                    Model::Hourly => {
                        "Hours follow the work the client requested this month.".to_owned()
                    }
                    _ if line.start >= self.periods[pi - 1].first => {
                        format!("The flight started on {}.", iso(line.start))
                    }
                    _ if line.end <= p.last() => format!("The flight ended on {}.", iso(line.end)),
                    _ if line.budget.is_some() => "The line reached its budget cap.".to_owned(),
                    _ => "Delivery followed the client's seasonal budget.".to_owned(),
                };
                t += &csv_row(&[
                    &self.clients[line.client].id,
                    &line.id,
                    "prior_period_change",
                    &why,
                    "",
                    "c.lindqvist",
                ]);
            }
        }
        t
    }
}

#[derive(Default)]
struct Block {
    weights: Vec<u128>,
    line: Vec<u8>,
    first: Vec<u8>,
}

/// `v` minor units with `minor` decimals, thousands grouped with `,` and quoted when
/// grouped, as Google Ads writes numbers: 1234567 → "1,234,567"; 123456, 2 → "1,234.56".
fn grouped(out: &mut Vec<u8>, v: u64, minor: u32) {
    let unit = 10u64.pow(minor);
    let whole = v / unit;
    let quote = whole >= 1000;
    if quote {
        out.push(b'"');
    }
    let digits = whole.to_string();
    for (i, ch) in digits.bytes().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(b',');
        }
        out.push(ch);
    }
    if minor > 0 {
        let _ = write!(out, ".{:0width$}", v % unit, width = minor as usize);
    }
    if quote {
        out.push(b'"');
    }
}

/// `v` minor units with `minor` decimals, no grouping.
fn plain(out: &mut Vec<u8>, v: u64, minor: u32) {
    if minor == 0 {
        let _ = write!(out, "{v}");
    } else {
        let unit = 10u64.pow(minor);
        let _ = write!(
            out,
            "{}.{:0width$}",
            v / unit,
            v % unit,
            width = minor as usize
        );
    }
}

/// Hundredths without trailing zeros: 300 → "3", 250 → "2.5", 33 → "0.33".
fn trimmed(out: &mut Vec<u8>, v: u64) {
    match v % 100 {
        0 => {
            let _ = write!(out, "{}", v / 100);
        }
        r if r % 10 == 0 => {
            let _ = write!(out, "{}.{}", v / 100, r / 10);
        }
        r => {
            let _ = write!(out, "{}.{r:02}", v / 100);
        }
    }
}
