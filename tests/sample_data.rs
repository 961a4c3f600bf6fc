//! The demo agency exercises the whole input spec: this test fails if a change to
//! `sample-data/` (or its generator) drops a scenario the portals and tests rely on.

use std::collections::BTreeSet;
use tallyseal::model::{
    AdjustmentKind, LeafClass, ManualStatus, PricingModel, RowClass, SourceKind, TaxTreatment,
};

fn sample() -> tallyseal::Project {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-data");
    tallyseal::ingest::load(&dir, None, tallyseal::ingest::Exports::All)
        .expect("sample-data loads")
        .project
}

#[test]
fn clients_currencies_and_tax_treatments() {
    let project = sample();
    assert!(project.clients.len() >= 5);
    let currencies: BTreeSet<_> = project.clients.iter().map(|c| c.currency.code()).collect();
    assert!(currencies.len() >= 3, "{currencies:?}");
    assert!(
        project
            .clients
            .iter()
            .any(|c| c.currency.minor_units() == 0),
        "a currency without minor units"
    );
    let has = |f: fn(&TaxTreatment) -> bool| project.clients.iter().any(|c| f(&c.tax));
    assert!(has(|t| matches!(t, TaxTreatment::Standard { .. })));
    assert!(has(|t| *t == TaxTreatment::ReverseCharge));
    assert!(has(|t| *t == TaxTreatment::Exempt));
}

#[test]
fn three_consecutive_periods_and_every_pricing_model() {
    let project = sample();
    let periods: Vec<_> = project.periods.iter().map(|p| p.period).collect();
    assert!(periods.len() >= 3);
    assert!(
        periods.windows(2).all(|w| w[0].next() == w[1]),
        "consecutive: {periods:?}"
    );
    for model in PricingModel::ALL {
        assert!(
            project.lines.iter().any(|l| l.model == model),
            "no {} line",
            model.as_str()
        );
    }
    assert!(
        project
            .lines
            .iter()
            .any(|l| l.basis == Some(SourceKind::Platform))
    );
    assert!(
        project
            .lines
            .iter()
            .any(|l| l.basis == Some(SourceKind::AdServer))
    );
    assert!(
        project.lines.iter().any(|l| l.budget.is_some())
            && project.lines.iter().any(|l| l.budget.is_none())
    );
}

#[test]
fn sources_of_every_shape() {
    let project = sample();
    let sources = &project.config.sources;
    assert!(sources.len() >= 3);
    assert!(sources.iter().any(|s| s.kind == SourceKind::AdServer));
    assert!(
        sources.iter().any(|s| s.skip_rows > 0
            && s.footer_prefix.is_some()
            && s.thousands_separator.is_some())
    );
    assert!(
        sources.iter().any(|s| !s.grain.is_empty()),
        "an ad-level export with grain"
    );
    assert!(
        sources.iter().any(|s| s.currency.is_some()),
        "a source with a fixed currency"
    );
    let exports = project.periods.iter().flat_map(|p| &p.exports);
    let classes: BTreeSet<_> = exports
        .flat_map(|e| e.leaf_classes.iter().copied())
        .collect();
    assert!(classes.contains(&LeafClass::Preamble) && classes.contains(&LeafClass::Total));
}

#[test]
fn a_real_months_anomalies() {
    let project = sample();
    let rows = || project.periods.iter().flat_map(|p| &p.rows);
    assert!(
        rows().any(|r| r.class == RowClass::Unmapped),
        "an unmapped campaign"
    );
    assert!(
        rows().any(|r| matches!(r.class, RowClass::Duplicate { .. })),
        "a duplicate row"
    );
    // Out of flight: a mapped row dated outside every line of its campaign.
    let out_of_flight = project.periods.iter().any(|p| {
        p.rows.iter().any(|r| match p.rows.campaign(r) {
            Some(campaign) => !project
                .lines
                .iter()
                .filter(|l| l.campaign.as_deref() == Some(&**campaign))
                .any(|l| l.start <= r.date && r.date <= l.end),
            None => false,
        })
    });
    assert!(out_of_flight, "out-of-flight rows");
}

#[test]
fn every_kind_of_period_record() {
    let project = sample();
    let periods = &project.periods;
    let any = |f: &dyn Fn(&tallyseal::model::PeriodData) -> bool| periods.iter().any(f);
    assert!(any(&|p| !p.fx.is_empty()));
    assert!(any(&|p| !p.change_orders.is_empty()));
    assert!(any(&|p| p
        .milestones
        .iter()
        .any(|m| m.accepted_by.is_some())
        && p.milestones.iter().any(|m| m.accepted_by.is_none())));
    assert!(any(&|p| !p.timesheets.is_empty()));
    for kind in [
        AdjustmentKind::Credit,
        AdjustmentKind::MakeGood,
        AdjustmentKind::Fee,
    ] {
        assert!(
            any(&|p| p.adjustments.iter().any(|a| a.kind == kind)),
            "{kind:?}"
        );
    }
    assert!(any(&|p| p
        .adjustments
        .iter()
        .any(|a| a.invoice_number.is_some())));
    assert!(any(&|p| !p.explanations.is_empty()));
    assert!(
        any(&|p| p
            .payments
            .iter()
            .any(|pay| pay.received_on < p.period.first())),
        "a payment recorded late"
    );
    assert!(any(&|p| p
        .payments
        .iter()
        .any(|pay| pay.invoice_number.is_some())));
    assert!(any(&|p| p
        .checklist
        .iter()
        .any(|s| s.status == ManualStatus::Pending)));
    assert!(any(&|p| p
        .checklist
        .iter()
        .any(|s| s.client == tallyseal::model::ClientScope::Every)));
    assert!(any(&|p| !p.notes.is_empty()));
    assert!(any(&|p| !p.attachments.is_empty()));
}
