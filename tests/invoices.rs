//! Worked examples of rules.md §1–§8: each test sets up a tiny project, bills it, and
//! checks the numbers against the hand arithmetic in its comment.

mod common;

use rust_decimal::Decimal;
use std::str::FromStr;
use tallyseal::invoice::{self, DocumentType, Invoice, PeriodBooks};

const TOML: &str = r#"[agency]
name = "Rules Agency"

[invoice]
number_format = "R-{seq:03}"
ROUNDING

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
de,DE GmbH,DE,EUR,reverse_charge,,DE1,14\n\
us,US Inc,US,USD,exempt,,,45\n\
jp,JP KK,JP,JPY,standard,10,,30\n\
bh,BH WLL,BH,BHD,standard,10,,30\n";

const PLAT_HEADER: &str = "Campaign,Day,Impressions,Clicks,Conversions,Cost,Currency\n";
const ADSRV_HEADER: &str = "Campaign,Day,Impressions,Clicks,Conversions\n";

fn d(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

struct Setup {
    fixture: common::Fixture,
}

impl Setup {
    fn new(contracts: &str) -> Setup {
        Setup::with_rounding(contracts, "")
    }

    fn with_rounding(contracts: &str, rounding: &str) -> Setup {
        let fixture = common::Fixture {
            dir: tempfile::tempdir().unwrap(),
        };
        fixture
            .write("tallyseal.toml", TOML.replace("ROUNDING", rounding))
            .write("clients.csv", CLIENTS)
            .write("contracts.csv", format!("line_id,client_id,campaign,description,model,rate,currency,budget,start,end,basis\n{contracts}"))
            .write("crosswalk.csv", "source,source_campaign_id,campaign\nplat,p1,c1\nadsrv,a1,c1\nplat,p2,c2\nadsrv,a2,c2\n");
        std::fs::create_dir_all(fixture.file("periods/2026-10")).unwrap();
        Setup { fixture }
    }

    fn file(&self, path: &str, contents: &str) -> &Self {
        self.fixture.write(path, contents);
        self
    }

    fn books(&self) -> Vec<PeriodBooks> {
        let loaded = self
            .fixture
            .load()
            .unwrap_or_else(|e| panic!("{:#?}", e.problems.errors));
        invoice::bill(&loaded.project).unwrap()
    }

    fn invoice(&self, period: &str, client: &str) -> Invoice {
        self.books()
            .into_iter()
            .find(|b| b.period.to_string() == period)
            .and_then(|b| b.invoices.into_iter().find(|i| i.client_id == client))
            .unwrap_or_else(|| panic!("no invoice for {client} in {period}"))
    }
}

/// Rows of one campaign, one per day from `first` to `last` of October 2026.
fn daily(campaign: &str, first: u32, last: u32, row: impl Fn(u32) -> String) -> String {
    (first..=last)
        .map(|day| format!("{campaign},2026-10-{day:02},{}\n", row(day)))
        .collect()
}

#[test]
fn rounding_modes_on_midpoints() {
    // cpc at 0.125 GBP, 1 click: gross 0.125 -> half_up 0.13, half_even 0.12.
    let contracts = "l1,gb,c1,Search,cpc,0.125,GBP,,2026-10-01,2026-10-31,platform\n";
    let export = format!("{PLAT_HEADER}p1,2026-10-05,,1,,,\n");
    let up = Setup::new(contracts);
    up.file("periods/2026-10/exports/plat.csv", &export);
    assert_eq!(up.invoice("2026-10", "gb").lines[0].cap.gross, d("0.13"));
    let even = Setup::with_rounding(contracts, "rounding = \"half_even\"");
    even.file("periods/2026-10/exports/plat.csv", &export);
    let invoice = even.invoice("2026-10", "gb");
    assert_eq!(invoice.lines[0].cap.gross, d("0.12"));
    assert_eq!(invoice.lines[0].gross_exact, d("0.125"));
    // Tax 20% of 0.12 = 0.024 -> 0.02.
    assert_eq!((invoice.tax, invoice.total), (d("0.02"), d("0.14")));
}

#[test]
fn rounding_to_jpy_and_bhd_minor_units() {
    // JPY: 5 clicks x 0.5 = 2.5 -> half_up 3 yen; tax 10% of 3 = 0.3 -> 0.
    // BHD: 5 clicks x 0.0005 = 0.0025 -> half_up 0.003; tax 0.0003 -> 0.000.
    let contracts = "lj,jp,c1,Yen line,cpc,0.5,JPY,,2026-10-01,2026-10-31,platform\n\
                     lb,bh,c2,Dinar line,cpc,0.0005,BHD,,2026-10-01,2026-10-31,platform\n";
    let setup = Setup::new(contracts);
    setup.file(
        "periods/2026-10/exports/plat.csv",
        &format!("{PLAT_HEADER}p1,2026-10-05,,5,,,\np2,2026-10-05,,5,,,\n"),
    );
    let jp = setup.invoice("2026-10", "jp");
    assert_eq!(
        (jp.lines[0].cap.gross, jp.tax, jp.total),
        (d("3"), d("0"), d("3"))
    );
    let bh = setup.invoice("2026-10", "bh");
    assert_eq!((bh.lines[0].cap.gross, bh.total), (d("0.003"), d("0.003")));
    let json = String::from_utf8(tallyseal::render::json::invoice(&bh)).unwrap();
    assert!(
        json.contains("\"gross\": \"0.003\"") && json.contains("\"tax\": \"0.000\""),
        "{json}"
    );
    let json = String::from_utf8(tallyseal::render::json::invoice(&jp)).unwrap();
    assert!(json.contains("\"total\": \"3\""), "{json}");
}

#[test]
fn cpm_bills_basis_units_of_the_ad_server_by_default() {
    // Ad server 1,000 impressions a day for 10 days, platform 1,200: basis = ad server.
    // 10,000 x 4.50 / 1000 = 45.00 GBP.
    let setup = Setup::new("l1,gb,c1,Display,cpm,4.50,GBP,,2026-10-01,2026-10-10,\n");
    setup
        .file(
            "periods/2026-10/exports/adsrv.csv",
            &format!("{ADSRV_HEADER}{}", daily("a1", 1, 10, |_| "1000,,".into())),
        )
        .file(
            "periods/2026-10/exports/plat.csv",
            &format!("{PLAT_HEADER}{}", daily("p1", 1, 10, |_| "1200,,,,".into())),
        );
    let invoice = setup.invoice("2026-10", "gb");
    let line = &invoice.lines[0];
    assert_eq!(
        (line.quantity, line.cap.gross, line.net),
        (d("10000"), d("45.00"), d("45.00"))
    );
    assert_eq!(line.days[0].units.other, Some(d("1200")));
    // 45.00 + 20% tax 9.00 = 54.00.
    assert_eq!(
        (invoice.subtotal, invoice.tax, invoice.total),
        (d("45.00"), d("9.00"), d("54.00"))
    );
    assert!(line.segments.len() == 1 && !line.has_segments());
}

#[test]
fn out_of_flight_rows_are_not_billed() {
    // Flight 10-01..10-10; rows on 10-11..10-12 are out of flight: 10 x 100 x 2 / 1000 = 2.00.
    let setup = Setup::new("l1,gb,c1,Display,cpm,2,GBP,,2026-10-01,2026-10-10,\n");
    setup.file(
        "periods/2026-10/exports/adsrv.csv",
        &format!("{ADSRV_HEADER}{}", daily("a1", 1, 12, |_| "100,,".into())),
    );
    let line = &setup.invoice("2026-10", "gb").lines[0];
    assert_eq!((line.quantity, line.cap.gross), (d("1000"), d("2.00")));
    assert_eq!(line.rows.len(), 10);
    let books = setup.books();
    let rows = &setup.fixture.load().unwrap().project.periods[0].rows;
    let dates: Vec<String> = books[0]
        .out_of_flight
        .iter()
        .map(|i| rows[*i].date.to_string())
        .collect();
    assert_eq!(dates, ["2026-10-11", "2026-10-12"]);
    assert_eq!(
        books[0].invoices[0].lines[0].out_of_flight,
        books[0].out_of_flight
    );
}

#[test]
fn a_change_order_mid_period_makes_segments() {
    // Rate 4 until 10-15, 5 from 10-16 (CO-1, approved). 1,000 impressions a day:
    // 10-01..10-15: 15,000 x 4 / 1000 = 60; 10-16..10-31: 16,000 x 5 / 1000 = 80.
    // Gross 140.00; unit price = the rate on the flight's last day, 5.
    let setup = Setup::new("l1,gb,c1,Display,cpm,4,GBP,,2026-10-01,2026-10-31,\n");
    setup
        .file(
            "periods/2026-10/exports/adsrv.csv",
            &format!("{ADSRV_HEADER}{}", daily("a1", 1, 31, |_| "1000,,".into())),
        )
        .file(
            "periods/2026-10/change_orders.csv",
            "change_id,line_id,effective_from,rate,requested_by,approved_by,approved_at\n\
             CO-1,l1,2026-10-16,5,ann,bob,2026-10-14\n\
             CO-0,l1,2026-10-20,9,ann,ann,2026-10-14\n\
             CO-2,l1,2026-10-25,7,ann,,\n",
        );
    let line = &setup.invoice("2026-10", "gb").lines[0];
    assert_eq!(line.cap.gross, d("140.00"));
    assert_eq!(
        line.unit_price,
        Some(d("5")),
        "CO-0 (approver = requester) and CO-2 (pending) do not apply"
    );
    assert!(line.has_segments());
    let runs: Vec<_> = line
        .segments
        .iter()
        .map(|s| {
            (
                s.from.to_string(),
                s.to.to_string(),
                s.quantity,
                s.unit_price,
                s.amount,
            )
        })
        .collect();
    assert_eq!(
        runs,
        [
            (
                "2026-10-01".into(),
                "2026-10-15".into(),
                d("15000"),
                d("4"),
                d("60")
            ),
            (
                "2026-10-16".into(),
                "2026-10-31".into(),
                d("16000"),
                d("5"),
                d("80")
            ),
        ]
    );
    assert_eq!(line.change_orders, ["CO-1"]);
}

#[test]
fn change_orders_apply_in_effective_from_then_id_order_and_only_from_their_period() {
    // Two approved rate changes effective the same day: by change_id, B wins over A.
    // A change listed in November's folder does not apply to October.
    let setup = Setup::new("l1,gb,c1,Display,cpc,1,GBP,,2026-10-01,2026-11-30,platform\n");
    setup
        .file(
            "periods/2026-10/exports/plat.csv",
            &format!("{PLAT_HEADER}p1,2026-10-20,,10,,,\n"),
        )
        .file(
            "periods/2026-10/change_orders.csv",
            "change_id,line_id,effective_from,rate,requested_by,approved_by,approved_at\n\
             CO-B,l1,2026-10-10,3,ann,bob,2026-10-01\n\
             CO-A,l1,2026-10-10,2,ann,bob,2026-10-01\n",
        )
        .file(
            "periods/2026-11/change_orders.csv",
            "change_id,line_id,effective_from,rate,requested_by,approved_by,approved_at\n\
             CO-C,l1,2026-10-01,8,ann,bob,2026-11-02\n",
        );
    let oct = setup.invoice("2026-10", "gb");
    // 10 clicks x 3 = 30.00 (CO-B sorts after CO-A).
    assert_eq!(oct.lines[0].cap.gross, d("30.00"));
    // In November all three are in force; in (effective_from, change_id) order they are
    // CO-C (10-01), CO-A (10-10), CO-B (10-10): the last, CO-B, wins with rate 3.
    let nov = setup.invoice("2026-11", "gb");
    assert_eq!(nov.lines[0].unit_price, Some(d("3")));
    assert_eq!(nov.lines[0].change_orders, ["CO-C", "CO-A", "CO-B"]);
}

#[test]
fn a_change_order_that_is_approved_after_the_period_counts_from_the_next_period() {
    // CO approved 11-03 extends the end from 10-31 to 11-30: pending in October (the
    // line ends 10-31), in force in November (the line is active, and rows count).
    let setup = Setup::new("l1,gb,c1,Display,cpc,1,GBP,,2026-10-01,2026-10-31,platform\n");
    setup
        .file("periods/2026-10/change_orders.csv", "change_id,line_id,effective_from,end,requested_by,approved_by,approved_at\nCO-1,l1,2026-10-25,2026-11-30,ann,bob,2026-11-03\n")
        .file("periods/2026-11/exports/plat.csv", &format!("{PLAT_HEADER}p1,2026-11-04,,7,,,\n"));
    let nov = setup.invoice("2026-11", "gb");
    assert_eq!(nov.lines[0].cap.gross, d("7.00"));
    assert_eq!(nov.lines[0].flight.1.to_string(), "2026-11-30");
}

#[test]
fn a_cap_reached_over_two_periods() {
    // Budget 100.00. October: 80 clicks x 1 = 80.00, billed 80.00.
    // November: 50 clicks = 50.00 gross; remaining 100 - 80 = 20.00 billed; over 30.00.
    let setup = Setup::new("l1,gb,c1,Search,cpc,1,GBP,100,2026-10-01,2026-11-30,platform\n");
    setup
        .file(
            "periods/2026-10/exports/plat.csv",
            &format!("{PLAT_HEADER}p1,2026-10-03,,80,,,\n"),
        )
        .file(
            "periods/2026-11/exports/plat.csv",
            &format!("{PLAT_HEADER}p1,2026-11-03,,50,,,\n"),
        );
    let oct = &setup.invoice("2026-10", "gb").lines[0];
    assert_eq!((oct.cap.billed, oct.cap.over), (d("80.00"), d("0.00")));
    let nov = &setup.invoice("2026-11", "gb").lines[0];
    assert_eq!(nov.cap.remaining, Some(d("20.00")));
    assert_eq!(
        (nov.cap.gross, nov.cap.billed, nov.cap.over, nov.net),
        (d("50.00"), d("20.00"), d("30.00"), d("20.00"))
    );
}

#[test]
fn a_lowered_budget_bills_nothing_more() {
    // Billed 80 in October; a CO lowers the budget to 60: remaining -20, billed max(0, ..) = 0.
    let setup = Setup::new("l1,gb,c1,Search,cpc,1,GBP,100,2026-10-01,2026-11-30,platform\n");
    setup
        .file("periods/2026-10/exports/plat.csv", &format!("{PLAT_HEADER}p1,2026-10-03,,80,,,\n"))
        .file("periods/2026-11/exports/plat.csv", &format!("{PLAT_HEADER}p1,2026-11-03,,5,,,\n"))
        .file("periods/2026-11/change_orders.csv", "change_id,line_id,effective_from,budget,requested_by,approved_by,approved_at\nCO-1,l1,2026-11-01,60,ann,bob,2026-11-01\n");
    let nov = &setup.invoice("2026-11", "gb").lines[0];
    assert_eq!((nov.cap.billed, nov.cap.over), (d("0"), d("5.00")));
}

#[test]
fn media_pct_with_two_spend_currencies() {
    // 10% of platform spend, contract GBP: USD 100 x 0.80 = 80; EUR 200 x 0.90 = 180.
    // Media spend 260.00 GBP; gross 26.00. Ad-server rows never count (no spend there).
    let setup = Setup::new("l1,gb,c1,Fee,media_pct,10,GBP,,2026-10-01,2026-10-31,\n");
    setup
        .file(
            "periods/2026-10/exports/plat.csv",
            &format!("{PLAT_HEADER}p1,2026-10-02,,,,100,USD\np1,2026-10-03,,,,200,EUR\n"),
        )
        .file(
            "periods/2026-10/fx.csv",
            "as_of,from,to,rate,source\n2026-10-31,USD,GBP,0.80,ECB\n2026-10-31,EUR,GBP,0.90,ECB\n",
        );
    let line = &setup.invoice("2026-10", "gb").lines[0];
    assert_eq!(
        (line.quantity, line.cap.gross, line.unit_price),
        (d("260.00"), d("26.00"), Some(d("10")))
    );
    assert_eq!(line.spend_fx.len(), 2);
    let json = String::from_utf8(tallyseal::render::json::invoice(
        &setup.invoice("2026-10", "gb"),
    ))
    .unwrap();
    assert!(
        json.contains("\"quantity\": \"260.00\"") && json.contains("\"unit_price_currency\": null"),
        "{json}"
    );
}

#[test]
fn flat_is_prorated_for_a_mid_month_start() {
    // 3,100 a month, flight from 10-17: 15 of 31 days -> 3100 x 15 / 31 = 1500.00.
    let setup = Setup::new("l1,gb,,Retainer,flat,3100,GBP,,2026-10-17,2026-12-31,\n");
    let line = &setup.invoice("2026-10", "gb").lines[0];
    assert_eq!((line.quantity, line.cap.gross), (d("15"), d("1500.00")));
    // November: the whole month, 30 of 30 days: 3100.00.
    assert!(
        setup
            .books()
            .iter()
            .all(|b| b.period.to_string() != "2026-11"),
        "no November folder, no November invoice"
    );
}

#[test]
fn hourly_bills_hours_inside_the_flight() {
    // 120/h; 1.5 + 2.25 hours inside the flight (ends 10-20); 4 hours on 10-25 are outside.
    // (1.5 + 2.25) x 120 = 450.00.
    let setup = Setup::new("l1,gb,,Consulting,hourly,120,GBP,,2026-10-01,2026-10-20,\n");
    setup.file("periods/2026-10/timesheets.csv", "line_id,date,person,hours\nl1,2026-10-02,Sam,1.5\nl1,2026-10-03,Kim,2.25\nl1,2026-10-25,Sam,4\n");
    let line = &setup.invoice("2026-10", "gb").lines[0];
    assert_eq!(
        (line.quantity, line.cap.gross, line.timesheets.len()),
        (d("3.75"), d("450.00"), 2)
    );
}

#[test]
fn a_milestone_is_billed_once_even_when_accepted_twice() {
    // M1 accepted in October: billed 2,500. Listed again (accepted again) in November:
    // already billed, not billed again. M2 has no acceptor: pending.
    let setup = Setup::new("l1,gb,,Launch,milestone,,GBP,,2026-10-01,2026-12-31,\n");
    setup
        .file("periods/2026-10/milestones.csv", "line_id,milestone_id,description,amount,accepted_on,accepted_by\nl1,M1,Design,2500,2026-10-20,Jo\nl1,M2,Build,4000,2026-10-28,\n")
        .file("periods/2026-11/milestones.csv", "line_id,milestone_id,description,amount,accepted_on,accepted_by\nl1,M1,Design,2500,2026-11-02,Jo\n");
    let oct = &setup.invoice("2026-10", "gb").lines[0];
    assert_eq!(
        (oct.quantity, oct.cap.gross, oct.unit_price),
        (d("1"), d("2500.00"), None)
    );
    let nov = &setup.invoice("2026-11", "gb").lines[0];
    assert_eq!((nov.quantity, nov.cap.gross), (d("0"), d("0.00")));
}

#[test]
fn contract_to_invoice_fx_uses_the_locked_rate() {
    // EUR line, GBP client. Locked rate: latest as_of on or before 10-31 (0.87, not
    // 0.80 of 10-01 nor 0.99 of 11-02). 100 clicks x 1 EUR = 100.00 EUR -> 87.00 GBP.
    let setup = Setup::new("l1,gb,c1,Search,cpc,1,EUR,,2026-10-01,2026-10-31,platform\n");
    setup
        .file("periods/2026-10/exports/plat.csv", &format!("{PLAT_HEADER}p1,2026-10-03,,100,,,\n"))
        .file("periods/2026-10/fx.csv", "as_of,from,to,rate,source\n2026-10-01,EUR,GBP,0.80,Old\n2026-10-30,EUR,GBP,0.87,ECB reference rate\n2026-11-02,EUR,GBP,0.99,Later\n2026-10-31,GBP,EUR,1.2,Inverse\n");
    let line = &setup.invoice("2026-10", "gb").lines[0];
    assert_eq!((line.cap.billed, line.net), (d("100.00"), d("87.00")));
    let fx = line.fx.as_ref().unwrap();
    assert_eq!(
        (fx.rate, fx.source.as_str()),
        (d("0.87"), "ECB reference rate")
    );
}

#[test]
fn a_needed_rate_that_is_not_locked_is_an_error() {
    let setup = Setup::new("l1,gb,c1,Search,cpc,1,EUR,,2026-10-01,2026-10-31,platform\n");
    // Only the inverse pair: never derived.
    setup.file(
        "periods/2026-10/fx.csv",
        "as_of,from,to,rate,source\n2026-10-31,GBP,EUR,1.15,ECB\n",
    );
    let project = setup.fixture.load().unwrap().project;
    let error = invoice::bill(&project).unwrap_err().to_string();
    assert_eq!(
        error,
        "periods/2026-10/fx.csv: line `l1` needs a locked EUR->GBP rate (a row with as_of on or before 2026-10-31), and there is none"
    );
}

#[test]
fn adjustments_apply_once_and_only_when_approved() {
    // October: a fee of 10.00 approved; a credit approved by its own requester (not
    // applied); a pending credit of 5.00. November: the pending credit listed again and
    // approved (applied), the October fee listed again (not applied twice).
    let setup = Setup::new("l1,gb,,Retainer,flat,310,GBP,,2026-10-01,2026-11-30,\n");
    let header = "adjustment_id,client_id,line_id,kind,amount,currency,reason,requested_by,approved_by,approved_at\n";
    setup
        .file("periods/2026-10/adjustments.csv", &format!("{header}F1,gb,l1,fee,10.00,GBP,other,ann,bob,2026-10-30\nC1,gb,,credit,50.00,GBP,other,ann,ann,2026-10-30\nC2,gb,,credit,5.00,GBP,other,ann,,\n"))
        .file("periods/2026-11/adjustments.csv", &format!("{header}C2,gb,,credit,5.00,GBP,other,ann,bob,2026-11-05\nF1,gb,l1,fee,10.00,GBP,other,ann,bob,2026-10-30\n"));
    let oct = setup.invoice("2026-10", "gb");
    // 310 + 10 = 320.00; tax 64.00; total 384.00.
    let ids: Vec<_> = oct
        .adjustments
        .iter()
        .map(|a| a.adjustment_id.as_str())
        .collect();
    assert_eq!(ids, ["F1"]);
    assert_eq!(
        (oct.subtotal, oct.tax, oct.total),
        (d("320.00"), d("64.00"), d("384.00"))
    );
    let nov = setup.invoice("2026-11", "gb");
    // Flat 310 for 30 of 30 November days = 310.00, minus C2 5.00 = 305.00.
    let ids: Vec<_> = nov
        .adjustments
        .iter()
        .map(|a| (a.adjustment_id.as_str(), a.net))
        .collect();
    assert_eq!(ids, [("C2", d("-5.00"))]);
    assert_eq!(nov.subtotal, d("305.00"));
}

#[test]
fn a_credit_note_when_the_total_is_negative() {
    // Flat 31 for October (31/31 days) = 31.00; credit 100.00 -> subtotal -69.00;
    // tax 20% = -13.80; total -82.80: a credit note, numbered in the same sequence.
    let setup = Setup::new("l1,gb,,Retainer,flat,31,GBP,,2026-10-01,2026-10-31,\n");
    setup.file(
        "periods/2026-10/adjustments.csv",
        "adjustment_id,client_id,kind,amount,currency,reason,requested_by,approved_by,approved_at,invoice_number\nC1,gb,credit,100.00,GBP,other,ann,bob,2026-10-30,R-000\n",
    );
    let invoice = setup.invoice("2026-10", "gb");
    assert_eq!(invoice.kind, DocumentType::CreditNote);
    assert_eq!(
        (invoice.subtotal, invoice.tax, invoice.total),
        (d("-69.00"), d("-13.80"), d("-82.80"))
    );
    let json = String::from_utf8(tallyseal::render::json::invoice(&invoice)).unwrap();
    assert!(
        json.contains("\"type\": \"credit_note\"")
            && json.contains("\"invoice_number\": \"R-000\""),
        "{json}"
    );
}

#[test]
fn tax_treatments_and_legal_notes() {
    let setup = Setup::new(
        "g,gb,,R,flat,100,GBP,,2026-10-01,2026-10-31,\nd,de,,R,flat,100,EUR,,2026-10-01,2026-10-31,\nu,us,,R,flat,100,USD,,2026-10-01,2026-10-31,\n",
    );
    let gb = setup.invoice("2026-10", "gb");
    assert_eq!(
        (gb.tax, gb.total, gb.legal_note.as_deref()),
        (d("20.00"), d("120.00"), None)
    );
    let de = setup.invoice("2026-10", "de");
    assert_eq!((de.tax, de.total), (d("0"), d("100.00")));
    assert_eq!(
        de.legal_note.as_deref(),
        Some(
            "Reverse charge: VAT to be accounted for by the recipient (Article 196, Council Directive 2006/112/EC)"
        )
    );
    let us = setup.invoice("2026-10", "us");
    assert_eq!(us.legal_note.as_deref(), Some("Exempt from VAT"));
    let json = String::from_utf8(tallyseal::render::json::invoice(&de)).unwrap();
    assert!(
        json.contains("\"tax_rate\": null") && json.contains("\"tax\": \"0.00\""),
        "{json}"
    );
}

#[test]
fn a_zero_total_invoice_for_an_active_line_without_delivery() {
    let setup = Setup::new("l1,gb,c1,Display,cpm,4,GBP,,2026-10-01,2026-10-31,\n");
    let invoice = setup.invoice("2026-10", "gb");
    assert_eq!((invoice.total, invoice.lines.len()), (d("0.00"), 1));
    assert_eq!(invoice.kind, DocumentType::Invoice);
}

#[test]
fn numbering_runs_across_periods_in_client_order() {
    // first_number 41, format "{year}/{period}/{seq:4}". October: de, gb (by id); November: gb.
    let setup = Setup::new(
        "g,gb,,R,flat,100,GBP,,2026-10-01,2026-11-30,\nd,de,,R,flat,100,EUR,,2026-10-01,2026-10-31,\n",
    );
    setup.file(
        "tallyseal.toml",
        &TOML
            .replace(
                "number_format = \"R-{seq:03}\"",
                "number_format = \"{year}/{period}/{seq:4}\"\nfirst_number = 41",
            )
            .replace("ROUNDING", ""),
    );
    std::fs::create_dir_all(setup.fixture.file("periods/2026-11")).unwrap();
    let numbers: Vec<(String, String)> = setup
        .books()
        .iter()
        .flat_map(|b| {
            b.invoices
                .iter()
                .map(|i| (i.client_id.clone(), i.number.clone()))
        })
        .collect();
    assert_eq!(
        numbers,
        [
            ("de".into(), "2026/2026-10/0041".into()),
            ("gb".into(), "2026/2026-10/0042".into()),
            ("gb".into(), "2026/2026-11/0043".into()),
        ]
    );
    let gb = setup.invoice("2026-10", "gb");
    assert_eq!(
        (gb.issue_date.to_string(), gb.due_date.to_string()),
        ("2026-10-31".into(), "2026-11-30".into())
    );
}

mod properties {
    use super::*;
    use proptest::prelude::*;
    use tallyseal::model::sum;

    fn change(day: u32, rate: u32) -> String {
        format!(
            "CO-{day:02}-{rate},l1,2026-10-{day:02},{rate}.{:02},ann,bob,2026-10-01\n",
            rate % 100
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Segment amounts add up exactly to the unrounded gross, and lines, adjustments
        /// and tax re-add exactly to the total, for random delivery, rate changes,
        /// adjustments, rounding modes and tax treatments.
        #[test]
        fn segments_and_totals_re_add(
            impressions in prop::collection::vec(0u32..5_000_000, 31),
            changes in prop::collection::vec((1u32..=31, 1u32..2_000), 0..4),
            fees in prop::collection::vec((1u32..100_000, any::<bool>()), 0..3),
            half_even in any::<bool>(),
            client in prop::sample::select(vec!["gb", "de", "jp", "bh"]),
        ) {
            let currency = match client { "gb" => "GBP", "de" => "EUR", "jp" => "JPY", _ => "BHD" };
            let rounding = if half_even { "rounding = \"half_even\"" } else { "" };
            let setup = Setup::with_rounding(&format!("l1,{client},c1,Display,cpm,3.333,{currency},,2026-10-01,2026-10-31,\n"), rounding);
            let rows = daily("a1", 1, 31, |day| format!("{},,", impressions[day as usize - 1]));
            setup.file("periods/2026-10/exports/adsrv.csv", &format!("{ADSRV_HEADER}{rows}"));
            let changes: String = changes.iter().map(|(day, rate)| change(*day, *rate)).collect();
            setup.file("periods/2026-10/change_orders.csv", &format!("change_id,line_id,effective_from,rate,requested_by,approved_by,approved_at\n{changes}"));
            let decimals = if currency == "JPY" { 0 } else { 2 };
            let adjustments: String = fees
                .iter()
                .enumerate()
                .map(|(i, (amount, fee))| {
                    let amount = Decimal::new(i64::from(*amount), decimals);
                    format!("A{i},{client},{},{amount},{currency},other,ann,bob,2026-10-02\n", if *fee { "fee" } else { "credit" })
                })
                .collect();
            setup.file("periods/2026-10/adjustments.csv", &format!("adjustment_id,client_id,kind,amount,currency,reason,requested_by,approved_by,approved_at\n{adjustments}"));

            let invoice = setup.invoice("2026-10", client);
            let line = &invoice.lines[0];
            prop_assert_eq!(sum(line.segments.iter().map(|s| s.amount)).unwrap(), line.gross_exact);
            prop_assert_eq!(sum(line.segments.iter().map(|s| s.quantity)).unwrap(), line.quantity);
            let days: u32 = line.segments.iter().map(|s| (s.to - s.from).num_days() as u32 + 1).sum();
            prop_assert_eq!(days, 31);
            let lines = sum(invoice.lines.iter().map(|l| l.net)).unwrap();
            let adjustments = sum(invoice.adjustments.iter().map(|a| a.net)).unwrap();
            prop_assert_eq!(lines + adjustments, invoice.subtotal);
            prop_assert_eq!(invoice.subtotal + invoice.tax, invoice.total);
            // Rounded only to the currency's minor units.
            let minor = if currency == "JPY" { 0 } else if currency == "BHD" { 3 } else { 2 };
            for amount in [line.cap.gross, line.net, invoice.tax, invoice.total] {
                prop_assert!(amount.normalize().scale() <= minor, "{} has more than {} decimals", amount, minor);
            }
        }
    }
}

// Billing reads day sums, not rows (docs/rules.md): an identical duplicate is counted
// once even where taking it out of its sum would change the sum's decimals or could not
// undo an overflow, and an export that cannot be read leaves the others' rows pointing
// at their own files.

#[test]
fn an_identical_duplicate_with_more_decimals_leaves_the_quantity_as_written() {
    let setup = Setup::new("l1,us,c1,Leads,cpa,2,USD,,2026-10-01,2026-10-31,platform\n");
    setup.file(
        "periods/2026-10/exports/plat_a.csv",
        &format!("{PLAT_HEADER}p1,2026-10-02,,,5,,\np1,2026-10-02,,,5.000,,\n"),
    );
    let invoice = setup.invoice("2026-10", "us");
    let json = String::from_utf8(tallyseal::render::json::invoice(&invoice)).unwrap();
    assert!(json.contains(r#""quantity": "5","#), "{json}");
}

#[test]
fn a_sum_that_overflows_only_with_its_duplicate_is_billed() {
    let setup = Setup::new("l1,us,c1,Leads,cpa,1,USD,,2026-10-01,2026-10-31,platform\n");
    let big = "50000000000000000000000000000";
    for file in ["plat_a.csv", "plat_b.csv"] {
        let path = format!("periods/2026-10/exports/{file}");
        setup.file(&path, &format!("{PLAT_HEADER}p1,2026-10-02,,,{big},,\n"));
    }
    assert_eq!(setup.invoice("2026-10", "us").lines[0].quantity, d(big));
}

#[cfg(unix)]
#[test]
fn an_export_that_cannot_be_read_leaves_the_others_rows_in_their_own_files() {
    let setup = Setup::new("l1,us,c1,Leads,cpa,2,USD,,2026-10-01,2026-10-31,platform\n");
    std::fs::create_dir_all(setup.fixture.file("periods/2026-10/exports")).unwrap();
    let missing = setup.fixture.file("periods/2026-10/exports/plat_a.csv");
    std::os::unix::fs::symlink("/nonexistent/file.csv", missing).unwrap();
    setup.file(
        "periods/2026-10/exports/plat_b.csv",
        &format!("{PLAT_HEADER}p1,2026-10-02,,,5,,\np1,2026-10-02,,,5,,\n"),
    );
    setup.file(
        "periods/2026-10/exports/plat_c.csv",
        &format!("{PLAT_HEADER}p2,2026-10-03,,,1,,\np2,2026-10-04,,,7,,\np2,2026-10-04,,,7,,\n"),
    );
    // No panic, no duplicate read from another file: only the file that cannot be read.
    let errors = setup.fixture.errors();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(errors[0].contains("plat_a.csv"), "{errors:#?}");
}
