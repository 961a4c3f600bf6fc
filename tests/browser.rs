//! The sample portals in a real browser: Debian's Chromium, headless and offline,
//! driven by `tests/browser/check.mjs` (playwright-core, axe-core from npm). Every page
//! loads from `file://` with no console error and no failed or outgoing request; the
//! main pages have no serious or critical axe-core violation on desktop and phone
//! widths; every invoice prints on one A4 and one Letter page with nothing cut off; a
//! portal's `verify.html` says "verified" for good bundles and names the failing check
//! of tampered copies, served from 127.0.0.1 and from `file://` (`tests/browser/verify.mjs`),
//! as `tallyseal verify` does on the same copies.
//!
//! Needs `node` and `/usr/bin/chromium` (or `CHROMIUM`); `.ci/run` installs both. The
//! npm packages are installed from `tests/browser/package-lock.json` on first run.

use std::path::Path;
use std::process::Command;

#[test]
fn sample_portals_pass_the_browser_checks() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let harness = root.join("tests/browser");
    if !harness.join("node_modules/playwright-core").is_dir() {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&harness)
            .status()
            .expect("npm is needed for the browser tests (.ci/run installs it)");
        assert!(status.success(), "npm ci in tests/browser failed");
    }
    let temp = tempfile::tempdir().unwrap();
    let site = temp.path().join("site");
    let built = Command::new(env!("CARGO_BIN_EXE_tallyseal"))
        .args(["build", root.join("sample-data").to_str().unwrap(), "--out"])
        .arg(&site)
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let checked = Command::new("node")
        .arg(harness.join("check.mjs"))
        .arg(&site)
        .env("TALLYSEAL", env!("CARGO_BIN_EXE_tallyseal"))
        .output()
        .expect("node is needed for the browser tests (.ci/run installs it)");
    let report = String::from_utf8_lossy(&checked.stdout);
    assert!(
        checked.status.success(),
        "{report}{}",
        String::from_utf8_lossy(&checked.stderr)
    );
    assert!(report.contains("0 problems"), "{report}");
}
