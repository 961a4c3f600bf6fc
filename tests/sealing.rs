//! Sealed periods: `tallyseal seal` stores a period's signed bundles and locks its
//! inputs; later builds publish them as stored, refuse any change to a sealed period,
//! chain the next bundles to them, and carry every key that signed them.

mod common;

use common::Fixture;
use common::{tallyseal_with_key as run, text};
use std::path::{Path, PathBuf};
use std::process::Output;

/// The fixture with a second period, November, in which beta (flat fee) and kobe
/// (search, flight to November) have bundles again.
fn two_periods() -> Fixture {
    let fixture = Fixture::valid();
    fixture.write(
        "periods/2026-11/exports/plat_nov.csv",
        "Campaign,Day,Impressions,Clicks,Cost,Currency\n222,2026-11-02,700,50,4000,JPY\n",
    );
    fixture
}

struct Project<'a> {
    fixture: &'a Fixture,
    temp: tempfile::TempDir,
}

impl<'a> Project<'a> {
    fn new(fixture: &'a Fixture) -> Self {
        Project {
            fixture,
            temp: tempfile::tempdir().unwrap(),
        }
    }

    fn dir(&self) -> &str {
        self.fixture.path().to_str().unwrap()
    }

    fn seal(&self, period: &str) -> Output {
        run(&["seal", self.dir(), period], None)
    }

    fn site(&self) -> PathBuf {
        self.temp.path().join("site")
    }

    fn build_with(&self, key: Option<&Path>) -> Output {
        run(
            &["build", self.dir(), "--out", self.site().to_str().unwrap()],
            key,
        )
    }

    fn build(&self) -> Output {
        self.build_with(None)
    }

    fn build_ok(&self) {
        let out = self.build();
        assert!(out.status.success(), "{}", text(&out.stderr));
    }

    /// The build fails, and says so naming `needle`.
    fn build_fails(&self, needle: &str) {
        let out = self.build();
        assert!(!out.status.success(), "the build should fail");
        assert!(text(&out.stderr).contains(needle), "{}", text(&out.stderr));
    }
}

fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// Every file under `root`, relative path → bytes.
fn tree(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = walkdir::WalkDir::new(root)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let relative = e
                .path()
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (relative, std::fs::read(e.path()).unwrap())
        })
        .collect();
    files.sort();
    files
}

/// The bundles sealed for 2026-10 in `two_periods`.
const OCTOBER: [&str; 4] = [
    "agency/2026-10",
    "clients/acme/2026-10",
    "clients/beta/2026-10",
    "clients/kobe/2026-10",
];

/// Each of `bundles` is in the site byte for byte as in the store.
fn published_as_stored(site: &Path, store: &Path, bundles: &[&str]) {
    for bundle in bundles {
        assert_eq!(
            tree(&site.join(bundle)),
            tree(&store.join(bundle)),
            "{bundle}"
        );
    }
}

fn verify(bundle: &Path, keys: &[&Path], prev: Option<&Path>) -> Output {
    let mut args = vec!["verify".to_owned(), bundle.display().to_string()];
    for key in keys {
        args.extend(["--key".into(), key.display().to_string()]);
    }
    if let Some(prev) = prev {
        args.extend(["--prev".into(), prev.display().to_string()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run(&args, None)
}

fn test_public(fixture: &Fixture) -> PathBuf {
    let path = fixture.file("keys/test.pub.pem");
    let pem = tallyseal::seal::keys::public_pem(&common::test_key().verifying_key()).unwrap();
    std::fs::write(&path, pem).unwrap();
    path
}

#[test]
fn sealing_stores_the_bundles_and_a_build_publishes_them_as_stored() {
    let fixture = two_periods();
    let project = Project::new(&fixture);
    // Left by a seal that was killed (no process has a pid above 4,194,304).
    fixture.write(".tallyseal/seal-4194305/clients/x.html", "x");
    let said = ok(project.seal("2026-10"));
    assert!(said.contains("sealed 2026-10: 4 bundles"), "{said}");
    let store = fixture.file("periods/2026-10/sealed");
    assert!(store.join("clients/acme/2026-10/SHA256SUMS.sig").is_file());
    assert!(store.join("agency/2026-10/sources.json").is_file());
    let lock = std::fs::read_to_string(fixture.file("periods/2026-10/seal.lock")).unwrap();
    let locked: Vec<&str> = lock
        .lines()
        .map(|l| l.rsplit("  ").next().unwrap())
        .collect();
    assert_eq!(locked, ["exports/adsrv_oct.csv", "exports/plat_oct.csv"]);
    assert!(lock.lines().all(|l| l.len() > 68), "{lock}");
    // The seal staged its files in the project's tool folder and left nothing there,
    // nor what the killed seal had left.
    let tool = fixture.file(".tallyseal");
    let staged: Vec<_> = std::fs::read_dir(&tool)
        .map(|d| d.map(|e| e.unwrap().file_name()).collect())
        .unwrap_or_default();
    assert!(staged.iter().all(|name| name == "checked"), "{staged:?}");

    project.build_ok();
    let site = project.site();
    published_as_stored(&site, &store, &OCTOBER);
    // The open period chains to the sealed one.
    let public = test_public(&fixture);
    for client in ["beta", "kobe"] {
        let portal = site.join("clients").join(client);
        ok(verify(
            &portal.join("2026-11"),
            &[&public],
            Some(&portal.join("2026-10")),
        ));
    }
    // Sealing again changes nothing.
    let before = tree(&fixture.file("periods/2026-10"));
    let said = ok(project.seal("2026-10"));
    assert!(said.contains("sealed already"), "{said}");
    assert_eq!(tree(&fixture.file("periods/2026-10")), before);
}

#[test]
fn a_rebuild_restores_a_published_sealed_bundle_and_reuses_an_untouched_one() {
    use std::os::unix::fs::MetadataExt;
    let fixture = two_periods();
    let project = Project::new(&fixture);
    ok(project.seal("2026-10"));
    project.build_ok();
    let site = project.site();
    let store = fixture.file("periods/2026-10/sealed");
    let inode = |path: &Path| std::fs::metadata(path).unwrap().ino();
    let page = "clients/acme/2026-10/invoice.html";
    assert_eq!(inode(&site.join(page)), inode(&store.join(page)));

    // The site's copy of a sealed bundle replaced, added to and cut (not the store).
    std::fs::remove_file(site.join(page)).unwrap();
    std::fs::write(site.join(page), "forged").unwrap();
    std::fs::write(site.join("clients/kobe/2026-10/extra.html"), "x").unwrap();
    std::fs::remove_file(site.join("agency/2026-10/sources.json")).unwrap();
    let untouched = site.join("clients/beta/2026-10/invoice.json");
    let before = inode(&untouched);
    project.build_ok();
    published_as_stored(&site, &store, &OCTOBER);
    assert_eq!(inode(&site.join(page)), inode(&store.join(page)));
    assert_eq!(inode(&untouched), before);

    // The site's copy moved out and a link to it left in its place: the new site holds
    // the bundle itself, not a link out of the site.
    let bundle = site.join("clients/acme/2026-10");
    let elsewhere = fixture.file("elsewhere");
    std::fs::rename(&bundle, &elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &bundle).unwrap();
    project.build_ok();
    assert!(std::fs::symlink_metadata(&bundle).unwrap().is_dir());
    published_as_stored(&site, &store, &OCTOBER);
}

#[test]
fn settled_sealed_bundles_are_vouched_for_by_the_cache_and_still_caught_when_changed() {
    let fixture = two_periods();
    let project = Project::new(&fixture);
    ok(project.seal("2026-10"));
    // The cache trusts a stamp only of what was over a second old when stamped: builds
    // a little over a second apart settle both the stores' and the site's stamps.
    for _ in 0..3 {
        std::thread::sleep(std::time::Duration::from_millis(1100));
        project.build_ok();
    }
    let site = project.site();
    let cache = std::fs::read_to_string(fixture.file(".tallyseal/checked")).unwrap();
    let bundle = "clients/acme/2026-10";
    let published = site.join(bundle);
    for key in [
        format!("periods/2026-10/sealed/{bundle}"),
        published.to_str().unwrap().to_owned(),
    ] {
        assert!(
            cache.lines().any(|l| l.ends_with(&format!("  {key}"))),
            "{cache}"
        );
    }

    // The site's copy of a bundle: a file replaced is linked to the store again.
    let page = format!("{bundle}/invoice.html");
    std::fs::remove_file(site.join(&page)).unwrap();
    std::fs::write(site.join(&page), "forged").unwrap();
    project.build_ok();
    let store = fixture.file("periods/2026-10/sealed");
    published_as_stored(&site, &store, &[bundle]);

    // The store: a page edited, or a file slipped into a bundle, is caught.
    let stored = store.join(&page);
    let original = std::fs::read(&stored).unwrap();
    std::fs::write(&stored, b"edited").unwrap();
    project.build_fails(&format!(
        "the sealed bundle periods/2026-10/sealed/{bundle} does not verify: check 2"
    ));
    std::fs::write(&stored, &original).unwrap();
    project.build_ok();
    std::fs::write(store.join(bundle).join("data/late.csv"), "x").unwrap();
    project.build_fails("data/late.csv is in the bundle but not listed in SHA256SUMS");
}

#[test]
fn periods_are_sealed_in_order() {
    let fixture = two_periods();
    let project = Project::new(&fixture);
    let out = project.seal("2026-11");
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("period 2026-10 is still open"),
        "{}",
        text(&out.stderr)
    );
    assert!(!fixture.file("periods/2026-11/seal.lock").exists());
    assert!(!fixture.file("periods/2026-11/sealed").exists());
    let out = project.seal("2026-12");
    assert!(text(&out.stderr).contains("periods/2026-12: no such period folder"));
    ok(project.seal("2026-10"));
    ok(project.seal("2026-11"));
    project.build_ok();
}

#[test]
fn a_sealed_period_never_changes_without_a_named_error() {
    let fixture = two_periods();
    let project = Project::new(&fixture);
    ok(project.seal("2026-10"));
    let export = "periods/2026-10/exports/plat_oct.csv";
    let original = std::fs::read(fixture.file(export)).unwrap();

    fixture.write(
        export,
        [original.as_slice(), b"111,2026-10-03,1,0,0.01,GBP\n"].concat(),
    );
    project.build_fails(
        "periods/2026-10/exports/plat_oct.csv: changed since period 2026-10 was sealed",
    );
    fixture.write(export, &original);
    project.build_ok();

    fixture.period(
        "payments.csv",
        "payment_id,client_id,received_on,amount,currency\nP-9,kobe,2026-10-30,100,JPY\n",
    );
    project.build_fails("periods/2026-10/payments.csv: added since period 2026-10 was sealed");
    fixture.remove("periods/2026-10/payments.csv");
    project.build_ok();

    let adsrv = std::fs::read(fixture.file("periods/2026-10/exports/adsrv_oct.csv")).unwrap();
    fixture.remove("periods/2026-10/exports/adsrv_oct.csv");
    project.build_fails(
        "periods/2026-10/exports/adsrv_oct.csv: removed since period 2026-10 was sealed",
    );
    fixture.write("periods/2026-10/exports/adsrv_oct.csv", adsrv);
    project.build_ok();

    // A stored bundle edited by hand.
    let stored = fixture.file("periods/2026-10/sealed/clients/acme/2026-10/invoice.html");
    let page = std::fs::read_to_string(&stored).unwrap();
    std::fs::write(&stored, page.replace("Acme", "Acne")).unwrap();
    project.build_fails(
        "the sealed bundle periods/2026-10/sealed/clients/acme/2026-10 does not verify: check 2",
    );
    std::fs::write(&stored, page).unwrap();
    project.build_ok();

    // Project-wide files stay editable: a new rate applies from the open period on,
    // and the issued document is published as issued.
    let contracts = std::fs::read_to_string(fixture.file("contracts.csv")).unwrap();
    fixture.write(
        "contracts.csv",
        contracts.replace("Retainer,flat,3000", "Retainer,flat,3100"),
    );
    project.build_ok();
    let net = |period: &str| {
        let path = project
            .site()
            .join(format!("clients/beta/{period}/invoice.json"));
        let invoice: serde_json::Value =
            serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        invoice["lines"][0]["net"].as_str().unwrap().to_owned()
    };
    assert_eq!(net("2026-10"), "3000.00");
    assert_eq!(net("2026-11"), "3100.00");
    // `check --deep` lists each number that would differ; plain `check` does not look.
    let deep = run(&["check", project.dir(), "--deep"], None);
    assert!(deep.status.success());
    let stderr = text(&deep.stderr);
    assert!(
        stderr.contains("periods/2026-10/sealed/clients/beta/2026-10/invoice.json: would differ if computed today: lines[0].gross: issued \"3000.00\", today \"3100.00\""),
        "{stderr}"
    );
    assert!(text(&deep.stdout).contains("issued figure(s) would differ today"));
    let plain = run(&["check", project.dir()], None);
    assert!(plain.status.success());
    assert!(!text(&plain.stderr).contains("would differ"));
    // Both refuse a changed input of a sealed period.
    fixture.write("contracts.csv", contracts);
    fixture.period("notes/acme.md", "A late note.\n");
    for args in [
        vec!["check", project.dir()],
        vec!["check", project.dir(), "--deep"],
    ] {
        let out = run(&args, None);
        assert!(!out.status.success());
        assert!(
            text(&out.stderr)
                .contains("periods/2026-10/notes/acme.md: added since period 2026-10 was sealed")
        );
    }
}

#[test]
fn templates_never_alter_a_sealed_bundle() {
    let fixture = two_periods();
    let project = Project::new(&fixture);
    ok(project.seal("2026-10"));
    let base = include_str!("../templates/base.html").replace(
        "<main id=\"main\" class=\"wrap\">",
        "<main id=\"main\" class=\"wrap\"><p>NEW-TEMPLATE</p>",
    );
    fixture.write("templates/base.html", base);
    project.build_ok();
    let site = project.site();
    let store = fixture.file("periods/2026-10/sealed");
    assert_eq!(
        tree(&site.join("clients/beta/2026-10")),
        tree(&store.join("clients/beta/2026-10"))
    );
    let open = std::fs::read_to_string(site.join("clients/beta/2026-11/index.html")).unwrap();
    assert!(open.contains("NEW-TEMPLATE"));
    let sealed = std::fs::read_to_string(site.join("clients/beta/2026-10/index.html")).unwrap();
    assert!(!sealed.contains("NEW-TEMPLATE"));
}

#[test]
fn a_new_key_signs_new_bundles_and_portals_carry_every_key() {
    let fixture = two_periods();
    let project = Project::new(&fixture);
    ok(project.seal("2026-10"));
    let old = test_public(&fixture);
    let keys = tempfile::tempdir().unwrap();
    let new_private = keys.path().join("new.pem");
    let (new_id, new_public) = tallyseal::seal::keys::keygen(&new_private).unwrap();
    let out = project.build_with(Some(&new_private));
    assert!(out.status.success(), "{}", text(&out.stderr));

    let old_id = tallyseal::seal::keys::key_id(&common::test_key().verifying_key());
    let portal = project.site().join("clients/kobe");
    let mut carried: Vec<String> = std::fs::read_dir(portal.join("keys"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    carried.sort();
    let mut expected = vec![format!("{old_id}.pub.pem"), format!("{new_id}.pub.pem")];
    expected.sort();
    assert_eq!(carried, expected);
    assert_eq!(
        std::fs::read(portal.join("agency.pub.pem")).unwrap(),
        std::fs::read(&new_public).unwrap()
    );
    // A client has a bundle every period from its first (outputs.md): each portal
    // carries both keys.
    for client in ["acme", "beta"] {
        let keys = project.site().join("clients").join(client).join("keys");
        assert_eq!(std::fs::read_dir(keys).unwrap().count(), 2, "{client}");
    }

    // Each bundle verifies with its own key; the chain with both.
    ok(verify(&portal.join("2026-10"), &[&old], None));
    ok(verify(&portal.join("2026-11"), &[&new_public], None));
    assert!(
        !verify(&portal.join("2026-11"), &[&old], None)
            .status
            .success()
    );
    ok(verify(
        &portal.join("2026-11"),
        &[&old, &new_public],
        Some(&portal.join("2026-10")),
    ));
    let statement: serde_json::Value =
        serde_json::from_slice(&std::fs::read(portal.join("2026-11/statement.json")).unwrap())
            .unwrap();
    assert_eq!(statement["key_id"], new_id.as_str());
    assert_eq!(statement["seq"], 2);
}

#[test]
fn a_store_holds_nothing_but_its_bundles_and_keys() {
    let fixture = two_periods();
    let project = Project::new(&fixture);
    ok(project.seal("2026-10"));
    // A file slipped into the store, inside or outside a bundle folder of the period.
    for stray in [
        "periods/2026-10/sealed/clients/kobe/2026-11/evil.html",
        "periods/2026-10/sealed/clients/kobe/index.html",
        "periods/2026-10/sealed/.DS_Store",
    ] {
        fixture.write(stray, "x");
        project.build_fails(&format!("{stray} is not part of a sealed bundle"));
        fixture.remove(stray);
    }
    // Inside a bundle of the period, it is unlisted: check 2 names it.
    fixture.write("periods/2026-10/sealed/clients/kobe/2026-10/evil.html", "x");
    project.build_fails("evil.html is in the bundle but not listed in SHA256SUMS");
    fixture.remove("periods/2026-10/sealed/clients/kobe/2026-10/evil.html");
    project.build_ok();
}

#[test]
fn a_lost_lock_is_never_papered_over() {
    let fixture = two_periods();
    let project = Project::new(&fixture);
    ok(project.seal("2026-10"));
    ok(project.seal("2026-11"));
    let lock = fixture.file("periods/2026-10/seal.lock");
    let saved = std::fs::read(&lock).unwrap();
    std::fs::remove_file(&lock).unwrap();
    project.build_fails("period 2026-11 is sealed but the earlier period 2026-10 is open");
    let before = tree(&fixture.file("periods/2026-10/sealed"));
    let out = project.seal("2026-10");
    assert!(!out.status.success());
    assert!(
        text(&out.stderr)
            .contains("periods/2026-10/sealed exists but periods/2026-10/seal.lock does not"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        tree(&fixture.file("periods/2026-10/sealed")),
        before,
        "the store is untouched"
    );
    std::fs::write(&lock, saved).unwrap();
    project.build_ok();
}

#[test]
fn a_stored_bundle_must_continue_the_chain() {
    let fixture = two_periods();
    let project = Project::new(&fixture);
    ok(project.seal("2026-10"));
    // Re-issue October's kobe bundle with seq 2, signed by the same key: it verifies on
    // its own, but does not follow anything.
    let bundle = fixture.file("periods/2026-10/sealed/clients/kobe/2026-10");
    let path = bundle.join("statement.json");
    let text_of = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text_of.replace(
            "\"seq\": 1,\n  \"prev\": null",
            &format!("\"seq\": 2,\n  \"prev\": \"{}\"", "ab".repeat(32)),
        ),
    )
    .unwrap();
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(&bundle).sort_by_file_name() {
        let entry = entry.unwrap();
        let name = entry
            .path()
            .strip_prefix(&bundle)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if entry.file_type().is_file() && !name.starts_with("SHA256SUMS") {
            files.push((name, std::fs::read(entry.path()).unwrap()));
        }
    }
    let sums =
        tallyseal::seal::manifest::write(files.iter().map(|(p, b)| (p.as_str(), b.as_slice())));
    let signer = tallyseal::seal::keys::Signer::new(common::test_key()).unwrap();
    std::fs::write(bundle.join("SHA256SUMS"), &sums).unwrap();
    std::fs::write(bundle.join("SHA256SUMS.sig"), signer.sign(sums.as_bytes())).unwrap();
    project.build_fails("its seq and prev do not follow the client's previous bundle");
}

/// Later periods continue from what sealed periods issued: the billed amount under a
/// line's cap comes from the sealed `invoice.json`, even when today's contracts would
/// compute the sealed period otherwise.
#[test]
fn later_periods_take_their_history_from_the_issued_documents() {
    let fixture = two_periods();
    let project = Project::new(&fixture);
    ok(project.seal("2026-10"));
    let stored: serde_json::Value = serde_json::from_slice(
        &std::fs::read(fixture.file("periods/2026-10/sealed/clients/kobe/2026-10/invoice.json"))
            .unwrap(),
    )
    .unwrap();
    let gross = |v: &serde_json::Value| -> i64 { v.as_str().unwrap().parse().unwrap() };
    let line = &stored["lines"][0];
    let issued = gross(&line["gross"]) - gross(&line["over_delivery"]);
    assert!(issued > 0, "{line}");

    // A rate of 9,000 a click from now on: November's 50 clicks are 450,000, capped at
    // what is left of the 500,000 budget after what October issued.
    let contracts = std::fs::read_to_string(fixture.file("contracts.csv")).unwrap();
    fixture.write(
        "contracts.csv",
        contracts.replace("Search,cpc,80,JPY,500000", "Search,cpc,9000,JPY,500000"),
    );
    project.build_ok();
    let november: serde_json::Value = serde_json::from_slice(
        &std::fs::read(project.site().join("clients/kobe/2026-11/invoice.json")).unwrap(),
    )
    .unwrap();
    let billed = gross(&november["lines"][0]["net"]);
    assert_eq!(billed, 450_000.min(500_000 - issued));
    // Recomputing October at today's rate would have left a different remainder.
    let october_clicks = issued / 80;
    let recomputed = 450_000.min(500_000 - (october_clicks * 9000).min(500_000));
    assert_ne!(billed, recomputed, "the test must tell the two apart");
    // The issued October document is published as issued.
    let published =
        std::fs::read(project.site().join("clients/kobe/2026-10/invoice.json")).unwrap();
    let kept =
        std::fs::read(fixture.file("periods/2026-10/sealed/clients/kobe/2026-10/invoice.json"))
            .unwrap();
    assert_eq!(published, kept);
}

/// What a sealed period issued reads back exactly: on the sample agency (two periods
/// sealed, nothing changed since), the read-back statements, documents and reviews are
/// those a full recomputation from every export gives, and so is the open period.
#[test]
fn reading_back_a_sealed_period_equals_recomputing_it() {
    let dir = common::sample_data();
    let key = None;
    let all = tallyseal::ingest::load(&dir, key.clone(), tallyseal::ingest::Exports::All)
        .unwrap()
        .project;
    let open = tallyseal::ingest::load(&dir, key, tallyseal::ingest::Exports::OpenPeriods)
        .unwrap()
        .project;
    let sealed = open.periods.iter().filter(|p| p.sealed).count();
    assert!(sealed >= 2, "the sample has sealed periods");
    assert!(open.periods[..sealed].iter().all(|p| p.rows.is_empty()));

    let books = tallyseal::invoice::bill(&all).unwrap();
    let statements = tallyseal::account::settle(&all, &books).unwrap();
    let (signer, _) =
        tallyseal::seal::keys::Signer::load(all.signing_key.as_ref().unwrap()).unwrap();
    let key_id = Some(signer.key_id.as_str());
    let reviews = tallyseal::build::review(&all, &books, &statements, key_id).unwrap();
    let read =
        tallyseal::build::compute(&open, key_id, tallyseal::sealed::read_all(&open.dir)).unwrap();

    assert_eq!(read.statements, statements);
    for (period, (issued, computed)) in read.books.iter().zip(&books).enumerate() {
        let figures = |b: &tallyseal::invoice::PeriodBooks| -> Vec<String> {
            b.invoices
                .iter()
                .map(|i| {
                    let lines: Vec<String> = i
                        .lines
                        .iter()
                        .map(|l| {
                            let ms: Vec<&str> = l
                                .milestones
                                .iter()
                                .map(|m| m.milestone_id.as_str())
                                .collect();
                            format!(
                                "{} {} {} {} {ms:?}",
                                l.line_id,
                                l.cap.gross.normalize(),
                                l.cap.billed.normalize(),
                                l.net.normalize()
                            )
                        })
                        .collect();
                    let adjustments: Vec<&str> = i
                        .adjustments
                        .iter()
                        .map(|a| a.adjustment_id.as_str())
                        .collect();
                    format!(
                        "{} {} {} {} {:?} {lines:?} {adjustments:?}",
                        i.number,
                        i.client_id,
                        i.total.normalize(),
                        i.due_date,
                        i.kind
                    )
                })
                .collect()
        };
        assert_eq!(figures(issued), figures(computed), "period {period}");
    }
    for (issued, computed) in read.reviews.iter().zip(&reviews) {
        assert_eq!(issued.checklists.len(), computed.checklists.len());
        for (a, b) in issued.checklists.iter().zip(&computed.checklists) {
            let steps = |c: &tallyseal::checklist::Checklist| -> Vec<String> {
                c.steps
                    .iter()
                    .map(|s| format!("{} {:?} {} {:?}", s.id, s.status, s.summary, s.details))
                    .collect()
            };
            assert_eq!(steps(a), steps(b));
        }
        let variances = |r: &tallyseal::build::Review| -> Vec<String> {
            r.variances
                .variances
                .iter()
                .map(|v| {
                    format!(
                        "{} {} {} {:?}",
                        v.client_id, v.line_id, v.summary, v.explained_by
                    )
                })
                .collect()
        };
        assert_eq!(variances(issued), variances(computed));
        assert_eq!(issued.conservation.len(), computed.conservation.len());
    }
}
