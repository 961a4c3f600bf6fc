//! Loading a valid project: every file read into typed records with provenance.

mod common;

use common::*;
use tallyseal::check::Summary;
use tallyseal::ingest::read_metrics;
use tallyseal::model::{
    LeafClass, Metrics, PeriodData, PricingModel, Project, RowClass, SourceKind, TaxTreatment,
};

#[test]
fn the_valid_fixture_loads_with_typed_records() {
    let fixture = Fixture::valid();
    let project = fixture.load().expect("loads").project;
    assert_eq!(project.config.agency.name, "Test Agency Ltd");
    let ids: Vec<_> = project
        .clients
        .iter()
        .map(|c| c.client_id.as_str())
        .collect();
    assert_eq!(ids, ["acme", "beta", "kobe"], "sorted by id");
    assert_eq!(
        project.client("acme").unwrap().address.as_deref(),
        Some("1 High St\nLondon")
    );
    assert_eq!(
        project.client("beta").unwrap().tax,
        TaxTreatment::ReverseCharge
    );
    assert_eq!(project.client("kobe").unwrap().currency.minor_units(), 0);
    let cpm = project.line("acme-cpm").unwrap();
    assert_eq!(
        (cpm.model, cpm.basis),
        (PricingModel::Cpm, Some(SourceKind::AdServer)),
        "basis defaults to ad_server"
    );
    assert_eq!(cpm.rate.unwrap().to_string(), "4.50");
    assert_eq!(
        project.line("kobe-cpc").unwrap().basis,
        Some(SourceKind::Platform)
    );
    assert_eq!(project.line("beta-ms").unwrap().rate, None);
    assert_eq!(project.line("beta-flat").unwrap().basis, None);
    assert_eq!(project.periods.len(), 1);
    let oct = &project.periods[0];
    assert_eq!(oct.exports.len(), 2);
    assert_eq!(oct.rows.len(), 5);
    assert!(
        oct.rows
            .iter()
            .all(|r| matches!(r.class, RowClass::Mapped { .. }))
    );
}

#[test]
fn rows_keep_file_line_and_bytes() {
    let fixture = Fixture::valid();
    let project = fixture.load().unwrap().project;
    let oct = &project.periods[0];
    // Exports are read in file-name order: adsrv_oct.csv, then plat_oct.csv.
    let plat = oct
        .exports
        .iter()
        .position(|e| e.path.ends_with("plat_oct.csv"))
        .unwrap();
    let bytes = std::fs::read(fixture.file("periods/2026-10/exports/plat_oct.csv")).unwrap();
    let (indices, rows): (Vec<u32>, Vec<_>) = oct
        .rows
        .indexed()
        .filter(|(i, _)| oct.rows.origin(*i).export() == plat)
        .unzip();
    assert_eq!(rows.len(), 3);
    assert_eq!(oct.line(oct.rows.origin(indices[1])), 3);
    let range = oct.exports[plat].leaf_range(rows[1].leaf as usize);
    let range = range.start as usize..range.end as usize;
    assert_eq!(&bytes[range], b"111,2026-10-02,1200,12,6.00,GBP\n");
    assert_eq!(rows[1].leaf, 2);
    let spend = metrics(&project, oct, indices[2]).spend();
    assert_eq!(spend.unwrap().to_string(), "3200");
    assert_eq!(rows[2].currency.unwrap().code(), "JPY");
    let export = &oct.exports[plat];
    assert_eq!(export.size, bytes.len() as u64);
    assert_eq!(
        export.leaf_classes,
        [
            LeafClass::Header,
            LeafClass::Data,
            LeafClass::Data,
            LeafClass::Data
        ]
    );
}

#[test]
fn export_hash_is_sha256_of_the_file() {
    use sha2::{Digest, Sha256};
    let fixture = Fixture::valid();
    let project = fixture.load().unwrap().project;
    for export in &project.periods[0].exports {
        let bytes = std::fs::read(fixture.path().join(&export.path)).unwrap();
        assert_eq!(export.sha256, <[u8; 32]>::from(Sha256::digest(&bytes)));
        assert_eq!(*export.leaf_ends.last().unwrap(), bytes.len() as u64);
    }
}

#[test]
fn the_tree_built_while_parsing_is_the_tree_of_the_file_read_alone() {
    let sample = common::sample_data();
    let project = tallyseal::ingest::load(&sample, None, tallyseal::ingest::Exports::All)
        .unwrap()
        .project;
    let mut exports = 0;
    for data in &project.periods {
        for export in &data.exports {
            let skip_rows = project.config.sources[export.source].skip_rows;
            let path = sample.join(&export.path);
            let alone = tallyseal::seal::leaves::seal_file(&path, skip_rows).unwrap();
            assert_eq!(export.tree.root(), alone.tree.root(), "{}", path.display());
            assert_eq!(export.sha256, alone.sha256);
            // Every leaf's line, found from its index, is the count of line breaks
            // before it plus 1 (sample-data's meta exports quote names with line breaks).
            let bytes = std::fs::read(&path).unwrap();
            for leaf in 0..export.leaf_count() {
                let start = export.leaf_range(leaf).start as usize;
                let breaks = bytes[..start].iter().filter(|b| **b == b'\n').count();
                assert_eq!(
                    export.line(leaf),
                    breaks as u64 + 1,
                    "{} leaf {leaf}",
                    path.display()
                );
            }
            let bytes = std::fs::read(&path).unwrap();
            let ends: Vec<u64> = tallyseal::seal::leaves::split(&bytes, skip_rows)
                .iter()
                .map(|l| l.end as u64)
                .collect();
            assert_eq!(export.leaf_ends, ends);
            exports += 1;
        }
    }
    assert!(exports >= 9);
}

#[test]
fn preamble_totals_blanks_duplicates_and_unmapped_rows_are_classified() {
    let fixture = Fixture::valid();
    let toml = TOML.replace("kind = \"platform\"\n", "kind = \"platform\"\nskip_rows = 2\nfooter_prefix = \"Total\"\nthousands_separator = \",\"\n");
    fixture.write("tallyseal.toml", toml);
    let export = "Report: October\r\nAll campaigns, \"all\" days\r\n\
Campaign,Day,Impressions,Clicks,Cost,Currency\r\n\
111,2026-10-01,\"1,000\",10,5.00,GBP\r\n\
\r\n\
111,2026-10-01,\"1,000\",10,5.00,GBP\r\n\
999,2026-10-03,7,0,0.01,GBP\r\n\
,,,,,\r\n\
Total,,\"1,007\",10,5.01,\r\n\
Total: account,,\"1,007\",10,5.01,";
    fixture.period("exports/plat_oct.csv", export);
    let loaded = fixture.load().expect("loads");
    let oct = &loaded.project.periods[0];
    let plat = oct
        .exports
        .iter()
        .find(|e| e.path.ends_with("plat_oct.csv"))
        .unwrap();
    use LeafClass::*;
    assert_eq!(
        plat.leaf_classes,
        [
            Preamble, Preamble, Header, Data, Blank, Data, Data, Blank, Total, Total
        ]
    );
    let (plat_indices, plat_rows): (Vec<u32>, Vec<_>) = oct
        .rows
        .indexed()
        .filter(|(i, _)| {
            oct.exports[oct.rows.origin(*i).export()]
                .path
                .ends_with("plat_oct.csv")
        })
        .unzip();
    let project = &loaded.project;
    let impressions = metrics(project, oct, plat_indices[0]).impressions();
    assert_eq!(impressions.unwrap().to_string(), "1000");
    assert!(matches!(plat_rows[1].class, RowClass::Duplicate { .. }));
    assert_eq!(plat_rows[2].class, RowClass::Unmapped);
    assert_eq!(oct.line(oct.rows.origin(plat_indices[2])), 7);
    let summary = Summary::of(&loaded.project, &[]);
    let tally = summary
        .sources
        .iter()
        .find(|s| s.source == "plat")
        .unwrap()
        .tally;
    assert_eq!(
        (
            tally.rows_read,
            tally.mapped,
            tally.unmapped,
            tally.duplicate,
            tally.total,
            tally.blank
        ),
        (7, 1, 1, 1, 2, 2)
    );
    assert!(summary.all.balanced());
}

#[test]
fn a_blank_metric_is_not_reported_not_zero() {
    let fixture = Fixture::valid();
    fixture.period(
        "exports/plat_oct.csv",
        "Campaign,Day,Impressions,Clicks,Cost,Currency\n111,2026-10-01,1000,,,\n",
    );
    let project = fixture.load().unwrap().project;
    let oct = &project.periods[0];
    let (index, _) = (oct.rows.indexed())
        .find(|(_, r)| &**oct.rows.source_campaign_id(r) == "111")
        .unwrap();
    let row = metrics(&project, oct, index);
    assert_eq!(row.clicks(), None);
    assert_eq!(row.spend(), None);
    assert_eq!(
        row.impressions().map(|d| d.to_string()).as_deref(),
        Some("1000")
    );
}

/// The metrics of the row at `index`, read back from its leaf.
fn metrics(project: &Project, period: &PeriodData, index: u32) -> Metrics {
    let mut read = Vec::new();
    let sources = &project.config.sources;
    read_metrics(&project.dir, period, sources, &[index], |i, m| {
        read.push((i, m))
    })
    .unwrap();
    let [(i, metrics)] = read[..] else {
        panic!("one row asked, {} read", read.len());
    };
    assert_eq!(i, index);
    metrics
}

#[test]
fn period_files_load_into_records() {
    let fixture = Fixture::valid();
    fixture
        .period("fx.csv", "as_of,from,to,rate,source\n2026-10-30,EUR,GBP,0.8712,ECB reference rate\n2026-10-30,EUR,GBP,0.8712,ECB again\n")
        .period("change_orders.csv", "change_id,line_id,effective_from,rate,budget,end,requested_by,approved_by,approved_at,reference\nCO-1,acme-cpm,2026-10-15,5.00,,2026-11-15,ann,bob,2026-10-14,IO-7 rev 2\n")
        .period("milestones.csv", "line_id,milestone_id,description,amount,accepted_on,accepted_by,acceptance_ref\nbeta-ms,M1,Launch,2500.00,2026-10-20,Jo,PO-1\nbeta-ms,M2,Report,500,,,\n")
        .period("timesheets.csv", "line_id,date,person,hours,description\nbeta-hours,2026-10-05,Sam,1.5,Audit\n")
        .period("attachments/proof/oct-14.png", [0x89, b'P', b'N', b'G'])
        .period("adjustments.csv", "adjustment_id,client_id,line_id,kind,amount,currency,reason,description,requested_by,approved_by,approved_at,evidence,invoice_number\nADJ-1,acme,acme-cpm,make_good,120.00,GBP,tracking_outage,Outage,ann,bob,2026-10-20,proof/oct-14.png,T-0001\n")
        .period("variances.csv", "client_id,line_id,cause,explanation,evidence,approved_by\nacme,acme-cpm,tracking_outage,**Outage** on 14th,https://status.example/1,bob\n")
        .period("payments.csv", "payment_id,client_id,received_on,amount,currency,reference,invoice_number\nPAY-1,kobe,2026-10-12,15000,JPY,wire,\n")
        .period("checklist.csv", "client_id,step,owner,status,signed_off_by,signed_off_at,evidence\n*,IO signed,ann,done,bob,2026-10-31,\nacme,Brand safety,ann,n/a,,,\n")
        .period("notes/acme.md", "# October\n\nAll good.\n");
    let loaded = fixture.load().expect("loads");
    let oct = &loaded.project.periods[0];
    assert_eq!(
        oct.fx.len(),
        1,
        "an identical repeated rate is accepted once"
    );
    assert_eq!(
        oct.fx[0].source, "ECB reference rate",
        "the first row's source is shown"
    );
    assert_eq!(oct.change_orders[0].end.unwrap().to_string(), "2026-11-15");
    assert!(oct.period.approves(&oct.change_orders[0].approval));
    assert_eq!(oct.milestones.len(), 2);
    assert_eq!(oct.milestones[1].accepted_by, None);
    assert_eq!(oct.timesheets[0].hours.to_string(), "1.5");
    let adjustment = &oct.adjustments[0];
    assert_eq!(
        adjustment.evidence,
        Some(tallyseal::model::Evidence::Attachment(
            "proof/oct-14.png".into()
        ))
    );
    assert_eq!(adjustment.invoice_number.as_deref(), Some("T-0001"));
    assert_eq!(
        oct.explanations[0].evidence,
        Some(tallyseal::model::Evidence::Url(
            "https://status.example/1".into()
        ))
    );
    assert_eq!(oct.payments[0].amount.to_string(), "15000");
    assert_eq!(oct.checklist.len(), 2);
    assert_eq!(
        oct.checklist[0].client,
        tallyseal::model::ClientScope::Every
    );
    assert_eq!(oct.notes["acme"], "# October\n\nAll good.\n");
    assert_eq!(
        oct.attachments,
        [std::path::PathBuf::from("proof/oct-14.png")]
    );
}

#[test]
fn signing_key_override_wins_over_the_config() {
    let fixture = Fixture::valid();
    let toml = TOML.replacen(
        "[invoice]",
        "[signing]\nkey_file = \"keys/agency.pem\"\n\n[invoice]",
        1,
    );
    fixture.write("tallyseal.toml", toml);
    let project = tallyseal::ingest::load(fixture.path(), None, tallyseal::ingest::Exports::All)
        .unwrap()
        .project;
    assert_eq!(project.signing_key, Some(fixture.file("keys/agency.pem")));
    let project = tallyseal::ingest::load(
        fixture.path(),
        Some("/elsewhere/k.pem".into()),
        tallyseal::ingest::Exports::All,
    )
    .unwrap()
    .project;
    assert_eq!(project.signing_key, Some("/elsewhere/k.pem".into()));
}

#[test]
fn an_applied_adjustment_listed_again_warns() {
    let fixture = Fixture::valid();
    let adjustment = "adjustment_id,client_id,kind,amount,currency,reason,requested_by,approved_by,approved_at\nADJ-1,acme,credit,10.00,GBP,other,ann,bob,2026-10-20\n";
    fixture.period("adjustments.csv", adjustment);
    fixture.write(
        "periods/2026-11/adjustments.csv",
        adjustment.replace("2026-10-20", "2026-11-02"),
    );
    let warnings = fixture.warnings();
    assert!(
        warnings
            .iter()
            .any(|w| w.starts_with("periods/2026-11/adjustments.csv:2")
                && w.contains("already applied in 2026-10")),
        "{warnings:#?}"
    );
}

#[test]
fn metrics_read_back_from_a_file_changed_since_it_was_read_are_refused() {
    let fixture = Fixture::valid();
    let project = fixture.load().unwrap().project;
    let oct = &project.periods[0];
    let (index, row) = oct.rows.indexed().next().unwrap();
    let export = &oct.exports[oct.rows.origin(index).export()];
    let path = fixture.file(export.path.to_str().unwrap());
    let range = export.leaf_range(row.leaf as usize);
    // The same length, one digit of the row's own leaf changed.
    let mut bytes = std::fs::read(&path).unwrap();
    let leaf = &mut bytes[range.start as usize..range.end as usize];
    let digit = leaf.iter().rposition(u8::is_ascii_digit).unwrap();
    leaf[digit] = if leaf[digit] == b'9' {
        b'8'
    } else {
        leaf[digit] + 1
    };
    std::fs::write(&path, &bytes).unwrap();
    let sources = &project.config.sources;
    let error = read_metrics(&project.dir, oct, sources, &[index], |_, _| {}).unwrap_err();
    assert!(error.to_string().contains("changed"), "{error}");
    assert_eq!(error.path, export.path);
}
