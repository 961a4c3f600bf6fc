//! Billing from day sums, not rows: an identical duplicate is counted once even where
//! taking it out of a sum would change the sum's decimals or could not undo an
//! overflow, and an export that cannot be read leaves the others' rows pointing at
//! their own files.
mod common;

use tallyseal::invoice;

const TOML: &str = r#"[agency]
name = "Rules Agency"

[invoice]
number_format = "R-{seq:03}"

[[source]]
name = "plat"
files = "exports/plat*.csv"
kind = "platform"
[source.columns]
campaign = "Campaign"
date = "Day"
impressions = "Impressions"
clicks = "Clicks"
conversions = "Conversions"
spend = "Cost"
currency = "Currency"

[[source]]
name = "adsrv"
files = "exports/adsrv*.csv"
kind = "ad_server"
[source.columns]
campaign = "Campaign"
date = "Day"
impressions = "Impressions"
clicks = "Clicks"
conversions = "Conversions"
"#;

const CLIENTS: &str = "client_id,name,country,currency,tax_treatment,tax_rate,tax_id,payment_terms_days\n\
gb,GB Ltd,GB,GBP,standard,20,,30\n\
us,US Inc,US,USD,exempt,,,45\n";

const H: &str = "Campaign,Day,Impressions,Clicks,Conversions,Cost,Currency\n";

fn setup(contracts: &str) -> common::Fixture {
    let fixture = common::Fixture {
        dir: tempfile::tempdir().unwrap(),
    };
    fixture
        .write("tallyseal.toml", TOML)
        .write("clients.csv", CLIENTS)
        .write("contracts.csv", format!("line_id,client_id,campaign,description,model,rate,currency,budget,start,end,basis\n{contracts}"))
        .write("crosswalk.csv", "source,source_campaign_id,campaign\nplat,p1,c1\nadsrv,a1,c1\nplat,p2,c2\nadsrv,a2,c2\n");
    std::fs::create_dir_all(fixture.file("periods/2026-10")).unwrap();
    fixture
}

fn invoice_json(fixture: &common::Fixture, client: &str) -> Result<String, String> {
    let loaded = fixture
        .load()
        .map_err(|e| format!("load: {:#?}", e.problems.errors))?;
    let books = invoice::bill(&loaded.project).map_err(|e| format!("bill: {e}"))?;
    let inv = books
        .into_iter()
        .flat_map(|b| b.invoices)
        .find(|i| i.client_id == client)
        .ok_or("no invoice")?;
    Ok(String::from_utf8(tallyseal::render::json::invoice(&inv)).unwrap())
}

#[test]
fn an_identical_duplicate_with_more_decimals_leaves_the_quantity_as_written() {
    let f = setup("l1,us,c1,Leads,cpa,2,USD,,2026-10-01,2026-10-31,platform\n");
    f.write(
        "periods/2026-10/exports/plat_a.csv",
        format!("{H}p1,2026-10-02,,,5,,\np1,2026-10-02,,,5.000,,\n"),
    );
    let json = invoice_json(&f, "us").unwrap();
    assert!(json.contains(r#""quantity": "5","#), "{json}");
}

#[test]
fn a_sum_that_overflows_only_with_its_duplicate_is_billed() {
    let f = setup("l1,us,c1,Leads,cpa,1,USD,,2026-10-01,2026-10-31,platform\n");
    let big = "50000000000000000000000000000";
    for file in ["plat_a.csv", "plat_b.csv"] {
        let path = format!("periods/2026-10/exports/{file}");
        f.write(&path, format!("{H}p1,2026-10-02,,,{big},,\n"));
    }
    let json = invoice_json(&f, "us").unwrap();
    assert!(json.contains(&format!(r#""quantity": "{big}","#)), "{json}");
}

#[cfg(unix)]
#[test]
fn an_export_that_cannot_be_read_leaves_the_others_rows_in_their_own_files() {
    let f = setup("l1,us,c1,Leads,cpa,2,USD,,2026-10-01,2026-10-31,platform\n");
    std::fs::create_dir_all(f.file("periods/2026-10/exports")).unwrap();
    let missing = f.file("periods/2026-10/exports/plat_a.csv");
    std::os::unix::fs::symlink("/nonexistent/file.csv", missing).unwrap();
    f.write(
        "periods/2026-10/exports/plat_b.csv",
        format!("{H}p1,2026-10-02,,,5,,\np1,2026-10-02,,,5,,\n"),
    );
    f.write(
        "periods/2026-10/exports/plat_c.csv",
        format!("{H}p2,2026-10-03,,,1,,\np2,2026-10-04,,,7,,\np2,2026-10-04,,,7,,\n"),
    );
    // No panic, no duplicate read from another file: only the file that cannot be read.
    let errors = f.errors();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(errors[0].contains("plat_a.csv"), "{errors:#?}");
}
