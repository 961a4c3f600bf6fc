//! `tallyseal build` end to end: the sample agency's invoices against reviewed expected
//! files, determinism, and the output written atomically and never over what a build
//! did not write.
//!
//! Expected machine-readable files (`*.json`) live in `tests/expected/sample-data/`. After a reviewed change of the
//! numbers, `TALLYSEAL_BLESS=1 cargo test --test build` rewrites them; review the diff.

mod common;

use common::tallyseal;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

fn manifest(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// Every file under `root`, relative path → bytes.
fn files(root: &Path) -> BTreeMap<String, Vec<u8>> {
    walkdir::WalkDir::new(root)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let relative = e
                .path()
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            (relative, std::fs::read(e.path()).unwrap())
        })
        .collect()
}

fn build(project: &Path, out: &Path) -> Output {
    tallyseal(&[
        "build",
        project.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ])
}

#[test]
fn sample_invoices_match_the_reviewed_expected_files() {
    let temp = tempfile::tempdir().unwrap();
    let out = temp.path().join("site");
    let result = build(&manifest("sample-data"), &out);
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    // The machine-readable files are the reviewed contract; pages are covered by the
    // committed site/ below. `statement.json` names the hash of the previous bundle's
    // manifest, so it changes with every page; the site test and tests/seal.rs cover it.
    let built: BTreeMap<String, Vec<u8>> = files(&out)
        .into_iter()
        .filter(|(path, _)| path.ends_with(".json") && !path.ends_with("/statement.json"))
        .collect();
    let expected_dir = manifest("tests/expected/sample-data");
    if std::env::var_os("TALLYSEAL_BLESS").is_some() {
        let _ = std::fs::remove_dir_all(&expected_dir);
        for (path, bytes) in &built {
            let target = expected_dir.join(path);
            std::fs::create_dir_all(target.parent().unwrap()).unwrap();
            std::fs::write(target, bytes).unwrap();
        }
    }
    let expected = files(&expected_dir);
    assert_eq!(
        built.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>()
    );
    for (path, bytes) in &built {
        assert!(
            bytes == &expected[path],
            "{path} differs from tests/expected/sample-data/{path}"
        );
    }
    let count = |name: &str| built.keys().filter(|p| p.ends_with(name)).count();
    assert_eq!(
        (count("/invoice.json"), count("/account.json")),
        (18, 18),
        "six clients, three periods"
    );
}

#[test]
fn two_builds_are_byte_identical() {
    let temp = tempfile::tempdir().unwrap();
    for name in ["a", "b"] {
        assert!(
            build(&manifest("sample-data"), &temp.path().join(name))
                .status
                .success()
        );
    }
    assert_eq!(files(&temp.path().join("a")), files(&temp.path().join("b")));
}

#[test]
fn a_failed_build_leaves_the_previous_site_as_it_was() {
    let fixture = common::Fixture::valid();
    let temp = tempfile::tempdir().unwrap();
    let out = temp.path().join("site");
    assert!(build(fixture.path(), &out).status.success());
    let before = files(&out);
    assert!(!before.is_empty());

    // A broken input: the build fails and writes nothing.
    fixture.write("clients.csv", common::CLIENTS.replace("GB,GBP", "GB,XXX"));
    let failed = build(fixture.path(), &out);
    assert!(!failed.status.success());
    assert_eq!(files(&out), before);
    // A billing error (a needed rate missing) fails after loading: still nothing written.
    let fixture = common::Fixture::valid();
    fixture.write(
        "contracts.csv",
        common::CONTRACTS.replace("Retainer,flat,3000,EUR", "Retainer,flat,3000,USD"),
    );
    let failed = build(fixture.path(), &out);
    assert!(!failed.status.success());
    assert!(String::from_utf8_lossy(&failed.stderr).contains("needs a locked USD->EUR rate"));
    assert_eq!(files(&out), before);
    // No staging directory is left behind.
    let leftovers: Vec<_> = std::fs::read_dir(temp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, ["site"]);
}

#[test]
fn a_build_clears_what_killed_builds_left_beside_the_site() {
    let fixture = common::Fixture::valid();
    let temp = tempfile::tempdir().unwrap();
    let out = temp.path().join("site");
    // No process has a pid above Linux's largest (4,194,304); this test's is alive.
    let dead = 4_194_305;
    let alive = std::process::id();
    let left = [
        format!(".site.tallyseal-new-{dead}"),
        format!(".site.tallyseal-old-{dead}"),
    ];
    let kept = [
        format!(".site.tallyseal-new-{alive}"),
        format!(".other.tallyseal-new-{dead}"),
        ".site.tallyseal-new-notapid".to_owned(),
    ];
    for name in left.iter().chain(&kept) {
        std::fs::create_dir_all(temp.path().join(name).join("clients")).unwrap();
        std::fs::write(temp.path().join(name).join("clients/x.html"), "x").unwrap();
    }
    // The first build has no site yet: a previous site moved aside is not swept.
    assert!(build(fixture.path(), &out).status.success());
    assert!(!temp.path().join(&left[0]).exists());
    assert!(temp.path().join(&left[1]).exists());
    assert!(build(fixture.path(), &out).status.success());
    let mut found: Vec<String> = std::fs::read_dir(temp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    found.sort();
    let mut expected: Vec<String> = kept.to_vec();
    expected.push("site".into());
    expected.sort();
    assert_eq!(found, expected);
}

#[test]
fn a_build_failing_after_writing_files_leaves_nothing_behind() {
    // The signing key lies among the attachments and a checklist step cites it: the
    // build stops at copying it, after every page was written to the staging folder.
    let fixture = common::Fixture::valid();
    let key = std::fs::read(fixture.file("keys/test.pem")).unwrap();
    fixture
        .period("attachments/key.pem", key)
        .write(
            "tallyseal.toml",
            format!("{}\n[signing]\nkey_file = \"periods/2026-10/attachments/key.pem\"\n", common::TOML),
        )
        .period(
            "checklist.csv",
            "client_id,step,owner,status,signed_off_by,signed_off_at,evidence\nacme,IO signed,ann,done,bob,2026-10-31,key.pem\n",
        );
    let temp = tempfile::tempdir().unwrap();
    let out = temp.path().join("site");
    let failed = build(fixture.path(), &out);
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(!failed.status.success());
    assert!(
        stderr.contains("the private key never leaves the project"),
        "{stderr}"
    );
    let leftovers: Vec<_> = std::fs::read_dir(temp.path()).unwrap().collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_rebuild_replaces_the_whole_site() {
    let fixture = common::Fixture::valid();
    let temp = tempfile::tempdir().unwrap();
    let out = temp.path().join("site");
    assert!(build(fixture.path(), &out).status.success());
    assert!(out.join("clients/kobe/2026-10/invoice.json").exists());
    // Kobe's line is removed: its invoice must not survive the rebuild.
    let contracts: String = common::CONTRACTS
        .lines()
        .filter(|l| !l.starts_with("kobe-"))
        .map(|l| format!("{l}\n"))
        .collect();
    fixture.write("contracts.csv", contracts);
    assert!(build(fixture.path(), &out).status.success());
    assert!(!out.join("clients/kobe").exists());
    assert!(out.join("clients/acme/2026-10/invoice.json").exists());
}

#[test]
fn refuses_outputs_that_would_destroy_something() {
    let fixture = common::Fixture::valid();
    let project = fixture.path();
    for out in [
        project.to_path_buf(),
        project.parent().unwrap().to_path_buf(),
        PathBuf::from("/"),
        project.join(".."),
    ] {
        let result = build(project, &out);
        assert!(!result.status.success(), "{}", out.display());
        assert!(
            String::from_utf8_lossy(&result.stderr).contains("refusing to write the site"),
            "{}",
            out.display()
        );
    }
    // A folder holding files a build does not write is never replaced.
    let temp = tempfile::tempdir().unwrap();
    std::fs::write(temp.path().join("thesis.tex"), "precious").unwrap();
    let result = build(project, temp.path());
    assert!(String::from_utf8_lossy(&result.stderr).contains("it holds `thesis.tex`"));
    assert_eq!(
        std::fs::read_to_string(temp.path().join("thesis.tex")).unwrap(),
        "precious"
    );
}

#[test]
fn the_committed_site_is_reproduced_byte_for_byte() {
    let temp = tempfile::tempdir().unwrap();
    let out = temp.path().join("site");
    assert!(build(&manifest("sample-data"), &out).status.success());
    let committed = files(&manifest("site"));
    let rebuilt = files(&out);
    assert_eq!(
        committed.keys().collect::<Vec<_>>(),
        rebuilt.keys().collect::<Vec<_>>(),
        "run the README's build command and commit site/"
    );
    for (path, bytes) in &rebuilt {
        assert!(
            bytes == &committed[path],
            "site/{path} is stale: run the README's build command and commit site/"
        );
    }
}

/// The demo data's generator computes every document's totals with its own small
/// implementation of the rules (scripts/make_sample_data.py) and prints them into
/// sample-data/README.md: an independent re-computation to agree with.
#[test]
fn sample_totals_agree_with_the_generators_independent_computation() {
    let readme = std::fs::read_to_string(manifest("sample-data/README.md")).unwrap();
    let expected: BTreeMap<String, [String; 3]> = readme
        .lines()
        .filter(|l| l.starts_with("| NW-"))
        .map(|l| {
            let cells: Vec<String> = l.split('|').map(|c| c.trim().to_owned()).collect();
            (
                cells[1].clone(),
                [cells[5].clone(), cells[6].clone(), cells[7].clone()],
            )
        })
        .collect();
    assert_eq!(expected.len(), 18);
    let temp = tempfile::tempdir().unwrap();
    let out = temp.path().join("site");
    assert!(build(&manifest("sample-data"), &out).status.success());
    let status: BTreeMap<String, [String; 2]> = readme
        .lines()
        .filter(|l| l.starts_with("| NW-"))
        .map(|l| {
            let cells: Vec<String> = l.split('|').map(|c| c.trim().to_owned()).collect();
            (cells[1].clone(), [cells[8].clone(), cells[9].clone()])
        })
        .collect();
    let mut seen = 0;
    for (path, bytes) in files(&out) {
        if path.ends_with("2026-10/account.json") {
            // Status ("overdue 17d") and balance of every document at 2026-10-31.
            let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            for doc in json["documents"].as_array().unwrap() {
                let mut state = doc["status"].as_str().unwrap().to_owned();
                if state == "overdue" {
                    state = format!("overdue {}d", doc["days_past_due"]);
                }
                let number = doc["number"].as_str().unwrap();
                assert_eq!(
                    [state, doc["balance"].as_str().unwrap().to_owned()],
                    status[number],
                    "{number} in {path}"
                );
                seen += 1;
            }
        }
        if !path.ends_with("invoice.json") {
            continue;
        }
        let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let number = json["number"].as_str().unwrap();
        let got = ["subtotal", "tax", "total"].map(|k| json[k].as_str().unwrap().to_owned());
        assert_eq!(got, expected[number], "{number} ({path})");
        seen += 1;
    }
    assert_eq!(
        seen, 36,
        "18 documents' totals and their state at 2026-10-31"
    );
}

/// The generator lists the variances its own computation expects the sample to have
/// (sample-data/README.md): exactly those are found, and all are explained.
#[test]
fn sample_variances_agree_with_the_generator() {
    let readme = std::fs::read_to_string(manifest("sample-data/README.md")).unwrap();
    let listed = readme
        .lines()
        .skip_while(|l| !l.starts_with("Variances the data produces"))
        .nth(1)
        .unwrap();
    let mut expected: Vec<String> = listed
        .trim_end_matches('.')
        .split(", ")
        .map(|item| {
            // "`bw-display-cpm` ad_server_discrepancy (2026-08)"
            let parts: Vec<&str> = item.split_whitespace().collect();
            format!(
                "{} {} {}",
                parts[2].trim_matches(|c| c == '(' || c == ')'),
                parts[0].trim_matches('`'),
                parts[1]
            )
        })
        .collect();
    expected.sort();
    let temp = tempfile::tempdir().unwrap();
    let out = temp.path().join("site");
    assert!(build(&manifest("sample-data"), &out).status.success());
    let mut found = Vec::new();
    for (path, bytes) in files(&out) {
        if path.starts_with("agency/") && path.ends_with("/exceptions.json") {
            let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            for v in json["variances"].as_array().unwrap() {
                assert_eq!(v["explained"], true, "{v}");
                found.push(format!(
                    "{} {} {}",
                    json["period"].as_str().unwrap(),
                    v["line_id"].as_str().unwrap(),
                    v["cause"].as_str().unwrap()
                ));
            }
        }
    }
    found.sort();
    assert_eq!(found, expected);
}

#[test]
fn a_line_csv_quotes_a_campaign_id_that_needs_it_on_every_row() {
    // The platform's campaign id holds a comma: quoted in the export, and in every row
    // of the line's CSV.
    let fixture = common::Fixture::valid();
    fixture.write(
        "crosswalk.csv",
        common::CROSSWALK.replace("plat,111,", "plat,\"1,11\","),
    );
    fixture.period(
        "exports/plat_oct.csv",
        common::PLAT.replace("\n111,", "\n\"1,11\","),
    );
    let temp = tempfile::tempdir().unwrap();
    let out = temp.path().join("site");
    let built = build(fixture.path(), &out);
    assert!(built.status.success(), "{}", common::text(&built.stderr));
    let mut ids = Vec::new();
    for entry in walkdir::WalkDir::new(out.join("clients")) {
        let path = entry.unwrap().into_path();
        if path.parent().and_then(|p| p.file_name()) != Some("lines".as_ref())
            || path.extension() != Some("csv".as_ref())
        {
            continue;
        }
        let mut reader = csv::Reader::from_path(&path).unwrap();
        let header = reader.headers().unwrap().clone();
        let column = |name| header.iter().position(|h| h == name);
        // Delivery lines only: hourly and milestone lines list other records.
        let (Some(source), Some(id)) = (column("source"), column("source_campaign_id")) else {
            continue;
        };
        for record in reader.records() {
            let record = record.unwrap();
            assert_eq!(record.len(), header.len(), "{}", path.display());
            ids.push(format!("{} {}", &record[source], &record[id]));
        }
    }
    ids.sort();
    // The ad server's rows come after the platform's in the same line's CSV.
    assert_eq!(
        ids,
        [
            "adsrv A-1",
            "adsrv A-1",
            "plat 1,11",
            "plat 1,11",
            "plat 222"
        ]
    );
}
