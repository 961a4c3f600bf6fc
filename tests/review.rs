//! Worked examples of rules.md §10 (variances) and §11 (checklist), and the conservation
//! identity at build time on random projects.

mod common;

use common::*;
use tallyseal::build::{self, Review};
use tallyseal::checklist::{Step, StepStatus};
use tallyseal::model::CauseCode;
use tallyseal::variance::ExplainedBy;

const ADSRV_FILE: &str = "periods/2026-10/exports/adsrv_oct.csv";
const PLAT_FILE: &str = "periods/2026-10/exports/plat_oct.csv";

/// Builds the fixture's books and reviews every period, signed by a key `test-key`.
fn review(fixture: &Fixture) -> Vec<Review> {
    review_keyed(fixture, Some("test-key"))
}

/// The same, signed by `key_id`; none: an unsigned preview.
fn review_keyed(fixture: &Fixture, key_id: Option<&str>) -> Vec<Review> {
    let project = fixture
        .load()
        .unwrap_or_else(|e| panic!("{:#?}", e.problems.errors))
        .project;
    let books = tallyseal::invoice::bill(&project).unwrap();
    let statements = tallyseal::account::settle(&project, &books).unwrap();
    build::review(&project, &books, &statements, key_id).unwrap()
}

fn variances(review: &Review, line: &str) -> Vec<(CauseCode, bool)> {
    review
        .variances
        .variances
        .iter()
        .filter(|v| v.line_id == line)
        .map(|v| (v.cause, v.explained_by.is_some()))
        .collect()
}

fn step<'a>(review: &'a Review, client: &str, id: &str) -> &'a Step {
    let checklist = review
        .checklists
        .iter()
        .find(|c| c.client_id.as_deref() == Some(client))
        .unwrap();
    checklist.steps.iter().find(|s| s.id == id).unwrap()
}

/// The fixture with acme's line uncapped (so no under-delivery at its flight's end).
fn fixture() -> Fixture {
    let fixture = Fixture::valid();
    fixture.write("contracts.csv", CONTRACTS.replace("GBP,10000,", "GBP,,"));
    fixture
}

#[test]
fn within_tolerance_there_is_no_variance() {
    // Ad server 990 + 1,190 = 2,180 against the platform's 2,200: 0.9% apart.
    let reviews = review(&fixture());
    assert_eq!(variances(&reviews[0], "acme-cpm"), []);
    assert_eq!(
        step(&reviews[0], "acme", "discrepancy_within_tolerance").status,
        StepStatus::Pass
    );
    assert_eq!(
        step(&reviews[0], "acme", "variances_explained").status,
        StepStatus::Pass
    );
}

#[test]
fn an_unexplained_discrepancy_fails_then_an_explanation_passes() {
    // Ad server 990 + 800 = 1,790 (basis) against 2,200: |2200 - 1790| / 1790 = 22.9% > 10%.
    // Only 10-02 is out on its own (1,200 vs 800); 10-01 (1,000 vs 990) is not.
    let fixture = fixture();
    fixture.write(ADSRV_FILE, ADSRV.replace("1190", "800"));
    let reviews = review(&fixture);
    let variance = &reviews[0].variances.variances[0];
    assert_eq!(
        (variance.cause, variance.explained_by.clone()),
        (CauseCode::AdServerDiscrepancy, None)
    );
    assert_eq!(
        variance
            .days
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        ["2026-10-02"]
    );
    assert_eq!(
        variance.rows.len(),
        2,
        "the platform's and the ad server's row of 10-02"
    );
    assert!(variance.summary.contains("22.9%"), "{}", variance.summary);
    assert_eq!(
        step(&reviews[0], "acme", "discrepancy_within_tolerance").status,
        StepStatus::Warn
    );
    let explained = step(&reviews[0], "acme", "variances_explained");
    assert_eq!(
        (explained.status, explained.summary.as_str()),
        (StepStatus::Fail, "1 variance unexplained")
    );

    fixture.period("variances.csv", "client_id,line_id,cause,explanation\nacme,acme-cpm,ad_server_discrepancy,Viewability filter on the ad server\n");
    let reviews = review(&fixture);
    assert_eq!(
        reviews[0].variances.variances[0].explained_by,
        Some(ExplainedBy::Note(0))
    );
    assert_eq!(
        step(&reviews[0], "acme", "variances_explained").status,
        StepStatus::Pass
    );
    // An explanation for another cause explains nothing.
    fixture.period(
        "variances.csv",
        "client_id,line_id,cause,explanation\nacme,acme-cpm,other,Something else\n",
    );
    assert_eq!(
        step(&review(&fixture)[0], "acme", "variances_explained").status,
        StepStatus::Fail
    );
}

#[test]
fn no_basis_units_with_other_units_is_over_tolerance_and_an_outage() {
    // The ad server reports 0 on both days while the platform reports 1,000 and 1,200.
    let fixture = fixture();
    fixture.write(
        ADSRV_FILE,
        ADSRV.replace(",990", ",0").replace(",1190", ",0"),
    );
    let reviews = review(&fixture);
    assert_eq!(
        variances(&reviews[0], "acme-cpm"),
        [
            (CauseCode::AdServerDiscrepancy, false),
            (CauseCode::TrackingOutage, false)
        ]
    );
    let outage = &reviews[0].variances.variances[1];
    assert_eq!(outage.days.len(), 2);
}

#[test]
fn a_tracking_outage_day_explained_by_a_make_good() {
    // The ad server has no row on 10-02 while the platform reports 1,200: an outage on
    // 10-02 (and a discrepancy: 990 against 2,200). A make-good on the line with reason
    // tracking_outage explains the outage; the discrepancy stays unexplained.
    let fixture = fixture();
    fixture.write(
        ADSRV_FILE,
        "Campaign ID,Placement,Date,Impressions\nA-1,P1,2026-10-01,990\n",
    );
    fixture.period(
        "adjustments.csv",
        "adjustment_id,client_id,line_id,kind,amount,currency,reason,requested_by,approved_by,approved_at\nMG-1,acme,acme-cpm,make_good,1.00,GBP,tracking_outage,ann,bob,2026-10-30\n",
    );
    let reviews = review(&fixture);
    let outage = reviews[0]
        .variances
        .variances
        .iter()
        .find(|v| v.cause == CauseCode::TrackingOutage)
        .unwrap();
    assert_eq!(
        outage
            .days
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        ["2026-10-02"]
    );
    assert_eq!(
        outage.explained_by,
        Some(ExplainedBy::Adjustment("MG-1".into()))
    );
    assert_eq!(
        variances(&reviews[0], "acme-cpm"),
        [
            (CauseCode::AdServerDiscrepancy, false),
            (CauseCode::TrackingOutage, true)
        ]
    );
}

#[test]
fn a_single_source_warns_and_skips_the_outage_check() {
    let fixture = fixture();
    fixture.remove(ADSRV_FILE);
    let reviews = review(&fixture);
    // kobe-cpc bills platform clicks and no ad server reports it either.
    assert_eq!(reviews[0].variances.single_source, ["acme-cpm", "kobe-cpc"]);
    assert_eq!(variances(&reviews[0], "acme-cpm"), []);
    let discrepancy = step(&reviews[0], "acme", "discrepancy_within_tolerance");
    assert_eq!(
        (discrepancy.status, discrepancy.summary.as_str()),
        (StepStatus::Warn, "1 line with a single source")
    );
}

#[test]
fn over_delivery_explains_itself() {
    // Budget 5.00: 2,180 x 4.50 / 1000 = 9.81 gross, 5.00 billed, 4.81 over.
    let fixture = Fixture::valid();
    fixture.write("contracts.csv", CONTRACTS.replace("GBP,10000,", "GBP,5,"));
    let reviews = review(&fixture);
    let over = reviews[0]
        .variances
        .variances
        .iter()
        .find(|v| v.cause == CauseCode::OverDelivery)
        .unwrap();
    assert_eq!(over.explained_by, Some(ExplainedBy::Cap));
    assert!(
        over.summary.starts_with("4.81 over the budget of 5"),
        "{}",
        over.summary
    );
}

#[test]
fn under_delivery_when_the_flight_ends_short_of_the_budget() {
    // Budget 10,000; the flight ends 10-31 having billed 9.81 < 10,000 x 90%.
    let reviews = review(&Fixture::valid());
    assert_eq!(
        variances(&reviews[0], "acme-cpm"),
        [(CauseCode::UnderDelivery, false)]
    );
    // A line whose flight goes on has no under-delivery yet (kobe-cpc ends in November).
    assert_eq!(variances(&reviews[0], "kobe-cpc"), []);
}

#[test]
fn prior_period_change_and_fx_movement() {
    // beta-flat: 3,000 EUR in October; a change order makes it 5,000 from November:
    // |5000 - 3000| / 3000 = 66.7% > 50%. acme-fee: 100 EUR a month billed in GBP at
    // 0.85 in October and 0.95 in November: the rate moved 11.8% > 5%.
    let fixture = fixture();
    fixture
        .write("contracts.csv", format!("{}acme-fee,acme,,Fee,flat,100,EUR,,2026-10-01,2026-11-30,\n", CONTRACTS.replace("GBP,10000,", "GBP,,")))
        .period("fx.csv", "as_of,from,to,rate,source\n2026-10-31,EUR,GBP,0.85,ECB\n")
        .write("periods/2026-11/fx.csv", "as_of,from,to,rate,source\n2026-11-30,EUR,GBP,0.95,ECB\n")
        .write("periods/2026-11/change_orders.csv", "change_id,line_id,effective_from,rate,requested_by,approved_by,approved_at\nCO-1,beta-flat,2026-11-01,5000,ann,bob,2026-11-01\n");
    let reviews = review(&fixture);
    assert_eq!(
        variances(&reviews[1], "beta-flat"),
        [(CauseCode::PriorPeriodChange, false)]
    );
    assert!(
        reviews[1]
            .variances
            .variances
            .iter()
            .any(|v| v.summary.contains("66.7% change"))
    );
    assert_eq!(
        variances(&reviews[1], "acme-fee"),
        [(CauseCode::FxMovement, false)]
    );
    assert_eq!(
        variances(&reviews[0], "acme-fee"),
        [],
        "no previous period to compare with"
    );
    let fx = step(&reviews[1], "acme", "fx_locked");
    assert_eq!(fx.details, ["EUR->GBP 0.95 (ECB, as of 2026-11-30)"]);
}

#[test]
fn the_checklist_has_every_automatic_step_in_order_then_the_manual_ones() {
    let fixture = fixture();
    fixture.period("checklist.csv", "client_id,step,owner,status,signed_off_by,signed_off_at\n*,IO on file,ann,done,bob,2026-10-31\nacme,Brand safety report sent,ann,pending,,\nbeta,Not for acme,ann,done,,\n*,Creative approval,ann,n/a,,\n");
    let reviews = review(&fixture);
    let checklist = reviews[0]
        .checklists
        .iter()
        .find(|c| c.client_id.as_deref() == Some("acme"))
        .unwrap();
    let ids: Vec<&str> = checklist.steps.iter().map(|s| s.id.as_str()).collect();
    let mut expected: Vec<&str> = tallyseal::checklist::AUTOMATIC.to_vec();
    expected.extend([
        "IO on file",
        "Brand safety report sent",
        "Creative approval",
    ]);
    assert_eq!(ids, expected);
    let manual: Vec<(StepStatus, bool)> = checklist.steps[10..]
        .iter()
        .map(|s| (s.status, s.not_applicable))
        .collect();
    assert_eq!(
        manual,
        [
            (StepStatus::Pass, false),
            (StepStatus::Warn, false),
            (StepStatus::Pass, true)
        ]
    );
    assert_eq!(
        checklist.steps[10].summary,
        "done, signed off by bob on 2026-10-31"
    );
}

#[test]
fn approvals_warn_on_pending_and_fail_on_separation_of_duties() {
    let fixture = fixture();
    fixture.period("change_orders.csv", "change_id,line_id,effective_from,rate,requested_by,approved_by,approved_at\nCO-1,acme-cpm,2026-10-10,5,ann,,\n");
    let reviews = review(&fixture);
    let approvals = step(&reviews[0], "acme", "approvals");
    assert_eq!(approvals.status, StepStatus::Warn);
    assert_eq!(
        approvals.details,
        [
            "change order CO-1 on acme-cpm: pending, not applied (periods/2026-10/change_orders.csv:2)"
        ]
    );
    fixture.period("change_orders.csv", "change_id,line_id,effective_from,rate,requested_by,approved_by,approved_at\nCO-1,acme-cpm,2026-10-10,5,ann,ann,2026-10-09\n");
    let reviews = review(&fixture);
    assert_eq!(
        step(&reviews[0], "acme", "approvals").status,
        StepStatus::Fail
    );
    assert_eq!(
        step(&reviews[0], "beta", "approvals").status,
        StepStatus::Pass,
        "another client's items do not count"
    );
    let agency = reviews[0]
        .agency
        .steps
        .iter()
        .find(|s| s.id == "approvals")
        .unwrap();
    assert_eq!(
        (agency.status, agency.summary.as_str()),
        (StepStatus::Fail, "acme (fail)")
    );
}

#[test]
fn rows_duplicates_and_mapping() {
    // A duplicate row, a row out of flight (acme-cpm ends 10-31... use kobe's flight start)
    // and an unmapped campaign.
    let fixture = fixture();
    fixture.write(
        PLAT_FILE,
        format!("{PLAT}111,2026-10-02,1200,12,6.00,GBP\n999,2026-10-03,5,0,0.10,GBP\n"),
    );
    fixture.write(
        "contracts.csv",
        CONTRACTS.replace(
            "GBP,10000,2026-10-01,2026-10-31",
            "GBP,,2026-10-02,2026-10-31",
        ),
    );
    let reviews = review(&fixture);
    let rows = step(&reviews[0], "acme", "rows_accounted");
    assert_eq!(rows.status, StepStatus::Warn);
    assert_eq!(
        rows.summary,
        "5 rows: 2 in flight, 2 out of flight, 1 duplicate"
    );
    assert!(rows.details.iter().any(|d| {
        d.starts_with("periods/2026-10/exports/plat_oct.csv:2: campaign id 111 on 2026-10-01")
    }));
    let duplicates = step(&reviews[0], "acme", "no_duplicates");
    assert_eq!(
        duplicates.details,
        [
            "periods/2026-10/exports/plat_oct.csv:5 repeats periods/2026-10/exports/plat_oct.csv:3: counted once"
        ]
    );
    let mapped = reviews[0]
        .agency
        .steps
        .iter()
        .find(|s| s.id == "rows_mapped")
        .unwrap();
    assert_eq!(mapped.status, StepStatus::Fail);
    assert_eq!(
        mapped.details,
        ["periods/2026-10/exports/plat_oct.csv:6: campaign id 999 is not in crosswalk.csv"]
    );
    let agency_ids: Vec<&str> = reviews[0]
        .agency
        .steps
        .iter()
        .map(|s| s.id.as_str())
        .collect();
    assert_eq!(
        &agency_ids[..3],
        ["sources_sealed", "rows_accounted", "rows_mapped"]
    );
    let conservation = reviews[0]
        .conservation
        .iter()
        .find(|c| c.file.ends_with("plat_oct.csv"))
        .unwrap();
    assert_eq!(
        (
            conservation.rows_read,
            conservation.billed,
            conservation.out_of_flight,
            conservation.unmapped,
            conservation.duplicate
        ),
        (5, 2, 1, 1, 1)
    );
}

#[test]
fn milestones_invoice_arithmetic_payments_and_sources() {
    let fixture = fixture();
    fixture
        .period("milestones.csv", "line_id,milestone_id,description,amount,accepted_on,accepted_by\nbeta-ms,M1,Launch,2500,2026-10-20,Jo\nbeta-ms,M2,Report,500,,\n")
        .period("payments.csv", "payment_id,client_id,received_on,amount,currency\nPAY-1,beta,2026-10-30,100.00,EUR\n");
    let reviews = review(&fixture);
    let milestones = step(&reviews[0], "beta", "milestones_accepted");
    assert_eq!(
        (milestones.status, milestones.summary.as_str()),
        (
            StepStatus::Pass,
            "1 milestone billed, each accepted; 1 not billed"
        )
    );
    assert!(milestones.details[1].starts_with("beta-ms M2: not billed, pending acceptance"));
    let arithmetic = step(&reviews[0], "beta", "invoice_arithmetic");
    assert_eq!(arithmetic.status, StepStatus::Pass);
    let payments = step(&reviews[0], "beta", "payments_applied");
    assert_eq!(
        payments.details,
        ["PAY-1 of 100.00 received 2026-10-30: 100.00 to T-0002; 0.00 to account credit"]
    );
    let sources = step(&reviews[0], "acme", "sources_sealed");
    assert_eq!(
        sources.summary,
        "2 raw exports hashed and in the manifest signed by key test-key"
    );
    assert!(sources.details[0].starts_with("periods/2026-10/exports/adsrv_oct.csv: sha256 "));
    assert!(sources.details[0].contains(", Merkle root "));
    assert_eq!(
        step(&reviews[0], "beta", "sources_sealed").summary,
        "no raw export used"
    );
    // An unsigned preview seals nothing.
    let unsigned = review_keyed(&fixture, None);
    let sources = step(&unsigned[0], "acme", "sources_sealed");
    assert_eq!(
        (sources.status, sources.summary.as_str()),
        (
            StepStatus::Fail,
            "2 raw exports hashed, but not signed: this is an unsigned preview"
        )
    );
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        /// On random exports and flights: every export's rows read = billed + out of
        /// flight + unmapped + duplicates + totals + blank, and the out-of-flight rows are
        /// exactly the mapped rows outside their campaign's flights.
        #[test]
        fn conservation_holds_on_random_projects(
            rows in prop::collection::vec((0usize..3, 1u32..=31, 0u32..5000, 0u8..10), 0..60),
            start in 1u32..=31,
            length in 0u32..31,
        ) {
            let end = (start + length).min(31);
            let fixture = Fixture::valid();
            fixture.write("contracts.csv", CONTRACTS.replace("GBP,10000,2026-10-01,2026-10-31", &format!("GBP,,2026-10-{start:02},2026-10-{end:02}")));
            let mut export = String::from("Campaign,Day,Impressions,Clicks,Cost,Currency\n");
            let mut expected_outside = 0;
            let mut seen = std::collections::HashSet::new();
            for (i, (campaign, day, impressions, kind)) in rows.iter().enumerate() {
                // One row per campaign and day: two different ones would conflict.
                if *kind >= 2 && !seen.insert((*campaign, *day)) {
                    continue;
                }
                match kind {
                    0 => export.push('\n'),
                    1 => export.push_str("Total,,1,,,\n"),
                    _ => {
                        let id = ["111", "222", "999"][*campaign];
                        // Unique metrics per row, so repeats are only the deliberate ones.
                        let line = format!("{id},2026-10-{day:02},{impressions},{i},,\n");
                        let repeat = *kind == 2;
                        export.push_str(&line);
                        // 111 is acme-cpm's (flight start..end); 222 is kobe-cpc's (all October).
                        let outside = *campaign == 0 && (*day < start || *day > end);
                        if outside {
                            expected_outside += 1;
                        }
                        if repeat {
                            export.push_str(&line);
                        }
                    }
                }
            }
            let toml = TOML.replace("kind = \"platform\"\n", "kind = \"platform\"\nfooter_prefix = \"Total\"\n");
            fixture.write("tallyseal.toml", toml).write(PLAT_FILE, &export);
            let reviews = review(&fixture);
            for report in &reviews[0].conservation {
                prop_assert!(report.balanced(), "{:?}", report);
            }
            let plat = reviews[0].conservation.iter().find(|c| c.file.ends_with("plat_oct.csv")).unwrap();
            prop_assert_eq!(plat.out_of_flight, expected_outside);
        }
    }
}
