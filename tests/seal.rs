//! Bundles as a client or auditor checks them: with `openssl` and `sha256sum` alone, with
//! `tallyseal verify`, with a key made by OpenSSL, and against a tampered copy of a
//! bundle, case by case, each failing at the check that should catch it.

mod common;

use common::Fixture;
use common::{tallyseal, text};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use tallyseal::seal::keys::Signer;
use tallyseal::seal::manifest;
use tallyseal::seal::proof::Proof;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn demo_public() -> PathBuf {
    root().join("sample-data/keys/demo-agency.pub.pem")
}

/// Every bundle folder of a site: `clients/<id>/<period>` and `agency/<period>`.
fn bundles(site: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = walkdir::WalkDir::new(site)
        .into_iter()
        .map(|e| e.unwrap().into_path())
        .filter(|p| p.file_name().is_some_and(|n| n == "SHA256SUMS"))
        .map(|p| p.parent().unwrap().to_owned())
        .collect();
    found.sort();
    found
}

/// `tallyseal verify --json` on `bundle`: whether it verified, and the failing check.
fn verify(bundle: &Path, keys: &[&Path], sources: Option<&Path>) -> (bool, Option<(u64, String)>) {
    verify_with(bundle, keys, sources, None)
}

/// The same, with the client's previous bundle.
fn verify_with(
    bundle: &Path,
    keys: &[&Path],
    sources: Option<&Path>,
    prev: Option<&Path>,
) -> (bool, Option<(u64, String)>) {
    let mut args = vec![
        "verify".to_owned(),
        bundle.display().to_string(),
        "--json".into(),
    ];
    if let Some(prev) = prev {
        args.extend(["--prev".into(), prev.display().to_string()]);
    }
    for key in keys {
        args.extend(["--key".into(), key.display().to_string()]);
    }
    if let Some(sources) = sources {
        args.extend(["--sources".into(), sources.display().to_string()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = tallyseal(&args);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", text(&out.stdout), text(&out.stderr)));
    let verified = report["verified"].as_bool().unwrap();
    assert_eq!(
        verified,
        out.status.success(),
        "exit status and report agree"
    );
    let failure = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["status"] == "fail")
        .map(|c| {
            (
                c["check"].as_u64().unwrap(),
                c["detail"].as_str().unwrap().to_owned(),
            )
        });
    (verified, failure)
}

#[test]
fn every_bundle_of_the_committed_site_verifies_with_openssl_sha256sum_and_tallyseal() {
    let site = root().join("site");
    let bundles = bundles(&site);
    // Six clients in each of three periods, and the agency's three periods.
    assert_eq!(bundles.len(), 6 * 3 + 3, "{bundles:#?}");
    for bundle in &bundles {
        let openssl = Command::new("openssl")
            .args(["pkeyutl", "-verify", "-pubin", "-inkey"])
            .arg(demo_public())
            .args(["-rawin", "-in", "SHA256SUMS", "-sigfile", "SHA256SUMS.sig"])
            .current_dir(bundle)
            .output()
            .expect("openssl is installed (.ci/run installs it)");
        assert!(
            openssl.status.success()
                && text(&openssl.stdout).contains("Signature Verified Successfully"),
            "{}: {}{}",
            bundle.display(),
            text(&openssl.stdout),
            text(&openssl.stderr)
        );
        let sums = Command::new("sha256sum")
            .args(["--strict", "-c", "SHA256SUMS"])
            .current_dir(bundle)
            .output()
            .unwrap();
        assert!(
            sums.status.success(),
            "{}: {}",
            bundle.display(),
            text(&sums.stdout)
        );
        let listed = text(&sums.stdout).lines().count();
        let on_disk = walkdir::WalkDir::new(bundle)
            .into_iter()
            .filter(|e| e.as_ref().unwrap().file_type().is_file())
            .count();
        assert_eq!(
            listed + 2,
            on_disk,
            "{}: every file but the manifest and signature",
            bundle.display()
        );
        let (verified, failure) =
            verify(bundle, &[&demo_public()], Some(&root().join("sample-data")));
        assert!(verified, "{}: {failure:?}", bundle.display());
    }
}

/// `tests/independent/verify_bundle.py`: the verifier written from docs/verify.md alone.
fn independent(bundle: &Path, sources: Option<&Path>) -> Output {
    let mut command = Command::new("python3");
    command
        .arg(root().join("tests/independent/verify_bundle.py"))
        .arg(bundle)
        .arg("--key")
        .arg(demo_public());
    if let Some(sources) = sources {
        command.arg("--sources").arg(sources);
    }
    command
        .output()
        .expect("python3 is installed (.ci/run installs it)")
}

#[test]
fn a_verifier_written_from_the_docs_alone_agrees() {
    for bundle in bundles(&root().join("site")) {
        let out = independent(&bundle, Some(&root().join("sample-data")));
        assert!(
            out.status.success(),
            "{}: {}{}",
            bundle.display(),
            text(&out.stdout),
            text(&out.stderr)
        );
    }
    let copy = Copy::of(CLIENT, PERIOD);
    std::fs::write(copy.file("account.json"), "{}").unwrap();
    let out = independent(&copy.bundle, None);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).contains("FAILED check 2"),
        "{}",
        text(&out.stdout)
    );

    // A proof lacking a subtree, written exactly as tallyseal writes proofs, re-signed.
    let copy = Copy::of(CLIENT, PERIOD);
    let path = copy.file("data/cm360_2026-09.csv.proof.json");
    let mut proof = Proof::from_json(&std::fs::read(&path).unwrap()).unwrap();
    proof.subtrees.remove(0);
    std::fs::write(&path, proof.to_json()).unwrap();
    copy.resign();
    let out = independent(&copy.bundle, None);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).contains("FAILED check 4"),
        "{}",
        text(&out.stdout)
    );
    let (check, _) = copy.failing().unwrap();
    assert_eq!(check, 4);
}

#[test]
fn the_key_id_is_the_one_openssl_computes() {
    let der = Command::new("openssl")
        .args(["pkey", "-pubin", "-in"])
        .arg(demo_public())
        .args(["-outform", "DER"])
        .output()
        .unwrap();
    assert!(der.status.success());
    let raw = &der.stdout[der.stdout.len() - 32..];
    let key_id = tallyseal::seal::keys::hex(&<sha2::Sha256 as sha2::Digest>::digest(raw));
    let statement: serde_json::Value = serde_json::from_slice(
        &std::fs::read(root().join("site/clients/kumo/2026-10/statement.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(statement["key_id"], key_id.as_str());
    assert!(
        root()
            .join(format!("site/clients/kumo/keys/{key_id}.pub.pem"))
            .is_file()
    );
    assert_eq!(
        std::fs::read(root().join("site/clients/kumo/agency.pub.pem")).unwrap(),
        std::fs::read(demo_public()).unwrap()
    );
}

#[test]
fn statements_chain_each_clients_bundles() {
    let site = root().join("site/clients/brightwater");
    let mut prev: Option<String> = None;
    for (seq, period) in ["2026-08", "2026-09", "2026-10"].iter().enumerate() {
        let bundle = site.join(period);
        let statement: serde_json::Value =
            serde_json::from_slice(&std::fs::read(bundle.join("statement.json")).unwrap()).unwrap();
        assert_eq!(statement["seq"], seq as u64 + 1);
        assert_eq!(statement["prev"].as_str(), prev.as_deref());
        assert_eq!(statement["period"], *period);
        let sums = std::fs::read(bundle.join("SHA256SUMS")).unwrap();
        prev = Some(tallyseal::seal::keys::hex(
            &<sha2::Sha256 as sha2::Digest>::digest(&sums),
        ));
    }
}

#[test]
fn each_statement_names_its_document_and_the_exports_of_its_slices() {
    let json = |path: &Path| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    };
    let mut documents = 0;
    for bundle in bundles(&root().join("site/clients")) {
        let statement = json(&bundle.join("statement.json"));
        let account = json(&bundle.join("account.json"));
        assert_eq!(
            statement["currency"],
            account["currency"],
            "{}",
            bundle.display()
        );
        match std::fs::read(bundle.join("invoice.json")) {
            Ok(bytes) => {
                let invoice: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
                assert_eq!(statement["invoice_number"], invoice["number"]);
                assert_eq!(statement["invoice_total"], invoice["total"]);
                assert_eq!(statement["currency"], invoice["currency"]);
                documents += 1;
            }
            Err(_) => {
                assert!(statement["invoice_number"].is_null());
                assert!(statement["invoice_total"].is_null());
            }
        }
        let files: Vec<&str> = statement["sources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["file"].as_str().unwrap())
            .collect();
        let mut sorted = files.clone();
        sorted.sort();
        assert_eq!(files, sorted, "sources sorted by file");
        let slices: Vec<String> = std::fs::read_dir(bundle.join("data"))
            .map(|d| {
                d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .filter(|n| !n.ends_with(".proof.json"))
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(slices.len(), files.len(), "{}", bundle.display());
        for file in files {
            assert!(slices.iter().any(|s| file.ends_with(&format!("/{s}"))));
        }
    }
    assert_eq!(documents, 18);
}

#[test]
fn a_key_made_by_openssl_signs_builds_that_verify() {
    let fixture = Fixture::valid();
    let keys = tempfile::tempdir().unwrap();
    let private = keys.path().join("agency.pem");
    let public = keys.path().join("agency.pub.pem");
    let made = Command::new("openssl")
        .args(["genpkey", "-algorithm", "ed25519", "-out"])
        .arg(&private)
        .status()
        .unwrap();
    assert!(made.success());
    std::fs::set_permissions(
        &private,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let exported = Command::new("openssl")
        .args(["pkey", "-pubout", "-in"])
        .arg(&private)
        .arg("-out")
        .arg(&public)
        .status()
        .unwrap();
    assert!(exported.success());
    let site = keys.path().join("site");
    let out = Command::new(env!("CARGO_BIN_EXE_tallyseal"))
        .args(["build"])
        .arg(fixture.path())
        .arg("--out")
        .arg(&site)
        .env("TALLYSEAL_SIGNING_KEY", &private)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        !text(&out.stderr).contains("warning"),
        "{}",
        text(&out.stderr)
    );
    let bundles = bundles(&site);
    assert!(bundles.len() >= 3, "{bundles:#?}");
    for bundle in &bundles {
        let (verified, failure) = verify(bundle, &[&public], Some(fixture.path()));
        assert!(verified, "{}: {failure:?}", bundle.display());
    }
    // The private key's bytes are nowhere in the site.
    let secret = std::fs::read_to_string(&private).unwrap();
    let body = secret.lines().nth(1).unwrap();
    for entry in walkdir::WalkDir::new(&site) {
        let entry = entry.unwrap();
        if entry.file_type().is_file() {
            assert!(!text(&std::fs::read(entry.path()).unwrap()).contains(body));
        }
    }
}

#[test]
fn without_a_key_build_fails_unless_unsigned_and_a_preview_says_so_everywhere() {
    let fixture = Fixture::valid();
    fixture.write("tallyseal.toml", common::TOML);
    let temp = tempfile::tempdir().unwrap();
    let site = temp.path().join("site");
    let project = fixture.path().to_str().unwrap();
    let out = tallyseal(&["build", project, "--out", site.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("no signing key"),
        "{}",
        text(&out.stderr)
    );
    assert!(text(&out.stderr).contains("--unsigned"));
    assert!(!site.exists());

    let out = tallyseal(&[
        "build",
        project,
        "--out",
        site.to_str().unwrap(),
        "--unsigned",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("unsigned preview"));
    let mut pages = 0;
    for entry in walkdir::WalkDir::new(&site) {
        let path = entry.unwrap().into_path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert_ne!(name, "SHA256SUMS.sig", "{}", path.display());
        assert!(!name.ends_with(".pub.pem"), "{}", path.display());
        if name.ends_with(".html") {
            pages += 1;
            assert!(
                std::fs::read_to_string(&path)
                    .unwrap()
                    .contains("Unsigned preview."),
                "{}",
                path.display()
            );
        }
    }
    assert!(pages > 10);
    let bundle = site.join("clients/acme/2026-10");
    let statement: serde_json::Value =
        serde_json::from_slice(&std::fs::read(bundle.join("statement.json")).unwrap()).unwrap();
    assert!(statement["key_id"].is_null());
    let (verified, failure) = verify(&bundle, &[&demo_public()], None);
    assert!(!verified);
    let (check, detail) = failure.unwrap();
    assert_eq!(check, 1);
    assert!(detail.contains("unsigned"), "{detail}");
}

#[test]
fn a_key_others_can_read_gets_a_warning_and_a_bad_key_file_an_error() {
    let fixture = Fixture::valid();
    let key = fixture.file("keys/test.pem");
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let temp = tempfile::tempdir().unwrap();
    let site = temp.path().join("site");
    let args = [
        "build",
        fixture.path().to_str().unwrap(),
        "--out",
        site.to_str().unwrap(),
    ];
    let out = tallyseal(&args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr)
            .contains("keys/test.pem: the private signing key can be read by other users"),
        "{}",
        text(&out.stderr)
    );
    fixture.write("keys/test.pem", "not a key");
    let out = tallyseal(&args);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("test.pem: not an Ed25519 private key"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn the_private_key_never_enters_the_site_even_as_an_attachment() {
    let fixture = Fixture::valid();
    let key = std::fs::read(fixture.file("keys/test.pem")).unwrap();
    fixture
        .period("attachments/key.pem", &key)
        .period("variances.csv", "client_id,line_id,cause,explanation,evidence,approved_by\nacme,acme-cpm,tracking_outage,Outage,key.pem,bob\n");
    let private = fixture.file("periods/2026-10/attachments/key.pem");
    std::fs::set_permissions(
        &private,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let temp = tempfile::tempdir().unwrap();
    let site = temp.path().join("site");
    let build = |key: &Path| {
        Command::new(env!("CARGO_BIN_EXE_tallyseal"))
            .arg("build")
            .arg(fixture.path())
            .arg("--out")
            .arg(&site)
            .env("TALLYSEAL_SIGNING_KEY", key)
            .output()
            .unwrap()
    };
    // Signing with another key, the attachment is just a file.
    let out = build(&fixture.file("keys/test.pem"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        site.join("clients/acme/2026-10/attachments/key.pem")
            .is_file()
    );
    // Signing with that very file, the build stops and writes nothing new.
    std::fs::remove_dir_all(&site).unwrap();
    let out = build(&private);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr)
            .contains("would enter the site as clients/acme/2026-10/attachments/key.pem"),
        "{}",
        text(&out.stderr)
    );
    assert!(!site.exists());
}

/// A copy of the committed sample bundle `client/period`, at the same place in a
/// temporary site, with the sample project's signer to re-sign deliberate changes.
struct Copy {
    _temp: tempfile::TempDir,
    site: PathBuf,
    bundle: PathBuf,
}

impl Copy {
    fn of(client: &str, period: &str) -> Copy {
        let temp = tempfile::tempdir().unwrap();
        let site = temp.path().join("site");
        let bundle = site.join("clients").join(client).join(period);
        copy_dir(
            &root().join("site/clients").join(client).join(period),
            &bundle,
        );
        Copy {
            _temp: temp,
            site,
            bundle,
        }
    }

    fn file(&self, relative: &str) -> PathBuf {
        self.bundle.join(relative)
    }

    /// The failing check of `tallyseal verify` on the copy with the demo key, if any.
    fn failing(&self) -> Option<(u64, String)> {
        verify(&self.bundle, &[&demo_public()], None).1
    }

    /// Lists and signs the bundle's files as they are now, as a dishonest or buggy
    /// signer would: the signature and hashes then hold, so a later check must catch it.
    fn resign(&self) {
        let mut files = Vec::new();
        for entry in walkdir::WalkDir::new(&self.bundle).sort_by_file_name() {
            let entry = entry.unwrap();
            if !entry.file_type().is_file() {
                continue;
            }
            let relative = entry
                .path()
                .strip_prefix(&self.bundle)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if relative != "SHA256SUMS" && relative != "SHA256SUMS.sig" {
                files.push((relative, std::fs::read(entry.path()).unwrap()));
            }
        }
        let sums = manifest::write(files.iter().map(|(p, b)| (p.as_str(), b.as_slice())));
        let (signer, _) = Signer::load(&root().join("sample-data/keys/demo-agency.pem")).unwrap();
        std::fs::write(self.file("SHA256SUMS"), &sums).unwrap();
        std::fs::write(self.file("SHA256SUMS.sig"), signer.sign(sums.as_bytes())).unwrap();
    }

    fn edit_json(&self, relative: &str, edit: impl FnOnce(&mut serde_json::Value)) {
        let mut value: serde_json::Value =
            serde_json::from_slice(&std::fs::read(self.file(relative)).unwrap()).unwrap();
        edit(&mut value);
        let mut bytes = serde_json::to_vec(&value).unwrap();
        bytes.push(b'\n');
        std::fs::write(self.file(relative), bytes).unwrap();
    }
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.unwrap();
        let target = to.join(entry.path().strip_prefix(from).unwrap());
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Every file of a bundle, relative.
fn files_of(bundle: &Path) -> Vec<String> {
    let mut files: Vec<String> = walkdir::WalkDir::new(bundle)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            e.path()
                .strip_prefix(bundle)
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    files.sort();
    files
}

/// The check that must catch a change to `file`: the manifest and signature are check 1,
/// every other file check 2.
fn catcher(file: &str) -> u64 {
    if file.starts_with("SHA256SUMS") { 1 } else { 2 }
}

const CLIENT: &str = "brightwater";
const PERIOD: &str = "2026-09";

#[test]
fn the_untouched_copy_verifies() {
    assert_eq!(Copy::of(CLIENT, PERIOD).failing(), None);
}

#[test]
fn one_flipped_byte_in_any_file_is_caught() {
    let files = files_of(&Copy::of(CLIENT, PERIOD).bundle);
    assert!(files.len() > 15, "{files:#?}");
    for file in &files {
        let copy = Copy::of(CLIENT, PERIOD);
        let path = copy.file(file);
        let mut bytes = std::fs::read(&path).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x01;
        std::fs::write(&path, bytes).unwrap();
        let failing = copy.failing();
        assert_eq!(
            failing.as_ref().map(|f| f.0),
            Some(catcher(file)),
            "{file}: {failing:?}"
        );
    }
}

#[test]
fn a_deleted_added_or_renamed_file_is_caught() {
    for file in files_of(&Copy::of(CLIENT, PERIOD).bundle) {
        let copy = Copy::of(CLIENT, PERIOD);
        std::fs::remove_file(copy.file(&file)).unwrap();
        let failing = copy.failing();
        assert_eq!(
            failing.as_ref().map(|f| f.0),
            Some(catcher(&file)),
            "{file}: {failing:?}"
        );
    }
    let copy = Copy::of(CLIENT, PERIOD);
    std::fs::write(copy.file("data/extra.csv"), "Campaign,Day\n").unwrap();
    let (check, detail) = copy.failing().unwrap();
    assert_eq!(check, 2);
    assert!(
        detail.contains("data/extra.csv is in the bundle but not listed"),
        "{detail}"
    );

    let copy = Copy::of(CLIENT, PERIOD);
    std::fs::rename(copy.file("invoice.html"), copy.file("invoice-v2.html")).unwrap();
    let (check, detail) = copy.failing().unwrap();
    assert_eq!(check, 2);
    assert!(
        detail.contains("invoice.html is listed in SHA256SUMS but missing"),
        "{detail}"
    );
}

#[test]
fn another_bundles_statement_or_another_place_is_caught() {
    for (client, period) in [("kumo", PERIOD), (CLIENT, "2026-10")] {
        let copy = Copy::of(CLIENT, PERIOD);
        let other = root()
            .join("site/clients")
            .join(client)
            .join(period)
            .join("statement.json");
        std::fs::copy(other, copy.file("statement.json")).unwrap();
        let (check, detail) = copy.failing().unwrap();
        assert_eq!(check, 2, "{detail}");
        assert!(
            detail.contains("statement.json does not match its hash"),
            "{detail}"
        );
    }
    // A whole bundle, intact, presented as another client's or another period's.
    for (client, period) in [("kumo", PERIOD), (CLIENT, "2026-10")] {
        let copy = Copy::of(CLIENT, PERIOD);
        let elsewhere = copy.site.join("clients").join(client).join(period);
        std::fs::create_dir_all(elsewhere.parent().unwrap()).unwrap();
        std::fs::rename(&copy.bundle, &elsewhere).unwrap();
        let (_, failure) = verify(&elsewhere, &[&demo_public()], None);
        let (check, detail) = failure.unwrap();
        assert_eq!(check, 3, "{detail}");
        assert!(detail.contains("it belongs elsewhere"), "{detail}");
    }
}

#[test]
fn a_bad_signature_or_the_wrong_key_is_caught() {
    let copy = Copy::of(CLIENT, PERIOD);
    let signature = std::fs::read(copy.file("SHA256SUMS.sig")).unwrap();
    std::fs::write(copy.file("SHA256SUMS.sig"), &signature[..63]).unwrap();
    let (check, detail) = copy.failing().unwrap();
    assert_eq!(check, 1);
    assert!(detail.contains("is 63 bytes"), "{detail}");

    let copy = Copy::of(CLIENT, PERIOD);
    let other = tempfile::tempdir().unwrap();
    let (_, public) = tallyseal::seal::keys::keygen(&other.path().join("other.pem")).unwrap();
    let (_, failure) = verify(&copy.bundle, &[&public], None);
    let (check, detail) = failure.unwrap();
    assert_eq!(check, 1);
    assert!(
        detail.contains("does not verify with the trusted key"),
        "{detail}"
    );
    // Among several trusted keys, the one that signed is found.
    let (verified, _) = verify(&copy.bundle, &[&public, &demo_public()], None);
    assert!(verified);
}

#[test]
fn hostile_files_neither_hang_nor_exhaust_the_verifier() {
    for name in ["SHA256SUMS.sig", "SHA256SUMS"] {
        let copy = Copy::of(CLIENT, PERIOD);
        std::fs::remove_file(copy.file(name)).unwrap();
        std::os::unix::fs::symlink("/dev/zero", copy.file(name)).unwrap();
        let (check, detail) = copy.failing().unwrap();
        assert_eq!(check, 1, "{name}: {detail}");
    }
    // Forms of seq and prev the chain never takes, each re-signed.
    for (seq, prev, expected) in [
        (0, serde_json::Value::Null, "seq 0"),
        (2, serde_json::Value::Null, "seq 2 but no prev"),
        (
            2,
            "not-a-hash".into(),
            "prev is not 64 lowercase hex digits",
        ),
    ] {
        let copy = Copy::of(CLIENT, PERIOD);
        copy.edit_json("statement.json", |s| {
            s["seq"] = seq.into();
            s["prev"] = prev.clone();
        });
        copy.resign();
        let (check, detail) = copy.failing().unwrap();
        assert_eq!(check, 5, "{detail}");
        assert!(detail.contains(expected), "{detail}");
    }
}

#[test]
fn a_signed_statement_naming_another_key_is_caught() {
    let copy = Copy::of(CLIENT, PERIOD);
    copy.edit_json("statement.json", |s| s["key_id"] = "00".repeat(32).into());
    copy.resign();
    let (check, detail) = copy.failing().unwrap();
    assert_eq!(check, 3, "{detail}");
    assert!(detail.contains("names key 0000"), "{detail}");
}

#[test]
fn proofs_with_a_subtree_extra_missing_or_changed_are_caught() {
    let proof = "data/google_ads_2026-09.csv.proof.json";
    type Edit = Box<dyn Fn(&mut serde_json::Value)>;
    let edits: Vec<(&str, Edit)> = vec![
        (
            "has a subtree",
            Box::new(|p| {
                let subtrees = p["subtrees"].as_array_mut().unwrap();
                let last = subtrees.last().unwrap().clone();
                subtrees.push(last);
            }),
        ),
        (
            "lacks the subtree",
            Box::new(|p| {
                p["subtrees"].as_array_mut().unwrap().remove(0);
            }),
        ),
        (
            "do not recompute the root",
            Box::new(|p| {
                let first = &mut p["subtrees"][0][2];
                let flipped = if first.as_str().unwrap().starts_with('0') {
                    "1"
                } else {
                    "0"
                };
                let hash = format!("{flipped}{}", &first.as_str().unwrap()[1..]);
                *first = hash.into();
            }),
        ),
        (
            "does not describe",
            Box::new(|p| p["root"] = "00".repeat(32).into()),
        ),
    ];
    for (expected, edit) in edits {
        let copy = Copy::of(CLIENT, PERIOD);
        copy.edit_json(proof, edit);
        copy.resign();
        let (check, detail) = copy.failing().unwrap();
        assert_eq!(check, 4, "{expected}: {detail}");
        assert!(detail.contains(expected), "{expected}: {detail}");
    }
}

#[test]
fn a_slice_row_changed_added_or_dropped_is_caught_even_when_re_signed() {
    let slice = "data/google_ads_2026-09.csv";
    let original = std::fs::read_to_string(Copy::of(CLIENT, PERIOD).file(slice)).unwrap();
    let last_row = original.lines().last().unwrap();
    let changed = [
        original.replacen(last_row, &format!("X{}", &last_row[1..]), 1),
        format!("{original}{last_row}\n"),
        original.replacen(&format!("{last_row}\n"), "", 1),
    ];
    for bytes in changed {
        let copy = Copy::of(CLIENT, PERIOD);
        std::fs::write(copy.file(slice), &bytes).unwrap();
        copy.resign();
        let (check, detail) = copy.failing().unwrap();
        assert_eq!(check, 4, "{detail}");
    }
}

#[test]
fn a_changed_raw_export_fails_the_sources_check() {
    let temp = tempfile::tempdir().unwrap();
    let project = temp.path().join("project");
    copy_dir(&root().join("sample-data"), &project);
    let bundle = root().join("site/clients").join(CLIENT).join(PERIOD);
    let (verified, failure) = verify(&bundle, &[&demo_public()], Some(&project));
    assert!(verified, "{failure:?}");
    let export = project.join("periods/2026-09/exports/cm360_2026-09.csv");
    let mut bytes = std::fs::read(&export).unwrap();
    let last = bytes.len() - 2;
    bytes[last] ^= 0x01;
    std::fs::write(&export, bytes).unwrap();
    let (_, failure) = verify(&bundle, &[&demo_public()], Some(&project));
    let (check, detail) = failure.unwrap();
    assert_eq!(check, 6);
    assert!(
        detail.contains("cm360_2026-09.csv: its SHA-256"),
        "{detail}"
    );
}

#[test]
fn every_clients_bundles_chain_from_the_first() {
    let clients = root().join("site/clients");
    let mut links = 0;
    for client in std::fs::read_dir(&clients).unwrap() {
        let portal = client.unwrap().path();
        let first = portal.join("2026-08");
        let (verified, failure) = verify(&first, &[&demo_public()], None);
        assert!(verified, "{failure:?}");
        for (prev, next) in [("2026-08", "2026-09"), ("2026-09", "2026-10")] {
            let (verified, failure) = verify_with(
                &portal.join(next),
                &[&demo_public()],
                None,
                Some(&portal.join(prev)),
            );
            assert!(verified, "{}: {failure:?}", portal.display());
            links += 1;
        }
    }
    assert_eq!(links, 12);
}

#[test]
fn a_broken_chain_is_caught() {
    let key = demo_public();
    let site = root().join("site/clients");
    let failing = |bundle: &Path, prev: &Path| {
        let (_, failure) = verify_with(bundle, &[&key], None, Some(prev));
        failure.unwrap()
    };
    // A replayed older bundle as the previous one.
    let (check, detail) = failing(&site.join("kumo/2026-10"), &site.join("kumo/2026-08"));
    assert_eq!(check, 5);
    assert!(detail.contains("not the month before"), "{detail}");
    // Another client's bundle as the previous one.
    let (check, detail) = failing(&site.join("kumo/2026-10"), &site.join("helios/2026-09"));
    assert_eq!(check, 5);
    assert!(
        detail.contains("is client helios's, not kumo's"),
        "{detail}"
    );
    // A previous bundle that was changed.
    let earlier = Copy::of(CLIENT, "2026-08");
    std::fs::write(earlier.file("index.html"), "changed").unwrap();
    let (check, detail) = failing(&site.join(CLIENT).join(PERIOD), &earlier.bundle);
    assert_eq!(check, 5);
    assert!(detail.contains("does not verify: check 2"), "{detail}");
    // A gap in seq, and a prev naming another manifest, each re-signed.
    let sep = site.join(CLIENT).join("2026-08");
    for (field, expected) in [("seq", "it should be 2"), ("prev", "hashes to")] {
        let copy = Copy::of(CLIENT, PERIOD);
        copy.edit_json("statement.json", |s| match field {
            "seq" => s["seq"] = 3.into(),
            _ => s["prev"] = "ab".repeat(32).into(),
        });
        copy.resign();
        let (check, detail) = failing(&copy.bundle, &sep);
        assert_eq!(check, 5, "{field}: {detail}");
        assert!(detail.contains(expected), "{field}: {detail}");
    }
    // A first bundle that names a prev.
    let copy = Copy::of(CLIENT, "2026-08");
    copy.edit_json("statement.json", |s| s["prev"] = "ab".repeat(32).into());
    copy.resign();
    let (check, detail) = copy.failing().unwrap();
    assert_eq!(check, 5);
    assert!(detail.contains("seq 1 but names a prev"), "{detail}");
}

#[test]
fn verify_reports_each_check_as_it_runs() {
    let bundle = root().join("site/clients").join(CLIENT).join(PERIOD);
    let out = tallyseal(&[
        "verify",
        bundle.to_str().unwrap(),
        "--key",
        demo_public().to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].starts_with("check 1 signature ok"), "{stdout}");
    assert!(lines[3].starts_with("check 4 proofs    ok"), "{stdout}");
    assert!(
        lines[4].starts_with("check 5 chain     skipped"),
        "{stdout}"
    );
    assert!(
        lines[5].starts_with("check 6 sources   skipped"),
        "{stdout}"
    );
    assert!(lines[6].starts_with("verified: "), "{stdout}");

    let copy = Copy::of(CLIENT, PERIOD);
    std::fs::write(copy.file("index.html"), "changed").unwrap();
    let out = tallyseal(&[
        "verify",
        copy.bundle.to_str().unwrap(),
        "--key",
        demo_public().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("check 2 files     FAILED  index.html does not match its hash"),
        "{stdout}"
    );
    assert!(stdout.contains("NOT VERIFIED"), "{stdout}");
    assert!(!stdout.contains("check 3"), "{stdout}");
}
