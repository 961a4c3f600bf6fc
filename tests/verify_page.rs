//! Each portal's `verify.html`: it lists exactly the portal's bundles, trusts exactly
//! the keys that signed them (written into the page, so a check from `file://` needs no
//! key from anywhere), is linked from the portal index and the period pages, and is
//! outside every bundle. `tests/browser.rs` runs it in Chromium on good and tampered
//! bundles.

mod common;

use common::tallyseal_with_key as tallyseal;
use sha2::{Digest, Sha256};
use std::path::Path;

fn build(project: &Path, out: &Path, extra: &[&str], key: Option<&Path>) {
    let mut args = vec![
        "build",
        project.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend(extra);
    let result = tallyseal(&args, key);
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
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

/// The key ids of the keys a verify.html trusts, computed from the keys it carries.
fn trusted(html: &str) -> Vec<String> {
    attributes(html, "data-key")
        .iter()
        .map(|raw| {
            let bytes: Vec<u8> = (0..raw.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&raw[i..i + 2], 16).unwrap())
                .collect();
            assert_eq!(bytes.len(), 32, "a raw Ed25519 public key");
            tallyseal::seal::keys::hex(&Sha256::digest(&bytes))
        })
        .collect()
}

/// The folders of a portal named like a period, newest first.
fn periods(portal: &Path) -> Vec<String> {
    let mut periods: Vec<String> = std::fs::read_dir(portal)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| tallyseal::model::Period::parse(n).is_some())
        .collect();
    periods.sort();
    periods.reverse();
    periods
}

#[test]
fn every_portal_verifies_its_own_bundles_with_the_keys_that_signed_them() {
    let temp = tempfile::tempdir().unwrap();
    let site = temp.path().join("site");
    build(&common::sample_data(), &site, &[], None);
    let clients = std::fs::read_dir(site.join("clients")).unwrap();
    let mut portals = 0;
    for client in clients {
        let portal = client.unwrap().path();
        let html = read(&portal.join("verify.html"));
        assert!(portal.join("verify.js").is_file());
        // Its bundles, newest first, each one a choice.
        let periods = periods(&portal);
        assert_eq!(periods.len(), 3);
        assert_eq!(attributes(&html, "value"), periods);
        // The keys of keys/, whose ids the page's own key bytes hash to.
        let mut carried: Vec<String> = std::fs::read_dir(portal.join("keys"))
            .unwrap()
            .map(|e| {
                let name = e.unwrap().file_name().to_string_lossy().into_owned();
                name.trim_end_matches(".pub.pem").to_owned()
            })
            .collect();
        carried.sort();
        assert_eq!(trusted(&html), carried);
        assert!(html.contains(&format!(
            "data-client=\"{}\"",
            portal.file_name().unwrap().to_string_lossy()
        )));
        // Navigation, outside every bundle; linked from the index and the open period.
        for period in &periods {
            let sums = read(&portal.join(period).join("SHA256SUMS"));
            assert!(!sums.contains("verify."), "{period}");
        }
        assert!(
            attributes(&read(&portal.join("index.html")), "href")
                .contains(&"verify.html".to_owned())
        );
        let summary = read(&portal.join("2026-10/index.html"));
        assert!(attributes(&summary, "href").contains(&"../verify.html#period-2026-10".to_owned()));
        portals += 1;
    }
    assert_eq!(portals, 6);
}

#[test]
fn after_a_key_rotation_the_page_trusts_both_keys_each_for_its_periods() {
    let temp = tempfile::tempdir().unwrap();
    let new_private = temp.path().join("new.pem");
    let (new_id, _) = tallyseal::seal::keys::keygen(&new_private).unwrap();
    let site = temp.path().join("site");
    // August and September are sealed, signed with the demo key; October gets the new one.
    build(&common::sample_data(), &site, &[], Some(&new_private));
    let demo =
        tallyseal::seal::keys::read_public(&common::sample_data().join("keys/demo-agency.pub.pem"));
    let old_id = tallyseal::seal::keys::key_id(&demo.unwrap());
    let html = read(&site.join("clients/helios/verify.html"));
    assert_eq!(trusted(&html), [old_id, new_id]);
    assert!(html.contains("The keys this page trusts"));
    assert!(html.contains("Signed August 2026, September 2026</p>"));
    assert!(html.contains("Signed October 2026</p>"));
}

#[test]
fn an_unsigned_preview_has_nothing_to_check() {
    let fixture = common::Fixture::valid();
    let temp = tempfile::tempdir().unwrap();
    let site = temp.path().join("site");
    build(fixture.path(), &site, &["--unsigned"], None);
    let html = read(&site.join("clients/acme/verify.html"));
    assert!(trusted(&html).is_empty());
    assert!(html.contains("No period of this portal is signed"));
    assert!(html.contains("Unsigned preview"));
}
