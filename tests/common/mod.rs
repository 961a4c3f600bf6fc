//! A small valid project written to a temporary directory, which tests then break one
//! file at a time.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use tallyseal::error::LoadError;
use tallyseal::ingest::{self, Loaded};

pub const TOML: &str = r#"[agency]
name = "Test Agency Ltd"
country = "GB"

[invoice]
number_format = "T-{seq:04}"

[[source]]
name = "plat"
files = "exports/plat*.csv"
kind = "platform"
[source.columns]
campaign = "Campaign"
date = "Day"
impressions = "Impressions"
clicks = "Clicks"
spend = "Cost"
currency = "Currency"

[[source]]
name = "adsrv"
files = "exports/adsrv*.csv"
kind = "ad_server"
grain = ["Placement"]
[source.columns]
campaign = "Campaign ID"
date = "Date"
impressions = "Impressions"
"#;

/// Appended to [`TOML`] by [`Fixture::valid`]: the fixture's own signing key.
pub const SIGNING: &str = "\n[signing]\nkey_file = \"keys/test.pem\"\n";

/// The fixture's signing key: a fixed seed, so builds are reproducible.
pub fn test_key() -> ed25519_dalek::SigningKey {
    ed25519_dalek::SigningKey::from_bytes(&[42u8; 32])
}

pub const CLIENTS: &str = "client_id,name,country,currency,tax_treatment,tax_rate,tax_id,payment_terms_days,address\n\
acme,Acme Ltd,GB,GBP,standard,20,,30,\"1 High St\nLondon\"\n\
beta,Beta GmbH,DE,EUR,reverse_charge,,DE123456789,14,\n\
kobe,Kobe KK,JP,JPY,standard,10,,30,\n";

pub const CONTRACTS: &str = "line_id,client_id,campaign,description,model,rate,currency,budget,start,end,basis\n\
acme-cpm,acme,acme-spring,Spring display,cpm,4.50,GBP,10000,2026-10-01,2026-10-31,\n\
beta-flat,beta,,Retainer,flat,3000,EUR,,2026-10-01,2026-12-31,\n\
beta-ms,beta,,Launch,milestone,,EUR,,2026-10-01,2026-12-31,\n\
beta-hours,beta,,Consulting,hourly,120,EUR,,2026-10-01,2026-12-31,\n\
kobe-cpc,kobe,kobe-search,Search,cpc,80,JPY,500000,2026-10-01,2026-11-30,platform\n";

pub const CROSSWALK: &str = "source,source_campaign_id,campaign\n\
plat,111,acme-spring\n\
adsrv,A-1,acme-spring\n\
plat,222,kobe-search\n";

pub const PLAT: &str = "Campaign,Day,Impressions,Clicks,Cost,Currency\n\
111,2026-10-01,1000,10,5.00,GBP\n\
111,2026-10-02,1200,12,6.00,GBP\n\
222,2026-10-01,500,40,3200,JPY\n";

pub const ADSRV: &str = "Campaign ID,Placement,Date,Impressions\n\
A-1,P1,2026-10-01,990\n\
A-1,P1,2026-10-02,1190\n";

pub const PERIOD: &str = "periods/2026-10";

pub struct Fixture {
    pub dir: tempfile::TempDir,
}

impl Fixture {
    /// A project that loads without error.
    pub fn valid() -> Fixture {
        let fixture = Fixture {
            dir: tempfile::tempdir().expect("temp dir"),
        };
        let key = tallyseal::seal::keys::private_pem(&test_key()).expect("a test key");
        fixture
            .write("tallyseal.toml", format!("{TOML}{SIGNING}"))
            .write("keys/test.pem", key)
            .write("clients.csv", CLIENTS)
            .write("contracts.csv", CONTRACTS)
            .write("crosswalk.csv", CROSSWALK)
            .write(&format!("{PERIOD}/exports/plat_oct.csv"), PLAT)
            .write(&format!("{PERIOD}/exports/adsrv_oct.csv"), ADSRV);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let private = std::fs::Permissions::from_mode(0o600);
            std::fs::set_permissions(fixture.file("keys/test.pem"), private).expect("chmod");
        }
        fixture
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn file(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    pub fn write(&self, relative: &str, contents: impl AsRef<[u8]>) -> &Self {
        let path = self.file(relative);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, contents).expect("write");
        self
    }

    /// Writes a period file, relative to `periods/2026-10/`.
    pub fn period(&self, relative: &str, contents: impl AsRef<[u8]>) -> &Self {
        self.write(&format!("{PERIOD}/{relative}"), contents)
    }

    pub fn remove(&self, relative: &str) -> &Self {
        std::fs::remove_file(self.file(relative)).expect("remove");
        self
    }

    pub fn load(&self) -> Result<Loaded, LoadError> {
        ingest::load(self.path(), None, tallyseal::ingest::Exports::All)
    }

    /// The errors of a project that must fail to load, as the user reads them.
    pub fn errors(&self) -> Vec<String> {
        match self.load() {
            Ok(_) => panic!("expected the project to fail to load"),
            Err(e) => e.problems.errors.iter().map(ToString::to_string).collect(),
        }
    }

    /// The one error of a project with exactly one problem.
    pub fn error(&self) -> String {
        let errors = self.errors();
        assert_eq!(errors.len(), 1, "expected one error, got {errors:#?}");
        errors.into_iter().next().unwrap_or_default()
    }

    pub fn warnings(&self) -> Vec<String> {
        match self.load() {
            Ok(loaded) => loaded.warnings.iter().map(ToString::to_string).collect(),
            Err(e) => panic!("expected the project to load: {:#?}", e.problems.errors),
        }
    }
}

/// Runs the real `tallyseal` binary.
pub fn tallyseal(args: &[&str]) -> Output {
    tallyseal_with_key(args, None)
}

/// Runs the real `tallyseal` binary, with `TALLYSEAL_SIGNING_KEY` set to `key` if given.
pub fn tallyseal_with_key(args: &[&str], key: Option<&Path>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tallyseal"));
    command.args(args);
    if let Some(key) = key {
        command.env("TALLYSEAL_SIGNING_KEY", key);
    }
    command.output().expect("run tallyseal")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The repository's demo agency, `sample-data/`.
pub fn sample_data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-data")
}
