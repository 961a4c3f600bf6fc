//! The portals as clients get them: isolated from each other, linked only relatively
//! and completely, escaped against hostile input, reproducible, and overridable by the
//! project's own templates.

mod common;

use common::tallyseal;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};
use std::process::Output;

fn build(project: &Path, out: &Path) -> Output {
    tallyseal(&[
        "build",
        project.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ])
}

fn build_ok(project: &Path, out: &Path) {
    let result = build(project, out);
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
}

/// Every file under `root`, relative path → bytes.
fn files(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    walkdir::WalkDir::new(root)
        .sort_by_file_name()
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let relative = e.path().strip_prefix(root).unwrap().to_owned();
            (relative, std::fs::read(e.path()).unwrap())
        })
        .collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    let haystack = String::from_utf8_lossy(haystack);
    !needle.is_empty() && haystack.contains(&*String::from_utf8_lossy(needle))
}

/// Every tag of an HTML page (from a raw `<` to its `>`), lower-cased.
fn tags(html: &str) -> Vec<String> {
    html.split('<')
        .skip(1)
        .map(|rest| rest[..rest.find('>').unwrap_or(rest.len())].to_lowercase())
        .collect()
}

/// The values of every `name="..."` attribute in an HTML page.
fn attributes(html: &str, name: &str) -> Vec<String> {
    let marker = format!(" {name}=\"");
    html.match_indices(&marker)
        .map(|(at, _)| {
            let rest = &html[at + marker.len()..];
            rest[..rest.find('"').unwrap()].to_owned()
        })
        .collect()
}

/// What identifies each client in a project: ids and names of the client, its lines,
/// campaigns and source campaign ids, documents, payments, adjustments and change
/// orders, and the bytes of each of its delivery rows.
fn identities(project: &Path, site: &Path) -> BTreeMap<String, BTreeSet<Vec<u8>>> {
    let loaded = tallyseal::Project::load(project).unwrap();
    let project_data = &loaded.project;
    let mut ids: BTreeMap<String, BTreeSet<Vec<u8>>> = BTreeMap::new();
    let mut add = |client: &str, value: &str| {
        ids.entry(client.to_owned())
            .or_default()
            .insert(value.as_bytes().to_vec());
    };
    for client in &project_data.clients {
        add(&client.client_id, &client.client_id);
        add(&client.client_id, &client.name);
    }
    let owner_of_line = |line_id: &str| {
        project_data
            .line(line_id)
            .map(|l| l.client_id.clone())
            .unwrap()
    };
    for line in &project_data.lines {
        add(&line.client_id, &line.line_id);
        add(&line.client_id, &line.description);
        if let Some(campaign) = &line.campaign {
            add(&line.client_id, campaign);
        }
    }
    let crosswalk = std::fs::read_to_string(project.join("crosswalk.csv")).unwrap();
    let mut reader = csv::Reader::from_reader(crosswalk.as_bytes());
    for record in reader.records() {
        let record = record.unwrap();
        if let Some(owner) = project_data.campaign_owner(&record[2]) {
            let owner = owner.to_owned();
            add(&owner, &record[1]);
        }
    }
    let mut row_bytes: Vec<(String, Vec<u8>)> = Vec::new();
    for data in &project_data.periods {
        for payment in &data.payments {
            add(&payment.client_id, &payment.payment_id);
        }
        for adjustment in &data.adjustments {
            add(&adjustment.client_id, &adjustment.adjustment_id);
        }
        for change in &data.change_orders {
            add(&owner_of_line(&change.line_id), &change.change_id);
        }
        for (index, row) in data.rows.indexed() {
            let Some(campaign) = data.rows.campaign(row) else {
                continue;
            };
            let Some(owner) = project_data.campaign_owner(campaign) else {
                continue;
            };
            let export = &data.exports[data.rows.origin(index).export()];
            let file = std::fs::read(project.join(&export.path)).unwrap();
            let range = export.leaf_range(row.leaf as usize);
            let leaf = &file[range.start as usize..range.end as usize];
            let record = leaf
                .strip_suffix(b"\n")
                .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
                .unwrap_or(leaf);
            row_bytes.push((owner.to_owned(), record.to_vec()));
        }
    }
    // Document numbers, from the machine-readable invoices.
    for (path, bytes) in files(&site.join("clients")) {
        if path.file_name().unwrap() == "invoice.json" {
            let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            add(
                json["client_id"].as_str().unwrap(),
                json["number"].as_str().unwrap(),
            );
        }
    }
    for (owner, bytes) in row_bytes {
        ids.entry(owner).or_default().insert(bytes);
    }
    ids
}

#[test]
fn no_portal_holds_a_byte_of_another_clients_data() {
    let temp = tempfile::tempdir().unwrap();
    let site = temp.path().join("site");
    build_ok(&common::sample_data(), &site);
    let identities = identities(&common::sample_data(), &site);
    let portals: Vec<String> = std::fs::read_dir(site.join("clients"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(portals.len(), 6);
    let mut checked = 0;
    for portal in &portals {
        for (path, bytes) in files(&site.join("clients").join(portal)) {
            for (client, values) in &identities {
                if client == portal {
                    continue;
                }
                for value in values {
                    assert!(
                        !contains(&bytes, value),
                        "clients/{portal}/{} holds `{}` of client {client}",
                        path.display(),
                        String::from_utf8_lossy(value)
                    );
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 10_000, "only {checked} checks ran");
    // The test would see a leak: the agency view names every client.
    let agency = std::fs::read(site.join("agency/index.html")).unwrap();
    for values in identities.values() {
        assert!(values.iter().any(|v| contains(&agency, v)));
    }
}

/// `base` joined with a relative `href`, without touching the file system.
fn resolve(base: &Path, href: &str) -> Option<PathBuf> {
    let mut path = base.parent().unwrap().to_path_buf();
    for component in Path::new(href).components() {
        match component {
            Component::ParentDir => {
                if !path.pop() {
                    return None;
                }
            }
            Component::Normal(part) => path.push(part),
            Component::CurDir => {}
            _ => return None,
        }
    }
    Some(path)
}

#[test]
fn every_link_is_relative_and_resolves_inside_its_portal() {
    let temp = tempfile::tempdir().unwrap();
    let site = temp.path().join("site");
    build_ok(&common::sample_data(), &site);
    let all = files(&site);
    let mut links = 0;
    for (path, bytes) in &all {
        if path.extension().is_none_or(|e| e != "html") {
            continue;
        }
        let html = String::from_utf8(bytes.clone()).unwrap();
        // A client's page may only reach its own portal; the agency view may reach all.
        let mut parts = path.components();
        let top = parts.next().unwrap().as_os_str().to_owned();
        let home: PathBuf = if top == "clients" {
            Path::new("clients").join(parts.next().unwrap())
        } else {
            PathBuf::new()
        };
        for href in attributes(&html, "href")
            .into_iter()
            .chain(attributes(&html, "src"))
        {
            links += 1;
            if href.starts_with("https://") || href.starts_with("mailto:") {
                continue;
            }
            assert!(
                !href.contains(':') && !href.starts_with('/'),
                "{}: `{href}` is not relative",
                path.display()
            );
            let (file, anchor) = match href.split_once('#') {
                Some((file, anchor)) => (file, Some(anchor)),
                None => (href.as_str(), None),
            };
            let target = if file.is_empty() {
                path.clone()
            } else {
                resolve(path, file)
                    .unwrap_or_else(|| panic!("{}: `{href}` leaves the site", path.display()))
            };
            assert!(
                target.starts_with(&home),
                "{}: `{href}` leaves the portal",
                path.display()
            );
            let Some(bytes) = all.get(&target) else {
                panic!("{}: `{href}` is broken", path.display());
            };
            if let Some(anchor) = anchor {
                let text = String::from_utf8_lossy(bytes);
                assert!(
                    attributes(&text, "id").iter().any(|id| id == anchor),
                    "{}: anchor `{href}` is missing",
                    path.display()
                );
            }
        }
    }
    assert!(links > 500, "only {links} links checked");
}

#[test]
fn every_page_of_outputs_md_is_written_for_every_client_and_period() {
    let temp = tempfile::tempdir().unwrap();
    let site = temp.path().join("site");
    build_ok(&common::sample_data(), &site);
    for client in [
        "alpenrose",
        "brightwater",
        "helios",
        "kumo",
        "oakridge",
        "redwood",
    ] {
        let portal = site.join("clients").join(client);
        assert!(portal.join("index.html").is_file());
        assert!(portal.join("agency.pub.pem").is_file());
        assert_eq!(std::fs::read_dir(portal.join("keys")).unwrap().count(), 1);
        for entry in std::fs::read_dir(&portal).unwrap() {
            let period = entry.unwrap().path();
            if !period.is_dir() || period.ends_with("keys") {
                continue;
            }
            for page in [
                "index.html",
                "account.html",
                "checklist.html",
                "statement.json",
                "SHA256SUMS",
                "SHA256SUMS.sig",
            ] {
                assert!(period.join(page).is_file(), "{}", period.display());
            }
            if let Ok(json) = std::fs::read(period.join("invoice.json")) {
                assert!(period.join("invoice.html").is_file());
                let invoice: serde_json::Value = serde_json::from_slice(&json).unwrap();
                for line in invoice["lines"].as_array().unwrap() {
                    let id = line["line_id"].as_str().unwrap();
                    let page = period.join("lines").join(format!("{id}.html"));
                    assert!(page.is_file(), "{}", page.display());
                }
            }
        }
    }
    assert!(site.join("agency/index.html").is_file());
    for period in ["2026-08", "2026-09", "2026-10"] {
        assert!(
            ["index.html", "sources.json", "SHA256SUMS", "SHA256SUMS.sig"]
                .iter()
                .all(|f| site.join("agency").join(period).join(f).is_file())
        );
    }
}

#[test]
fn amounts_dates_and_words_are_written_for_people() {
    let temp = tempfile::tempdir().unwrap();
    let site = temp.path().join("site");
    build_ok(&common::sample_data(), &site);
    // Every invoice page shows its total as people write it, and the JSON beside it
    // keeps the machine form.
    let mut seen = 0;
    for (path, bytes) in files(&site.join("clients")) {
        if path.file_name().unwrap() != "invoice.json" {
            continue;
        }
        let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let total = json["total"].as_str().unwrap();
        let html = std::fs::read_to_string(
            site.join("clients")
                .join(path.parent().unwrap())
                .join("invoice.html"),
        )
        .unwrap();
        let (sign, digits) = match total.strip_prefix('-') {
            Some(rest) => ("\u{2212}", rest),
            None => ("", total),
        };
        let (whole, fraction) = match digits.split_once('.') {
            Some((w, f)) => (w, format!(".{f}")),
            None => (digits, String::new()),
        };
        let grouped: Vec<String> = whole
            .as_bytes()
            .rchunks(3)
            .rev()
            .map(|c| String::from_utf8(c.to_vec()).unwrap())
            .collect();
        let number = format!("{}{fraction}", grouped.join(","));
        let people = match json["currency"].as_str().unwrap() {
            "EUR" => format!("{sign}€{number}"),
            "GBP" => format!("{sign}£{number}"),
            "USD" => format!("{sign}${number}"),
            "JPY" => format!("{sign}¥{number}"),
            code => format!("{sign}{code} {number}"),
        };
        assert!(
            html.contains(&people),
            "{}: total {people} not shown",
            path.display()
        );
        let issue: chrono::NaiveDate = json["issue_date"].as_str().unwrap().parse().unwrap();
        assert!(html.contains(&issue.format("%-d %B %Y").to_string()));
        seen += 1;
    }
    assert_eq!(seen, 18);
}

/// A project whose every free-text field tries to inject markup.
fn hostile() -> common::Fixture {
    let fixture = common::Fixture::valid();
    let attack = r#"<script>alert(1)</script><img src=x onerror=alert(2)>"#;
    fixture.write(
        "clients.csv",
        common::CLIENTS.replace(
            "Acme Ltd",
            &format!("\"Acme {} \"\"><a href=javascript:alert(3)>x</a>\"", attack),
        ),
    );
    fixture.write(
        "contracts.csv",
        common::CONTRACTS.replace(
            "Spring display",
            &format!("\"Spring {attack} \"\"onmouseover=alert(4)\"\"\""),
        ),
    );
    fixture.period(
        "notes/acme.md",
        format!(
            "# Notes\n\n{attack}\n\n[click](javascript:alert(5))\n\n<a href=\"/etc\" onclick=\"alert(6)\">x</a>\n\n| a | b |\n|---|---|\n| <iframe src=https://evil.example></iframe> | 2 |\n"
        ),
    );
    fixture.period(
        "variances.csv",
        format!(
            "client_id,line_id,cause,explanation,evidence,approved_by\nacme,acme-cpm,other,\"{} [x](javascript:alert(7))\",,\"<b onmouseover=alert(8)>ann</b>\"\n",
            attack.replace('"', "\"\"")
        ),
    );
    fixture
}

#[test]
fn hostile_text_is_escaped_and_markdown_is_sanitised() {
    let fixture = hostile();
    let temp = tempfile::tempdir().unwrap();
    let site = temp.path().join("site");
    build_ok(fixture.path(), &site);
    let mut pages = 0;
    for (path, bytes) in files(&site) {
        if path.extension().is_none_or(|e| e != "html") {
            continue;
        }
        let html = String::from_utf8(bytes).unwrap();
        // verify.html alone runs a script: its own, beside it.
        let own_script = path.ends_with("verify.html");
        for tag in tags(&html) {
            if own_script && tag == "script src=\"verify.js\"" {
                continue;
            }
            let name = tag.split_whitespace().next().unwrap_or("");
            assert!(
                ![
                    "script", "img", "iframe", "object", "embed", "form", "style"
                ]
                .contains(&name),
                "{}: a <{name}> tag survived",
                path.display()
            );
            for attribute in tag.split_whitespace().skip(1) {
                assert!(
                    !attribute.starts_with("on") && !attribute.starts_with("style"),
                    "{}: `{attribute}` survived in <{tag}>",
                    path.display()
                );
            }
        }
        for href in attributes(&html, "href")
            .into_iter()
            .chain(attributes(&html, "src"))
        {
            let href = href.to_lowercase();
            assert!(
                !href.contains("javascript") && !href.starts_with('/'),
                "{}: `{href}` survived",
                path.display()
            );
        }
        pages += 1;
    }
    assert!(pages > 5);
    // The text is still there, escaped, for people to read.
    let invoice = std::fs::read_to_string(site.join("clients/acme/2026-10/invoice.html")).unwrap();
    assert!(invoice.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    let summary = std::fs::read_to_string(site.join("clients/acme/2026-10/index.html")).unwrap();
    assert!(summary.contains("<h1>Notes</h1>"));
    assert!(summary.contains("<table>"));
}

#[test]
fn two_builds_are_byte_identical_wherever_they_are_written() {
    let fixture = common::Fixture::valid();
    let temp = tempfile::tempdir().unwrap();
    let first = temp.path().join("one");
    let second = temp.path().join("deeper/two");
    build_ok(fixture.path(), &first);
    build_ok(fixture.path(), &second);
    assert_eq!(files(&first), files(&second));
    for (path, bytes) in files(&first) {
        assert!(
            !contains(&bytes, temp.path().to_string_lossy().as_bytes()),
            "{} holds an absolute path",
            path.display()
        );
    }
}

#[test]
fn a_projects_template_overrides_the_built_in_one() {
    let fixture = common::Fixture::valid();
    fixture.write(
        "templates/invoice.html",
        "{% extends \"base.html\" %}{% block content %}<p id=\"custom\">Ours: {{ page.number }} {{ page.to.name }}</p>{% endblock content %}",
    );
    let temp = tempfile::tempdir().unwrap();
    let site = temp.path().join("site");
    build_ok(fixture.path(), &site);
    let invoice = std::fs::read_to_string(site.join("clients/acme/2026-10/invoice.html")).unwrap();
    assert!(invoice.contains("<p id=\"custom\">Ours: T-0001 Acme Ltd</p>"));
    assert!(invoice.contains("Test Agency Ltd"));
    // The other pages keep the built-in templates.
    let account = std::fs::read_to_string(site.join("clients/acme/2026-10/account.html")).unwrap();
    assert!(account.contains("Statement of account"));

    // A broken override is an error that names the template.
    fixture.write("templates/account.html", "{% if %}");
    let failed = build(fixture.path(), &temp.path().join("other"));
    assert!(!failed.status.success());
    assert!(String::from_utf8_lossy(&failed.stderr).contains("account.html"));
}

#[test]
fn evidence_pages_chart_the_days_and_mark_those_out_of_tolerance() {
    let temp = tempfile::tempdir().unwrap();
    let site = temp.path().join("site");
    build_ok(&common::sample_data(), &site);
    // Every discrepancy of the agency's exceptions: its days are the marked rows of the
    // line's daily table, and the page has both charts.
    let mut seen = 0;
    for period in ["2026-08", "2026-09", "2026-10"] {
        let exceptions: serde_json::Value = serde_json::from_slice(
            &std::fs::read(site.join("agency").join(period).join("exceptions.json")).unwrap(),
        )
        .unwrap();
        for variance in exceptions["variances"].as_array().unwrap() {
            if variance["cause"] != "ad_server_discrepancy" {
                continue;
            }
            let page = site
                .join("clients")
                .join(variance["client_id"].as_str().unwrap())
                .join(period)
                .join("lines")
                .join(format!("{}.html", variance["line_id"].as_str().unwrap()));
            let html = std::fs::read_to_string(&page).unwrap();
            assert_eq!(
                html.matches("<svg class=\"chart\"").count(),
                2,
                "{}",
                page.display()
            );
            let days = variance["days"].as_array().unwrap().len();
            assert!(days > 0);
            assert_eq!(
                html.matches("<tr class=\"out\">").count(),
                days,
                "{}",
                page.display()
            );
            assert_eq!(
                html.matches("<rect class=\"band\"").count(),
                days,
                "{}",
                page.display()
            );
            seen += 1;
        }
    }
    assert!(seen > 0, "the sample has a discrepancy to check");
}

#[test]
fn a_step_lists_500_details_and_counts_the_rest_which_checklist_json_holds() {
    // 600 repeats of one row: the duplicates step has 600 details, for acme and the
    // agency alike.
    let fixture = common::Fixture::valid();
    let repeat = "111,2026-10-01,1000,10,5.00,GBP\n".repeat(600);
    fixture.period("exports/plat_oct.csv", format!("{}{repeat}", common::PLAT));
    let out = tempfile::tempdir().unwrap();
    let site = out.path().join("site");
    build_ok(fixture.path(), &site);
    let pages = [
        ("clients/acme/2026-10", "checklist.html"),
        ("agency/2026-10", "index.html"),
    ];
    for (folder, page) in pages {
        let folder = site.join(folder);
        let json = std::fs::read(folder.join("checklist.json")).unwrap();
        let json: serde_json::Value = serde_json::from_slice(&json).unwrap();
        let steps = json["steps"].as_array().unwrap();
        let step = steps.iter().find(|s| s["id"] == "no_duplicates").unwrap();
        assert_eq!(
            step["details"].as_array().unwrap().len(),
            600,
            "all in the JSON"
        );
        let html = common::text(&std::fs::read(folder.join(page)).unwrap());
        let listed = html.matches("repeats ").count();
        assert_eq!(listed, 500, "{page} lists 500");
        assert!(
            html.contains(r#"100 more in <a href="checklist.json">checklist.json</a>."#),
            "{page} counts the rest"
        );
    }
}
