//! The real binary on real projects: `check` on the sample agency and on broken
//! fixtures, and `keygen` checked with OpenSSL.

mod common;

use common::{tallyseal, text};
use std::path::Path;
use std::process::{Command, Output};

#[test]
fn check_accounts_for_every_row_of_the_sample_agency() {
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/sample-data");
    let out = tallyseal(&["check", sample]);
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "stdout:\n{stdout}\nstderr:\n{}",
        text(&out.stderr)
    );
    assert!(
        stdout.contains("periods  2026-08, 2026-09, 2026-10"),
        "{stdout}"
    );
    let conservation = stdout
        .lines()
        .find(|l| l.starts_with("conservation:"))
        .expect("a conservation line");
    assert!(
        conservation.ends_with("every row accounted for"),
        "{conservation}"
    );
    // rows read = mapped + unmapped + duplicate + total + blank, re-added here.
    let numbers: Vec<u64> = conservation
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    assert_eq!(numbers.len(), 6, "{conservation}");
    assert_eq!(numbers[0], numbers[1..].iter().sum::<u64>());
    assert!(
        numbers[2] > 0 && numbers[3] > 0 && numbers[4] > 0,
        "the sample has unmapped, duplicate and total rows"
    );
}

#[test]
fn check_lists_every_error_with_its_position_and_fails() {
    let fixture = common::Fixture::valid();
    fixture.write("clients.csv", common::CLIENTS.replace("JP,JPY", "JP,JPN"));
    fixture.period(
        "exports/plat_oct.csv",
        common::PLAT.replace("1200,12", "-1200,12"),
    );
    let out = tallyseal(&["check", fixture.path().to_str().unwrap()]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("error: clients.csv:5:4 (column `currency`): expected an ISO 4217 currency code such as EUR, found \"JPN\""), "{stderr}");
    assert!(
        stderr.contains("error: periods/2026-10/exports/plat_oct.csv:3:3 (column `Impressions`)"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "no summary for a failed project");
}

#[test]
fn check_of_a_missing_directory_fails_cleanly() {
    let out = tallyseal(&["check", "/no/such/project"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("not a project directory"));
}

fn openssl(args: &[&str]) -> Output {
    Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl is installed (.ci/run installs it)")
}

#[test]
fn keygen_writes_keys_openssl_reads() {
    let dir = tempfile::tempdir().unwrap();
    let private = dir.path().join("agency.pem");
    let out = tallyseal(&["keygen", "--out", private.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let public = dir.path().join("agency.pub.pem");

    // OpenSSL 3.0 reads the private key (it rejects PKCS#8 v2) and derives the same public key.
    let checked = openssl(&["pkey", "-in", private.to_str().unwrap(), "-noout"]);
    assert!(checked.status.success(), "{}", text(&checked.stderr));
    let derived = openssl(&["pkey", "-in", private.to_str().unwrap(), "-pubout"]);
    assert_eq!(
        text(&derived.stdout),
        std::fs::read_to_string(&public).unwrap()
    );

    // The printed key id is the SHA-256 of the raw public key, as seal.md computes it.
    let der = openssl(&[
        "pkey",
        "-pubin",
        "-in",
        public.to_str().unwrap(),
        "-outform",
        "DER",
    ])
    .stdout;
    let raw = &der[der.len() - 32..];
    use sha2::Digest;
    let expected: String = sha2::Sha256::digest(raw)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert!(
        text(&out.stdout).contains(&format!("key id       {expected}")),
        "{}",
        text(&out.stdout)
    );

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&private).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    // A signature made with the key verifies with the public key, both through OpenSSL.
    let message = dir.path().join("message");
    std::fs::write(&message, b"SHA256SUMS stand-in\n").unwrap();
    let signature = dir.path().join("message.sig");
    let signed = openssl(&[
        "pkeyutl",
        "-sign",
        "-inkey",
        private.to_str().unwrap(),
        "-rawin",
        "-in",
        message.to_str().unwrap(),
        "-out",
        signature.to_str().unwrap(),
    ]);
    assert!(signed.status.success(), "{}", text(&signed.stderr));
    let verified = openssl(&[
        "pkeyutl",
        "-verify",
        "-pubin",
        "-inkey",
        public.to_str().unwrap(),
        "-rawin",
        "-in",
        message.to_str().unwrap(),
        "-sigfile",
        signature.to_str().unwrap(),
    ]);
    assert!(verified.status.success(), "{}", text(&verified.stdout));
}

#[test]
fn keygen_never_overwrites_a_key() {
    let dir = tempfile::tempdir().unwrap();
    let private = dir.path().join("agency.pem");
    std::fs::write(&private, "precious").unwrap();
    let out = tallyseal(&["keygen", "--out", private.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("already exists"));
    assert_eq!(std::fs::read_to_string(&private).unwrap(), "precious");
    assert!(!Path::new(&dir.path().join("agency.pub.pem")).exists());
}

#[test]
fn only_working_subcommands_exist() {
    let help = text(&tallyseal(&["--help"]).stdout);
    let commands: Vec<&str> = help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(
        commands,
        ["check", "build", "seal", "verify", "keygen", "help"],
        "{help}"
    );
}
