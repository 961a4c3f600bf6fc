//! The synthetic agency of `examples/synth.rs` (the benchmark's data): a tiny one, in
//! both row orders, passes `check` and `build` with the real binary, accounts for every
//! row as the generator says it wrote it, and is byte-identical for the same seed.

#[allow(dead_code)]
#[path = "../examples/synth.rs"]
mod synth;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use synth::{Order, Params, Summary};
mod common;
use common::{tallyseal, text};

fn tiny(seed: u64, order: Order, out: PathBuf) -> Params {
    Params {
        seed,
        clients: 3,
        lines: 10,
        sources: 4,
        rows: 2_000,
        periods: 2,
        order,
        out,
    }
}

/// Every file under `dir`, by relative path.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                files.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    files
}

fn check_and_build(project: &Path, site: &Path, summary: &Summary) {
    let out = tallyseal(&["check", project.to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "check failed:\n{stdout}\n{}",
        text(&out.stderr)
    );
    // `all  files  rows read  mapped  unmapped  duplicate  total  blank`
    let all: Vec<u64> = stdout
        .lines()
        .find(|l| l.starts_with("all "))
        .expect("an `all` line")
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    let sum = |f: fn(&synth::ExportSummary) -> u64| summary.exports.iter().map(f).sum::<u64>();
    let (data, dups, unmapped) = (sum(|e| e.data), sum(|e| e.duplicates), sum(|e| e.unmapped));
    let (totals, blank) = (sum(|e| e.totals), sum(|e| e.blank));
    // 2 periods × 2,000 rows; rows read = data + total + blank rows
    assert_eq!(data, 4_000);
    assert_eq!(
        all,
        vec![
            8,
            data + totals + blank,
            data - dups - unmapped,
            unmapped,
            dups,
            totals,
            blank
        ],
        "{stdout}"
    );
    assert!(
        dups > 0 && unmapped > 0 && totals > 0 && blank > 0,
        "{stdout}"
    );
    assert!(sum(|e| e.out_of_flight) <= data / 50);

    let out = tallyseal(&[
        "build",
        project.to_str().unwrap(),
        "--out",
        site.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "build failed:\n{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(
        !text(&out.stderr).contains("unsigned"),
        "{}",
        text(&out.stderr)
    );
    // three clients, each with a signed bundle per period
    let clients: Vec<_> = std::fs::read_dir(site.join("clients")).unwrap().collect();
    assert_eq!(clients.len(), 3);
    for c in clients {
        for period in ["2026-09", "2026-10"] {
            let bundle = c.as_ref().unwrap().path().join(period);
            assert!(
                bundle.join("SHA256SUMS.sig").is_file(),
                "{}",
                bundle.display()
            );
        }
    }
}

#[test]
fn a_tiny_synthetic_agency_checks_builds_and_is_reproducible() {
    let tmp = tempfile::tempdir().unwrap();
    let mut trees = Vec::new();
    for order in [Order::Grouped, Order::Date] {
        let name = format!("{order:?}");
        let first = tiny(7, order, tmp.path().join(format!("{name}-a")));
        let summary = synth::generate(&first).unwrap();
        check_and_build(
            &first.out,
            &tmp.path().join(format!("{name}-site")),
            &summary,
        );

        // the same seed again: the same bytes, file for file
        let again = tiny(7, order, tmp.path().join(format!("{name}-b")));
        synth::generate(&again).unwrap();
        let (a, b) = (tree(&first.out), tree(&again.out));
        assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
        for (path, bytes) in &a {
            assert!(
                bytes == &b[path],
                "{path} differs between two runs of seed 7"
            );
        }
        trees.push(a);
    }
    // the two orders hold the same rows of every export, only in another order
    let (grouped, date) = (&trees[0], &trees[1]);
    let (mut exports, mut reordered) = (0, 0);
    for (path, bytes) in grouped.iter().filter(|(p, _)| p.contains("/exports/")) {
        let lines = |b: &[u8]| {
            let mut l: Vec<Vec<u8>> = b.split(|&c| c == b'\n').map(<[u8]>::to_vec).collect();
            l.sort();
            l
        };
        assert_eq!(lines(bytes), lines(&date[path]), "{path}");
        exports += 1;
        reordered += usize::from(bytes != &date[path]);
    }
    assert_eq!(exports, 8);
    assert!(reordered > 0, "the orders should differ");

    // another seed, another agency
    let other = tiny(8, Order::Grouped, tmp.path().join("seed8"));
    synth::generate(&other).unwrap();
    assert_ne!(tree(&other.out)["contracts.csv"], trees[0]["contracts.csv"]);
}

#[test]
fn presets_yield_to_explicit_flags() {
    let args: Vec<String> = [
        "--size", "large", "--rows", "5_000", "--out", "x", "--order", "date",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let p = Params::from_args(&args).unwrap();
    assert_eq!(
        (p.clients, p.lines, p.rows, p.periods),
        (500, 5_000, 5_000, 1)
    );
    assert_eq!(p.order, Order::Date);
    let bad = |a: &[&str]| Params::from_args(&a.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    assert!(bad(&["--size", "huge", "--out", "x"]).is_err());
    assert!(bad(&["--clients", "5", "--lines", "4", "--out", "x"]).is_err());
    assert!(bad(&["--rows", "1k", "--out", "x"]).is_err());
    assert!(bad(&["--size", "small"]).is_err(), "--out is required");
}

/// Rows are classified, billed and rendered on every core: the site must not depend on
/// how many there are (nor on which core meets a duplicate or a campaign first).
#[test]
fn the_site_is_the_same_on_one_core_and_on_several() {
    let tmp = tempfile::tempdir().unwrap();
    let params = tiny(11, Order::Date, tmp.path().join("project"));
    synth::generate(&params).unwrap();
    let project = params.out.to_str().unwrap();
    let mut sites = Vec::new();
    for threads in ["1", "3", "8"] {
        let site = tmp.path().join(format!("site-{threads}"));
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_tallyseal"))
            .args(["build", project, "--out", site.to_str().unwrap()])
            .env("RAYON_NUM_THREADS", threads)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        sites.push(tree(&site));
    }
    for other in &sites[1..] {
        assert_eq!(
            sites[0].keys().collect::<Vec<_>>(),
            other.keys().collect::<Vec<_>>()
        );
        for (path, bytes) in &sites[0] {
            assert!(
                bytes == &other[path],
                "{path} differs with the number of cores"
            );
        }
    }
}
