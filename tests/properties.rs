//! Properties of loading: random exports survive with their provenance intact, every
//! row read is accounted for, its metrics read back and summed day by day exactly once,
//! and no input makes the loader panic.

mod common;

use chrono::NaiveDate;
use proptest::prelude::*;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use tallyseal::check::Summary;
use tallyseal::ingest::read_metrics;
use tallyseal::model::{Metric, RowClass};

const TOML: &str = r#"[agency]
name = "Prop Agency"

[[source]]
name = "plat"
files = "exports/*.csv"
kind = "platform"
skip_rows = SKIP
footer_prefix = "Total"
thousands_separator = ","
grain = ["Placement"]
[source.columns]
campaign = "Campaign"
date = "Day"
impressions = "Impressions"
"#;

/// One generated line of an export after its header.
#[derive(Debug, Clone)]
enum Entry {
    /// A data row: campaign index (3 is unmapped), day, impressions, free-text note.
    Row {
        campaign: u8,
        day: u8,
        impressions: u32,
        note: String,
    },
    /// An exact copy of the n-th earlier row (modulo the rows so far).
    Duplicate(usize),
    Blank,
    Total,
}

fn entry() -> impl Strategy<Value = Entry> {
    prop_oneof![
        6 => (0u8..4, 1u8..=31, any::<u32>(), "[a-z ,\"\n\r]{0,12}")
            .prop_map(|(campaign, day, impressions, note)| Entry::Row { campaign, day, impressions, note }),
        1 => any::<usize>().prop_map(Entry::Duplicate),
        1 => Just(Entry::Blank),
        1 => Just(Entry::Total),
    ]
}

fn quote(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

/// 1,234,567 with thousands separators.
fn grouped(n: u32) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

struct Expected {
    text: String,
    /// For each data row in file order: its record text, line, leaf, class.
    rows: Vec<(String, u64, u64, RowClass)>,
    /// For each data row in file order: its impressions.
    impressions: Vec<u32>,
    leaves: usize,
    tally: (usize, usize, usize, usize, usize, usize),
}

fn render(skip: usize, entries: &[Entry], crlf: bool, final_newline: bool) -> Expected {
    let eol = if crlf { "\r\n" } else { "\n" };
    let mut records: Vec<String> = (0..skip)
        .map(|i| format!("Report line {i}, \"quoted"))
        .collect();
    records.push("Campaign,Day,Placement,Impressions,Note".into());
    let mut rows: Vec<(String, RowClass)> = Vec::new();
    let mut counts: Vec<u32> = Vec::new();
    let (mut mapped, mut unmapped, mut duplicate, mut total, mut blank) = (0, 0, 0, 0, 0);
    for (placement, entry) in entries.iter().enumerate() {
        let record = match entry {
            Entry::Row {
                campaign,
                day,
                impressions,
                note,
            } => {
                let class = if *campaign < 3 {
                    mapped += 1;
                    // The only campaign, so the first of the period's.
                    RowClass::Mapped { campaign: 0 }
                } else {
                    unmapped += 1;
                    RowClass::Unmapped
                };
                let record = format!(
                    "c{campaign},2026-10-{day:02},P{placement},{},{}",
                    quote(&grouped(*impressions)),
                    quote(note)
                );
                rows.push((record.clone(), class));
                counts.push(*impressions);
                record
            }
            Entry::Duplicate(n) => {
                let originals: Vec<usize> = (0..rows.len())
                    .filter(|i| !matches!(rows[*i].1, RowClass::Duplicate { .. }))
                    .collect();
                if originals.is_empty() {
                    blank += 1;
                    String::new()
                } else {
                    let of = originals[n % originals.len()];
                    duplicate += 1;
                    let record = rows[of].0.clone();
                    rows.push((record.clone(), RowClass::Duplicate { of: of as u32 }));
                    counts.push(counts[of]);
                    record
                }
            }
            Entry::Blank => {
                blank += 1;
                String::new()
            }
            Entry::Total => {
                total += 1;
                "Total,,,\"1,000\",".to_owned()
            }
        };
        records.push(record);
    }
    let mut text = String::new();
    let mut line = 1u64;
    let mut placed = Vec::new();
    let mut data = rows.into_iter();
    for (leaf, record) in records.iter().enumerate() {
        let last = leaf == records.len() - 1;
        let piece = if last && !final_newline {
            record.clone()
        } else {
            format!("{record}{eol}")
        };
        let is_row = leaf > skip && !record.is_empty() && !record.starts_with("Total");
        if is_row {
            let (record_text, class) = data.next().expect("a row per data record");
            assert_eq!(&record_text, record);
            placed.push((piece.clone(), line, leaf as u64, class));
        }
        line += piece.matches('\n').count() as u64;
        text.push_str(&piece);
    }
    // A final empty record without its line ending is no leaf at all.
    let leaves = if !final_newline && records.last().is_some_and(String::is_empty) {
        records.len() - 1
    } else {
        records.len()
    };
    let rows_read = leaves - skip - 1;
    let blank = blank - (records.len() - leaves);
    Expected {
        text,
        rows: placed,
        impressions: counts,
        leaves,
        tally: (rows_read, mapped, unmapped, duplicate, total, blank),
    }
}

fn project(skip: usize, export: &str) -> common::Fixture {
    let fixture = common::Fixture {
        dir: tempfile::tempdir().unwrap(),
    };
    fixture
        .write("tallyseal.toml", TOML.replace("SKIP", &skip.to_string()))
        .write("clients.csv", "client_id,name,country,currency,tax_treatment,payment_terms_days\nc,C Ltd,GB,GBP,exempt,30\n")
        .write("contracts.csv", "line_id,client_id,campaign,description,model,rate,currency,start,end\nl,c,camp,Line,cpm,5,GBP,2026-10-01,2026-10-31\n")
        .write("crosswalk.csv", "source,source_campaign_id,campaign\nplat,c0,camp\nplat,c1,camp\nplat,c2,camp\n")
        .write("periods/2026-10/exports/export.csv", export);
    fixture
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn rows_survive_loading_with_provenance_and_conservation(
        skip in 0usize..3,
        entries in prop::collection::vec(entry(), 0..40),
        crlf in any::<bool>(),
        final_newline in any::<bool>(),
    ) {
        let expected = render(skip, &entries, crlf, final_newline);
        let fixture = project(skip, &expected.text);
        let project = match fixture.load() {
            Ok(loaded) => loaded.project,
            Err(e) => panic!("{:#?}\n{}", e.problems.errors, expected.text),
        };
        let oct = &project.periods[0];
        let export = &oct.exports[0];
        let bytes = expected.text.as_bytes();
        prop_assert_eq!(export.size, bytes.len() as u64);
        prop_assert_eq!(export.leaf_count(), expected.leaves);
        // The leaves partition the file.
        let mut joined = Vec::new();
        for i in 0..export.leaf_count() {
            let range = export.leaf_range(i);
            joined.extend_from_slice(&bytes[range.start as usize..range.end as usize]);
        }
        prop_assert_eq!(&joined[..], bytes);
        // Every row: its exact bytes, line, leaf and class.
        prop_assert_eq!(oct.rows.len(), expected.rows.len());
        for ((index, row), (piece, line, leaf, class)) in oct.rows.indexed().zip(&expected.rows) {
            let range = export.leaf_range(row.leaf as usize);
            let range = range.start as usize..range.end as usize;
            prop_assert_eq!(&bytes[range], piece.as_bytes());
            prop_assert_eq!(oct.line(oct.rows.origin(index)), *line);
            prop_assert_eq!(u64::from(row.leaf), *leaf);
            prop_assert_eq!(&row.class, class);
            let campaign = oct.rows.campaign(row).map(|c| &**c);
            prop_assert_eq!(campaign, matches!(class, RowClass::Mapped { .. }).then_some("camp"));
        }
        let t = Summary::of(&project, &[]).all;
        prop_assert_eq!((t.rows_read, t.mapped, t.unmapped, t.duplicate, t.total, t.blank), expected.tally);
        prop_assert!(t.balanced());
        // Each row's metrics read back from its leaf, and the day sums billing reads
        // re-add the mapped rows (a duplicate counted once).
        let all: Vec<u32> = (0..oct.rows.len() as u32).rev().collect();
        let mut read = Vec::new();
        read_metrics(&project.dir, oct, &project.config.sources, &all, |i, m| read.push((i, m)))
            .unwrap();
        let read: Vec<u32> = read.iter().map(|(i, _)| *i).collect();
        prop_assert_eq!(read, (0..oct.rows.len() as u32).collect::<Vec<_>>(), "in file order");
        let mut read = Vec::new();
        read_metrics(&project.dir, oct, &project.config.sources, &all, |_, m| read.push(m.impressions()))
            .unwrap();
        let counts: Vec<_> = expected.impressions.iter().map(|n| Some(Decimal::from(*n))).collect();
        prop_assert_eq!(read, counts);
        let mut by_day: BTreeMap<NaiveDate, Decimal> = BTreeMap::new();
        for ((_, row), n) in oct.rows.indexed().zip(&expected.impressions) {
            if matches!(row.class, RowClass::Mapped { .. }) {
                *by_day.entry(row.date).or_default() += Decimal::from(*n);
            }
        }
        let mut summed: BTreeMap<NaiveDate, Decimal> = BTreeMap::new();
        for day in oct.rows.days(0) {
            let impressions = day.totals.get(Metric::Impressions).unwrap().unwrap();
            prop_assert!(summed.insert(day.date, impressions).is_none(), "one sum a day");
        }
        prop_assert_eq!(summed, by_day);
    }

    #[test]
    fn arbitrary_export_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400), skip in 0usize..3) {
        let fixture = project(skip, "");
        fixture.write("periods/2026-10/exports/export.csv", &bytes);
        if let Ok(loaded) = fixture.load() {
            prop_assert!(Summary::of(&loaded.project, &[]).all.balanced());
        }
    }

    #[test]
    fn arbitrary_project_csv_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300), which in 0usize..4) {
        let fixture = project(0, "Campaign,Day,Placement,Impressions\n");
        let file = ["clients.csv", "contracts.csv", "crosswalk.csv", "periods/2026-10/payments.csv"][which];
        fixture.write(file, &bytes);
        let _ = fixture.load();
    }

    #[test]
    fn arbitrary_config_text_never_panics(text in "[\\[\\]a-z_=\"{}:0-9. \n]{0,200}") {
        let fixture = project(0, "Campaign,Day,Placement,Impressions\n");
        fixture.write("tallyseal.toml", &text);
        let _ = fixture.load();
    }
}
