//! One broken fixture per error class of the spec's inputs.md: each asserts that the
//! message names the right file, line and (where it applies) column, and says what was
//! expected and what was found.

mod common;

use common::*;

const EXPORT: &str = "periods/2026-10/exports/plat_oct.csv";

fn assert_has(errors: &[String], expected: &[&str]) {
    assert!(
        errors
            .iter()
            .any(|e| expected.iter().all(|part| e.contains(part))),
        "no error contains all of {expected:?}; errors: {errors:#?}"
    );
}

#[test]
fn conflicting_duplicate_rows_name_both_positions() {
    let fixture = Fixture::valid();
    fixture.write(EXPORT, format!("{PLAT}111,2026-10-02,1250,12,6.00,GBP\n"));
    let error = fixture.error();
    assert!(
        error.starts_with(&format!("{EXPORT}:5: conflicting duplicate")),
        "{error}"
    );
    assert!(
        error.contains(&format!("{EXPORT}:3")),
        "names the first row: {error}"
    );
}

#[test]
fn conflicting_duplicates_across_two_files_of_a_source() {
    let fixture = Fixture::valid();
    fixture.period(
        "exports/plat_oct_restated.csv",
        "Campaign,Day,Impressions,Clicks,Cost,Currency\n111,2026-10-01,1001,10,5.00,GBP\n",
    );
    let error = fixture.error();
    assert!(
        error.starts_with("periods/2026-10/exports/plat_oct_restated.csv:2: conflicting duplicate"),
        "{error}"
    );
    assert!(error.contains(&format!("{EXPORT}:2")), "{error}");
}

#[test]
fn identical_duplicates_are_not_errors() {
    let fixture = Fixture::valid();
    fixture.write(EXPORT, format!("{PLAT}111,2026-10-02,1200,12,6.00,GBP\n"));
    assert!(fixture.load().is_ok());
}

#[test]
fn a_row_dated_outside_its_period_folder() {
    let fixture = Fixture::valid();
    fixture.write(EXPORT, PLAT.replace("111,2026-10-02", "111,2026-11-02"));
    assert_eq!(
        fixture.error(),
        format!(
            "{EXPORT}:3:2 (column `Day`): expected a date in 2026-10 (the period folder it is in), found \"2026-11-02\""
        )
    );
}

#[test]
fn negative_metrics() {
    let fixture = Fixture::valid();
    fixture.write(EXPORT, PLAT.replace("1200,12", "-1200,12"));
    assert_eq!(
        fixture.error(),
        format!(
            "{EXPORT}:3:3 (column `Impressions`): expected a whole number of 0 or more, found \"-1200\""
        )
    );
    fixture.write(EXPORT, PLAT.replace("6.00,GBP", "-6.00,GBP"));
    assert!(
        fixture
            .error()
            .starts_with(&format!("{EXPORT}:3:5 (column `Cost`)"))
    );
}

#[test]
fn fractional_impressions_and_bad_numbers() {
    let fixture = Fixture::valid();
    fixture.write(
        EXPORT,
        PLAT.replace("1200,12", "1200.5,12")
            .replace("1000,10", "1000,ten"),
    );
    let errors = fixture.errors();
    assert_has(
        &errors,
        &[&format!("{EXPORT}:3:3"), "whole number", "1200.5"],
    );
    assert_has(
        &errors,
        &[&format!("{EXPORT}:2:4 (column `Clicks`)"), "\"ten\""],
    );
}

#[test]
fn impressions_beyond_what_a_row_holds() {
    let fixture = Fixture::valid();
    fixture.write(EXPORT, PLAT.replace("1200,12", "18446744073709551616,12"));
    assert_eq!(
        fixture.error(),
        format!(
            "{EXPORT}:3:3 (column `Impressions`): expected a whole number of at most 18446744073709551615, found \"18446744073709551616\""
        )
    );
    // The largest that fits is read.
    fixture.write(EXPORT, PLAT.replace("1200,12", "18446744073709551615,12"));
    assert!(fixture.load().is_ok());
}

#[test]
fn more_sources_than_a_row_numbers() {
    // A delivery row numbers its source in 16 bits: 65,536 sources at most.
    let fixture = Fixture::valid();
    let mut toml = TOML.to_owned();
    for i in 0..65_535 {
        toml.push_str(&format!(
            "\n[[source]]\nname = \"s{i}\"\nfiles = \"exports/s{i}-*.csv\"\nkind = \"platform\"\n[source.columns]\ncampaign = \"Campaign\"\ndate = \"Day\"\n"
        ));
    }
    fixture.write("tallyseal.toml", &toml);
    let errors = fixture.errors();
    assert_eq!(errors.len(), 1, "{:?}", &errors[..errors.len().min(3)]);
    assert_has(
        &errors,
        &[
            "tallyseal.toml:",
            "at most 65,536 [[source]] tables",
            "\"s65534\"",
        ],
    );
}

#[test]
fn unknown_currencies() {
    let fixture = Fixture::valid();
    fixture.write(EXPORT, PLAT.replace("6.00,GBP", "6.00,GPB"));
    assert_eq!(
        fixture.error(),
        format!(
            "{EXPORT}:3:6 (column `Currency`): expected an ISO 4217 currency code such as EUR, found \"GPB\""
        )
    );
    let fixture = Fixture::valid();
    fixture.write("clients.csv", CLIENTS.replace("DE,EUR", "DE,EURO"));
    // The client is not loaded, so its lines' references fail too: the first error is the cause.
    assert_eq!(
        fixture.errors()[0],
        "clients.csv:4:4 (column `currency`): expected an ISO 4217 currency code such as EUR, found \"EURO\""
    );
    let fixture = Fixture::valid();
    fixture.period(
        "fx.csv",
        "as_of,from,to,rate,source\n2026-10-31,XXX,GBP,1.1,ECB\n",
    );
    assert!(
        fixture
            .error()
            .starts_with("periods/2026-10/fx.csv:2:2 (column `from`)")
    );
}

#[test]
fn spend_without_a_currency() {
    let fixture = Fixture::valid();
    fixture.write(EXPORT, PLAT.replace("6.00,GBP", "6.00,"));
    assert!(fixture.error().starts_with(&format!(
        "{EXPORT}:3:5 (column `Cost`): expected spend with a currency"
    )));
}

#[test]
fn amounts_with_more_decimals_than_the_currency_has() {
    let fixture = Fixture::valid();
    fixture.write(
        "contracts.csv",
        CONTRACTS.replace("GBP,10000", "GBP,10000.555"),
    );
    assert_eq!(
        fixture.error(),
        "contracts.csv:2:8 (column `budget`): expected an amount in GBP with at most 2 decimals, found \"10000.555\""
    );
    let fixture = Fixture::valid();
    fixture.period(
        "payments.csv",
        "payment_id,client_id,received_on,amount,currency\nPAY-1,kobe,2026-10-03,1500.5,JPY\n",
    );
    assert_eq!(
        fixture.error(),
        "periods/2026-10/payments.csv:2:4 (column `amount`): expected an amount in JPY with at most 0 decimals, found \"1500.5\""
    );
    // Trailing zeros are not decimals of value.
    fixture.period(
        "payments.csv",
        "payment_id,client_id,received_on,amount,currency\nPAY-1,kobe,2026-10-03,1500.00,JPY\n",
    );
    assert!(fixture.load().is_ok());
}

#[test]
fn unresolved_references() {
    let fixture = Fixture::valid();
    fixture.write(
        "contracts.csv",
        format!("{CONTRACTS}x-1,nobody,,Thing,flat,1,EUR,,2026-10-01,2026-10-31,\n"),
    );
    assert_eq!(
        fixture.error(),
        "contracts.csv:7:2 (column `client_id`): client_id `nobody` does not exist in clients.csv"
    );

    let fixture = Fixture::valid();
    fixture.period(
        "timesheets.csv",
        "line_id,date,person,hours\nno-such-line,2026-10-02,Sam,2\n",
    );
    assert_eq!(
        fixture.error(),
        "periods/2026-10/timesheets.csv:2:1 (column `line_id`): line_id `no-such-line` does not exist in contracts.csv"
    );

    let fixture = Fixture::valid();
    fixture.write(
        "crosswalk.csv",
        format!("{CROSSWALK}gogle,123,acme-spring\n"),
    );
    assert!(
        fixture
            .error()
            .starts_with("crosswalk.csv:5:1 (column `source`): source `gogle` does not exist")
    );

    let fixture = Fixture::valid();
    fixture.period("notes/ghost.md", "hello");
    assert!(
        fixture
            .error()
            .starts_with("periods/2026-10/notes/ghost.md: client_id `ghost` does not exist")
    );

    let fixture = Fixture::valid();
    fixture.period(
        "checklist.csv",
        "client_id,step,status\nghost,IO signed,done\n",
    );
    assert!(
        fixture.error().starts_with(
            "periods/2026-10/checklist.csv:2:1 (column `client_id`): client_id `ghost`"
        )
    );

    let fixture = Fixture::valid();
    fixture.period(
        "variances.csv",
        "client_id,line_id,cause,explanation\nacme,beta-flat,other,Because\n",
    );
    assert_eq!(
        fixture.error(),
        "periods/2026-10/variances.csv:2:2 (column `line_id`): expected a line of client acme, found \"beta-flat (a line of client beta)\""
    );

    let fixture = Fixture::valid();
    fixture.period(
        "milestones.csv",
        "line_id,milestone_id,description,amount\nbeta-flat,M1,Launch,100\n",
    );
    assert!(
        fixture
            .error()
            .contains("expected a milestone line, found \"beta-flat (a flat line)\"")
    );
}

#[test]
fn campaigns_shared_across_clients() {
    let fixture = Fixture::valid();
    fixture.write(
        "contracts.csv",
        format!("{CONTRACTS}beta-steal,beta,acme-spring,Oops,cpm,1,EUR,,2026-10-01,2026-10-31,\n"),
    );
    assert_eq!(
        fixture.error(),
        "contracts.csv:7:3 (column `campaign`): campaign `acme-spring` already belongs to client `acme` (contracts.csv:2); lines of two clients may not share a campaign"
    );
    // Two lines of one client may share a campaign.
    fixture.write(
        "contracts.csv",
        format!(
            "{CONTRACTS}acme-fee,acme,acme-spring,Fee,media_pct,10,GBP,,2026-10-01,2026-10-31,\n"
        ),
    );
    assert!(fixture.load().is_ok());
}

fn adjustment_with_evidence(evidence: &str) -> String {
    format!(
        "adjustment_id,client_id,kind,amount,currency,reason,requested_by,evidence\nADJ-1,acme,credit,10.00,GBP,other,ann,{evidence}\n"
    )
}

#[test]
fn evidence_paths_stay_inside_attachments() {
    let fixture = Fixture::valid();
    fixture
        .period("attachments/ok.png", "png")
        .period("secret.txt", "outside");
    for bad in [
        "../secret.txt",
        "/etc/passwd",
        "sub/../../secret.txt",
        "http://example.com/x",
        "C:/x.png",
        "ftp://x",
    ] {
        fixture.period("adjustments.csv", adjustment_with_evidence(bad));
        let error = fixture.error();
        assert!(
            error.starts_with("periods/2026-10/adjustments.csv:2:8 (column `evidence`): expected a path inside the period's attachments/ folder, or an https:// URL"),
            "{bad}: {error}"
        );
    }
    fixture.period("adjustments.csv", adjustment_with_evidence("missing.png"));
    assert_eq!(
        fixture.error(),
        "periods/2026-10/adjustments.csv:2:8 (column `evidence`): attachment `periods/2026-10/attachments/missing.png` does not exist"
    );
    fixture.period("adjustments.csv", adjustment_with_evidence("ok.png"));
    assert!(fixture.load().is_ok());
}

#[cfg(unix)]
#[test]
fn evidence_symlinks_leading_out_of_attachments() {
    let fixture = Fixture::valid();
    fixture
        .period("attachments/.keep", "")
        .write("outside.txt", "secret");
    std::os::unix::fs::symlink(
        fixture.file("outside.txt"),
        fixture.file("periods/2026-10/attachments/link.txt"),
    )
    .unwrap();
    fixture.period("adjustments.csv", adjustment_with_evidence("link.txt"));
    assert!(fixture.error().contains("nor a link leading out of it"));
}

#[test]
fn an_export_matching_no_source_or_two() {
    let fixture = Fixture::valid();
    fixture.period("exports/tiktok_oct.csv", "a,b\n");
    assert_eq!(
        fixture.error(),
        "periods/2026-10/exports/tiktok_oct.csv: matches no [[source]] glob (plat = \"exports/plat*.csv\", adsrv = \"exports/adsrv*.csv\")"
    );
    let fixture = Fixture::valid();
    fixture.write(
        "tallyseal.toml",
        TOML.replace("exports/adsrv*.csv", "exports/*.csv"),
    );
    assert_has(
        &fixture.errors(),
        &[EXPORT, "matches the globs of several sources (plat, adsrv)"],
    );
}

#[test]
fn missing_required_columns() {
    let fixture = Fixture::valid();
    fixture.write("clients.csv", CLIENTS.replace(",currency,", ",money,"));
    assert_eq!(
        fixture.errors()[0],
        "clients.csv:1: missing required column `currency`"
    );
    let fixture = Fixture::valid();
    fixture.write(EXPORT, PLAT.replace("Impressions", "Impr."));
    assert_eq!(
        fixture.error(),
        format!("{EXPORT}:1: missing required column `Impressions` (mapped by [[source]] `plat`)")
    );
    let fixture = Fixture::valid();
    fixture.period("payments.csv", "payment_id,client_id,amount,currency\n");
    assert_eq!(
        fixture.error(),
        "periods/2026-10/payments.csv:1: missing required column `received_on`"
    );
}

#[test]
fn a_column_named_twice() {
    let fixture = Fixture::valid();
    fixture.write(EXPORT, PLAT.replace("Cost,Currency", "Day,Currency"));
    let errors = fixture.errors();
    assert_has(
        &errors,
        &[
            &format!("{EXPORT}:1:5"),
            "column `Day` appears twice in the header (columns 2 and 5)",
        ],
    );
}

#[test]
fn conflicting_fx_rows() {
    let fixture = Fixture::valid();
    fixture.period("fx.csv", "as_of,from,to,rate,source\n2026-10-31,EUR,GBP,0.87,ECB\n2026-10-30,EUR,GBP,0.86,ECB\n2026-10-31,EUR,GBP,0.88,Bank\n");
    assert_eq!(
        fixture.error(),
        "periods/2026-10/fx.csv:4:4 (column `rate`): conflicting rate for EUR->GBP as of 2026-10-31: 0.88 here, 0.87 at periods/2026-10/fx.csv:2"
    );
}

#[test]
fn unknown_toml_keys() {
    let fixture = Fixture::valid();
    fixture.write(
        "tallyseal.toml",
        TOML.replace("[invoice]\n", "[invoice]\nroundng = \"half_even\"\n"),
    );
    let error = fixture.error();
    assert!(
        error.starts_with("tallyseal.toml:6:1: unknown field `roundng`"),
        "{error}"
    );
    fixture.write(
        "tallyseal.toml",
        TOML.replace(
            "kind = \"ad_server\"",
            "kind = \"ad_server\"\nfooter = \"Total\"",
        ),
    );
    assert!(fixture.error().contains("unknown field `footer`"));
}

#[test]
fn invalid_toml_values() {
    let fixture = Fixture::valid();
    fixture.write("tallyseal.toml", TOML.replace("T-{seq:04}", "T-{year}"));
    assert_eq!(
        fixture.error(),
        "tallyseal.toml:6:17: expected a number_format containing {seq} (or numbers would repeat), found \"T-{year}\""
    );
    fixture.write(
        "tallyseal.toml",
        TOML.replace("[invoice]\n", "[invoice]\nrounding = \"up\"\n"),
    );
    let error = fixture.error();
    assert!(
        error.starts_with(
            "tallyseal.toml:6:12: unknown variant `up`, expected `half_up` or `half_even`"
        ),
        "{error}"
    );
}

#[test]
fn missing_files() {
    let fixture = Fixture::valid();
    fixture.remove("contracts.csv");
    assert_eq!(fixture.error(), "contracts.csv: required file is missing");
    let fixture = Fixture::valid();
    fixture.remove("tallyseal.toml");
    assert_eq!(
        fixture.errors()[0],
        "tallyseal.toml: required file is missing"
    );
}

#[test]
fn empty_and_truncated_files() {
    let fixture = Fixture::valid();
    fixture.write("clients.csv", "");
    assert!(fixture.errors()[0].starts_with(
        "clients.csv: the file is empty: expected a header row with columns client_id, name"
    ));
    let fixture = Fixture::valid();
    fixture.write(EXPORT, "");
    assert_eq!(
        fixture.error(),
        format!(
            "{EXPORT}: the file is empty: expected a header row after 0 preamble line(s), then a header row"
        )
    );
    // Truncated mid-row: the last row has too few fields.
    let fixture = Fixture::valid();
    fixture.write(EXPORT, &PLAT[..PLAT.len() - 12]);
    assert_eq!(
        fixture.error(),
        format!("{EXPORT}:4: expected 6 fields as in the header, found 4")
    );
    // Truncated inside a quoted field.
    let fixture = Fixture::valid();
    fixture.write(EXPORT, format!("{PLAT}\"111,2026-10-03"));
    assert!(
        fixture
            .error()
            .starts_with(&format!("{EXPORT}:5: expected 6 fields"))
    );
}

#[test]
fn malformed_rows_in_project_files() {
    let fixture = Fixture::valid();
    fixture.write("crosswalk.csv", format!("{CROSSWALK}plat,333\n"));
    assert_eq!(
        fixture.error(),
        "crosswalk.csv:5: expected 3 fields as in the header, found 2"
    );
}

#[test]
fn bytes_that_are_not_utf8() {
    let fixture = Fixture::valid();
    let mut bytes = CLIENTS.as_bytes().to_vec();
    let at = CLIENTS.find("Acme Ltd").unwrap();
    bytes[at] = 0xff;
    fixture.write("clients.csv", bytes);
    assert_eq!(
        fixture.errors()[0],
        "clients.csv:2:2 (column `name`): expected UTF-8 text, found bytes that are not UTF-8"
    );
    let fixture = Fixture::valid();
    let mut bytes = PLAT.as_bytes().to_vec();
    let at = PLAT.find("111,2026-10-02").unwrap();
    bytes[at] = 0xc3;
    fixture.write(EXPORT, bytes);
    assert_eq!(
        fixture.error(),
        format!(
            "{EXPORT}:3:1 (column `Campaign`): expected UTF-8 text, found bytes that are not UTF-8"
        )
    );
    let fixture = Fixture::valid();
    fixture.period("notes/acme.md", [b'#', 0xff]);
    assert_eq!(
        fixture.error(),
        "periods/2026-10/notes/acme.md: expected UTF-8 text, found bytes that are not UTF-8"
    );
}

#[test]
fn a_bom_is_accepted() {
    let fixture = Fixture::valid();
    fixture.write("clients.csv", format!("\u{feff}{CLIENTS}"));
    fixture.write(EXPORT, format!("\u{feff}{PLAT}"));
    assert!(fixture.load().is_ok());
}

#[test]
fn duplicate_identifiers() {
    let fixture = Fixture::valid();
    fixture.write(
        "clients.csv",
        format!("{CLIENTS}acme,Acme Again,GB,GBP,exempt,,,30,\n"),
    );
    assert_eq!(
        fixture.error(),
        "clients.csv:6:1 (column `client_id`): client_id `acme` is already defined at clients.csv:2"
    );
    let fixture = Fixture::valid();
    fixture.write(
        "contracts.csv",
        format!("{CONTRACTS}beta-ms,beta,,Again,milestone,,EUR,,2026-10-01,2026-12-31,\n"),
    );
    assert_eq!(
        fixture.error(),
        "contracts.csv:7:1 (column `line_id`): line_id `beta-ms` is already defined at contracts.csv:4"
    );
    let fixture = Fixture::valid();
    fixture.write(
        "crosswalk.csv",
        format!("{CROSSWALK}plat,111,kobe-search\n"),
    );
    assert!(fixture.error().starts_with("crosswalk.csv:5:2 (column `source_campaign_id`): (source, source_campaign_id) `plat/111` is already defined at crosswalk.csv:2"));
}

#[test]
fn change_and_payment_ids_are_unique_across_periods() {
    let fixture = Fixture::valid();
    let co = "change_id,line_id,effective_from,rate,requested_by\nCO-1,acme-cpm,2026-10-10,5,ann\n";
    fixture
        .period("change_orders.csv", co)
        .write("periods/2026-11/change_orders.csv", co);
    assert_eq!(
        fixture.error(),
        "periods/2026-11/change_orders.csv:2: change_id `CO-1` is already defined at periods/2026-10/change_orders.csv:2"
    );
    let fixture = Fixture::valid();
    let pay = "payment_id,client_id,received_on,amount,currency\nPAY-1,acme,2026-10-10,5.00,GBP\n";
    fixture
        .period("payments.csv", pay)
        .write("periods/2026-11/payments.csv", pay);
    assert_eq!(
        fixture.error(),
        "periods/2026-11/payments.csv:2: payment_id `PAY-1` is already defined at periods/2026-10/payments.csv:2"
    );
}

#[test]
fn period_rules_of_payments_timesheets_and_adjustments() {
    let fixture = Fixture::valid();
    fixture.period(
        "payments.csv",
        "payment_id,client_id,received_on,amount,currency\nPAY-1,acme,2026-11-01,5.00,GBP\n",
    );
    assert!(fixture.error().starts_with("periods/2026-10/payments.csv:2:3 (column `received_on`): expected a date on or before 2026-10-31"));
    fixture.period(
        "payments.csv",
        "payment_id,client_id,received_on,amount,currency\nPAY-1,acme,2026-10-01,5.00,EUR\n",
    );
    assert_eq!(
        fixture.error(),
        "periods/2026-10/payments.csv:2:5 (column `currency`): expected GBP, the client's invoice currency, found \"EUR\""
    );
    let fixture = Fixture::valid();
    fixture.period(
        "timesheets.csv",
        "line_id,date,person,hours\nbeta-hours,2026-09-30,Sam,2\nbeta-hours,2026-10-02,Sam,0\n",
    );
    let errors = fixture.errors();
    assert_has(
        &errors,
        &["timesheets.csv:2:2 (column `date`)", "a date in 2026-10"],
    );
    assert_has(&errors, &["timesheets.csv:3:4 (column `hours`)", "above 0"]);
    let fixture = Fixture::valid();
    fixture.period("adjustments.csv", "adjustment_id,client_id,kind,amount,currency,reason,requested_by\nADJ-1,acme,refund,10.00,GBP,oops,\n");
    let errors = fixture.errors();
    assert_has(
        &errors,
        &[
            "adjustments.csv:2:3 (column `kind`)",
            "one of credit, make_good, fee",
            "\"refund\"",
        ],
    );
    assert_has(
        &errors,
        &[
            "adjustments.csv:2:6 (column `reason`)",
            "tracking_outage",
            "\"oops\"",
        ],
    );
    assert_has(
        &errors,
        &[
            "adjustments.csv:2:7 (column `requested_by`)",
            "expected a value, found \"\"",
        ],
    );
}

#[test]
fn tax_rules_of_clients() {
    let fixture = Fixture::valid();
    fixture.write(
        "clients.csv",
        CLIENTS.replace("reverse_charge,,DE123456789", "reverse_charge,,"),
    );
    assert_eq!(
        fixture.errors()[0],
        "clients.csv:4:7 (column `tax_id`): expected the client's VAT registration, required for reverse_charge, found \"\""
    );
    fixture.write("clients.csv", CLIENTS.replace("standard,20", "standard,"));
    assert!(
        fixture.errors()[0].starts_with("clients.csv:2:6 (column `tax_rate`): expected a tax rate")
    );
}

#[test]
fn contract_rules() {
    let fixture = Fixture::valid();
    fixture.write(
        "contracts.csv",
        CONTRACTS.replace(
            "Spring display,cpm,4.50,GBP,10000,2026-10-01,2026-10-31",
            "Spring display,cpm,4.50,GBP,10000,2026-10-31,2026-10-01",
        ),
    );
    assert_eq!(
        fixture.error(),
        "contracts.csv:2:10 (column `end`): expected an end on or after the start 2026-10-31, found \"2026-10-01\""
    );
    fixture.write(
        "contracts.csv",
        CONTRACTS.replace("kobe-cpc,kobe,kobe-search", "kobe-cpc,kobe,"),
    );
    assert!(fixture.error().starts_with(
        "contracts.csv:6:3 (column `campaign`): expected a campaign key, required for cpc lines"
    ));
    fixture.write("contracts.csv", CONTRACTS.replace("acme-cpm,", "acme cpm,"));
    assert!(
        fixture
            .error()
            .starts_with("contracts.csv:2:1 (column `line_id`): expected an identifier")
    );
    fixture.write("contracts.csv", CONTRACTS.replace(",cpm,", ",cpv,"));
    assert!(fixture.error().contains(
        "expected one of cpm, cpc, cpa, media_pct, flat, hourly, milestone, found \"cpv\""
    ));
}

#[test]
fn misnamed_period_folders() {
    let fixture = Fixture::valid();
    fixture.write("periods/2026-13/fx.csv", "as_of,from,to,rate,source\n");
    assert_eq!(
        fixture.error(),
        "periods/2026-13: expected a period folder named YYYY-MM, found \"2026-13\""
    );
}

#[test]
fn every_error_of_a_run_is_reported() {
    let fixture = Fixture::valid();
    fixture.write(
        "clients.csv",
        CLIENTS
            .replace("GB,GBP", "GB,XXX")
            .replace("DE,EUR", "DE,YYY"),
    );
    fixture.write(
        EXPORT,
        PLAT.replace("1000,10", "-1,10").replace("1200,12", "-2,12"),
    );
    let errors = fixture.errors();
    assert!(errors.len() >= 4, "{errors:#?}");
    assert_has(&errors, &["clients.csv:2:4"]);
    assert_has(&errors, &["clients.csv:4:4"]);
    assert_has(&errors, &[&format!("{EXPORT}:2:3")]);
    assert_has(&errors, &[&format!("{EXPORT}:3:3")]);
}

#[test]
fn errors_past_the_limit_are_counted() {
    let fixture = Fixture::valid();
    let mut export = String::from("Campaign,Day,Impressions,Clicks,Cost,Currency\n");
    for day in 0..300 {
        export.push_str(&format!("c{day},2026-10-01,-1,0,0,GBP\n"));
    }
    fixture.write(EXPORT, export);
    let problems = fixture.load().unwrap_err().problems;
    assert_eq!(problems.errors.len(), tallyseal::error::ERROR_LIMIT);
    assert_eq!(problems.error_count(), 300);
}
