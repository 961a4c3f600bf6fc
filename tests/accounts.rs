//! Worked examples of rules.md §9: payments, credits and aging.

mod common;

use rust_decimal::Decimal;
use std::str::FromStr;
use tallyseal::account::{self, Statement, Status};

const TOML: &str = "[agency]\nname = \"Cash Agency\"\n[invoice]\nnumber_format = \"C-{seq}\"\n";

fn d(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

/// Exempt USD clients (so totals equal subtotals), each with flat lines.
struct Books {
    fixture: common::Fixture,
}

impl Books {
    /// `clients`: (client_id, payment_terms_days); `lines`: contracts.csv rows after the header.
    fn new(clients: &[(&str, u32)], lines: &str, periods: &[&str]) -> Books {
        let fixture = common::Fixture {
            dir: tempfile::tempdir().unwrap(),
        };
        let clients: String = clients
            .iter()
            .map(|(id, terms)| format!("{id},{id} Inc,US,USD,exempt,{terms}\n"))
            .collect();
        fixture
            .write("tallyseal.toml", TOML)
            .write(
                "clients.csv",
                format!(
                    "client_id,name,country,currency,tax_treatment,payment_terms_days\n{clients}"
                ),
            )
            .write(
                "contracts.csv",
                format!("line_id,client_id,description,model,rate,currency,start,end\n{lines}"),
            )
            .write("crosswalk.csv", "source,source_campaign_id,campaign\n");
        for period in periods {
            std::fs::create_dir_all(fixture.file(&format!("periods/{period}"))).unwrap();
        }
        Books { fixture }
    }

    fn payments(&self, period: &str, rows: &str) -> &Self {
        self.fixture.write(
            &format!("periods/{period}/payments.csv"),
            format!("payment_id,client_id,received_on,amount,currency,invoice_number\n{rows}"),
        );
        self
    }

    fn settle(&self) -> Result<Vec<Vec<Statement>>, account::AccountError> {
        let project = self
            .fixture
            .load()
            .unwrap_or_else(|e| panic!("{:#?}", e.problems.errors))
            .project;
        let books = tallyseal::invoice::bill(&project).unwrap();
        account::settle(&project, &books)
    }

    fn statement(&self, period_index: usize, client: &str) -> Statement {
        let all = self.settle().unwrap();
        all[period_index]
            .iter()
            .find(|s| s.client_id == client)
            .cloned()
            .unwrap()
    }
}

fn balances(statement: &Statement) -> Vec<(String, Decimal, Status)> {
    statement
        .documents
        .iter()
        .map(|d| (d.number.clone(), d.balance, d.status))
        .collect()
}

/// One client `a` with flat 100.00 a month from October to December: C-1, C-2, C-3.
fn three_months(terms: u32) -> Books {
    Books::new(
        &[("a", terms)],
        "l,a,Retainer,flat,100,USD,2026-10-01,2026-12-31\n",
        &["2026-10", "2026-11", "2026-12"],
    )
}

#[test]
fn a_referenced_payment_goes_to_its_invoice_then_oldest_first() {
    // December: C-1, C-2, C-3 open (100 each). 150 naming C-2: 100 to C-2, the rest 50 to
    // the oldest open invoice, C-1.
    let books = three_months(30);
    books.payments("2026-12", "P1,a,2026-12-10,150.00,USD,C-2\n");
    let december = books.statement(2, "a");
    let payment = &december.payments[0];
    let applied: Vec<_> = payment
        .applied
        .iter()
        .map(|a| (a.number.as_str(), a.amount))
        .collect();
    assert_eq!(applied, [("C-2", d("100.00")), ("C-1", d("50.00"))]);
    assert_eq!(payment.to_credit, d("0"));
    assert_eq!(
        balances(&december)[0],
        ("C-1".into(), d("50.00"), Status::Overdue)
    );
    assert_eq!(
        balances(&december)[1],
        ("C-2".into(), d("0.00"), Status::Paid)
    );
    assert_eq!(december.ar, d("150.00"));
}

#[test]
fn an_exact_amount_without_reference_matches_the_oldest_such_invoice() {
    // C-1 partly paid (balance 60), C-2 and C-3 at 100: a payment of 100 with no
    // reference pays C-2 (the oldest with balance exactly 100), not C-1 first.
    let books = three_months(30);
    books.payments("2026-11", "P0,a,2026-11-05,40.00,USD,C-1\n");
    books.payments("2026-12", "P1,a,2026-12-10,100.00,USD,\n");
    let december = books.statement(2, "a");
    let applied: Vec<_> = december.payments[0]
        .applied
        .iter()
        .map(|a| (a.number.as_str(), a.amount))
        .collect();
    assert_eq!(applied, [("C-2", d("100.00"))]);
    assert_eq!(december.documents[0].balance, d("60.00"));
}

#[test]
fn fifo_across_three_invoices_and_an_overpayment_to_credit() {
    // 330 with no reference and no exact match: C-1 100, C-2 100, C-3 100, 30 left to
    // account credit. Payments = applied + credit: 330 = 300 + 30.
    let books = three_months(30);
    books.payments("2026-12", "P1,a,2026-12-20,330.00,USD,\n");
    let december = books.statement(2, "a");
    let payment = &december.payments[0];
    let applied: Vec<_> = payment
        .applied
        .iter()
        .map(|a| (a.number.as_str(), a.amount))
        .collect();
    assert_eq!(
        applied,
        [
            ("C-1", d("100.00")),
            ("C-2", d("100.00")),
            ("C-3", d("100.00"))
        ]
    );
    assert_eq!(
        (payment.to_credit, december.account_credit, december.ar),
        (d("30.00"), d("30.00"), d("0.00"))
    );
    assert!(
        december
            .documents
            .iter()
            .all(|doc| doc.status == Status::Paid)
    );
}

#[test]
fn unapplied_cash_is_applied_to_the_next_periods_invoice() {
    // October: 250 received, C-1 is 100: 150 to account credit. November: C-2 (100) is
    // issued first, then the credit pays it: 50 credit left.
    let books = three_months(30);
    books.payments("2026-10", "P1,a,2026-10-20,250.00,USD,\n");
    let october = books.statement(0, "a");
    assert_eq!(october.account_credit, d("150.00"));
    let november = books.statement(1, "a");
    assert_eq!(november.credits.len(), 1);
    assert_eq!(
        (
            november.credits[0].from.as_deref(),
            november.credits[0].applied.amount
        ),
        (None, d("100.00"))
    );
    assert_eq!(
        (november.account_credit, november.documents[1].status),
        (d("50.00"), Status::Paid)
    );
}

#[test]
fn a_credit_note_is_applied_first_to_the_invoice_it_names() {
    // October C-1 = 100, November C-2 = 100 (both unpaid). December: flat 100 and a
    // credit of 250 naming C-2: the credit note C-3 totals -150. Its credit goes first to
    // C-2 (100), the remaining 50 joins account credit and pays the oldest, C-1 (50 left).
    let books = three_months(61);
    books.fixture.write(
        "periods/2026-12/adjustments.csv",
        "adjustment_id,client_id,kind,amount,currency,reason,requested_by,approved_by,approved_at,invoice_number\nK1,a,credit,250.00,USD,other,ann,bob,2026-12-01,C-2\n",
    );
    let december = books.statement(2, "a");
    let credits: Vec<_> = december
        .credits
        .iter()
        .map(|c| {
            (
                c.from.as_deref(),
                c.applied.number.as_str(),
                c.applied.amount,
            )
        })
        .collect();
    assert_eq!(
        credits,
        [(Some("C-3"), "C-2", d("100.00")), (None, "C-1", d("50.00"))]
    );
    let states = balances(&december);
    assert_eq!(states[0], ("C-1".into(), d("50.00"), Status::PartiallyPaid));
    assert_eq!(states[1], ("C-2".into(), d("0.00"), Status::Paid));
    assert_eq!(states[2], ("C-3".into(), d("0"), Status::CreditNote));
    assert_eq!(december.documents[2].paid, d("0"));
    assert_eq!(
        (december.account_credit, december.dso),
        (d("0.00"), None),
        "no DSO for a credit note"
    );
}

#[test]
fn a_late_recorded_payment_keeps_its_date_and_applies_when_listed() {
    // Received 2026-10-28 but listed in November's folder: October shows nothing paid;
    // November applies it, with its true date.
    let books = three_months(30);
    books.payments("2026-11", "P1,a,2026-10-28,100.00,USD,C-1\n");
    assert!(books.statement(0, "a").payments.is_empty());
    let november = books.statement(1, "a");
    assert_eq!(november.payments[0].received_on.to_string(), "2026-10-28");
    assert_eq!(november.documents[0].status, Status::Paid);
}

#[test]
fn a_reference_to_another_clients_invoice_is_an_error() {
    // C-1 is a's, C-2 is b's (numbered by client id). b pays naming C-1.
    let books = Books::new(
        &[("a", 30), ("b", 30)],
        "la,a,R,flat,100,USD,2026-10-01,2026-10-31\nlb,b,R,flat,100,USD,2026-10-01,2026-10-31\n",
        &["2026-10", "2026-11"],
    );
    books.payments("2026-11", "P1,b,2026-11-02,100.00,USD,C-1\n");
    let error = books.settle().unwrap_err().to_string();
    assert_eq!(
        error,
        "periods/2026-11/payments.csv:2: invoice_number `C-1` is not a document of client `b` issued up to 2026-11"
    );
    // A number not issued yet is an error too.
    books.payments("2026-11", "P1,b,2026-11-02,100.00,USD,C-9\n");
    assert!(
        books
            .settle()
            .unwrap_err()
            .to_string()
            .contains("`C-9` is not a document of client `b`")
    );
}

#[test]
fn an_adjustment_must_name_an_earlier_invoice_of_its_client() {
    let books = three_months(30);
    books.fixture.write(
        "periods/2026-11/adjustments.csv",
        "adjustment_id,client_id,kind,amount,currency,reason,requested_by,approved_by,approved_at,invoice_number\nK1,a,credit,1.00,USD,other,ann,bob,2026-11-01,C-2\n",
    );
    // C-2 is November's own document, not an earlier one.
    let error = books.settle().unwrap_err().to_string();
    assert_eq!(
        error,
        "periods/2026-11/adjustments.csv:2: invoice_number `C-2` is not an invoice of client `a` issued before 2026-11"
    );
}

#[test]
fn aging_buckets_at_their_boundaries() {
    // Invoices issued 2026-10-31, none paid; seen at 2027-01-31 (92 days after issue).
    // days past due = 92 - terms: 62 -> 61-90 (terms 30); 61 (31) -> 61-90; 60 (32) ->
    // 31-60; 31 (61) -> 31-60; 30 (62) -> 1-30; 91 (1) -> 90+; 90 (2) -> 61-90; 1 (91)
    // -> 1-30; 0 (92): not overdue.
    let terms = [
        ("t1", 1),
        ("t2", 2),
        ("t32", 32),
        ("t61", 61),
        ("t62", 62),
        ("t91", 91),
        ("t92", 92),
        ("t31", 31),
    ];
    let lines: String = terms
        .iter()
        .map(|(id, _)| format!("l{id},{id},R,flat,100,USD,2026-10-01,2026-10-31\n"))
        .collect();
    let books = Books::new(
        &terms,
        &lines,
        &["2026-10", "2026-11", "2026-12", "2027-01"],
    );
    let all = books.settle().unwrap();
    let aged: Vec<(String, i64, Option<&str>, Status)> = all[3]
        .iter()
        .map(|s| {
            (
                s.client_id.clone(),
                s.documents[0].days_past_due,
                s.documents[0].bucket,
                s.documents[0].status,
            )
        })
        .collect();
    let expect = |id: &str, days: i64, bucket: Option<&'static str>| {
        let status = if days > 0 {
            Status::Overdue
        } else {
            Status::Open
        };
        assert!(
            aged.contains(&(id.to_owned(), days, bucket, status)),
            "{id}: {aged:?}"
        );
    };
    expect("t1", 91, Some("90+"));
    expect("t2", 90, Some("61-90"));
    expect("t31", 61, Some("61-90"));
    expect("t32", 60, Some("31-60"));
    expect("t61", 31, Some("31-60"));
    expect("t62", 30, Some("1-30"));
    expect("t91", 1, Some("1-30"));
    expect("t92", 0, None);
}

#[test]
fn dso_is_ar_times_days_over_the_periods_total() {
    // December: AR = 300 (three unpaid invoices), total of December's invoice 100:
    // 300 x 31 / 100 = 93.0.
    let books = three_months(30);
    assert_eq!(books.statement(2, "a").dso, Some(d("93.0")));
    // A client with a statement but no document in the period has no DSO.
    let books = Books::new(
        &[("a", 30)],
        "l,a,R,flat,100,USD,2026-10-01,2026-10-31\n",
        &["2026-10", "2026-11"],
    );
    let november = books.statement(1, "a");
    assert_eq!((november.dso, november.documents.len()), (None, 1));
}

#[test]
fn statements_begin_with_activity_and_continue() {
    // b has no line until December but pays in advance in November: its statements start
    // in November and go on every period; a zero-total invoice is paid at once.
    let books = Books::new(
        &[("a", 30), ("b", 30)],
        "la,a,R,flat,0,USD,2026-10-01,2026-10-31\nlb,b,R,flat,100,USD,2026-12-01,2026-12-31\n",
        &["2026-10", "2026-11", "2026-12"],
    );
    books.payments("2026-11", "P1,b,2026-11-02,40.00,USD,\n");
    let all = books.settle().unwrap();
    let clients = |i: usize| {
        all[i]
            .iter()
            .map(|s| s.client_id.as_str())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        (clients(0), clients(1), clients(2)),
        (vec!["a"], vec!["a", "b"], vec!["a", "b"])
    );
    assert_eq!(
        all[0][0].documents[0].status,
        Status::Paid,
        "a zero total is paid"
    );
    let b = &all[2][1];
    assert_eq!(
        (b.documents[0].balance, b.account_credit),
        (d("60.00"), d("0.00"))
    );
}

mod properties {
    use super::*;
    use proptest::prelude::*;
    use tallyseal::model::sum;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(40))]

        /// Cash is conserved: every payment is applied or held as credit, nothing more;
        /// balances never go negative; AR re-adds.
        #[test]
        fn cash_is_conserved_and_balances_stay_non_negative(
            payments in prop::collection::vec((0usize..3, 1u32..=28, 1u32..40_000, 0usize..5), 0..12),
            credit in prop::option::of(1u32..50_000),
        ) {
            let books = three_months(15);
            let periods = ["2026-10", "2026-11", "2026-12"];
            for (p, period) in periods.iter().enumerate() {
                let rows: String = payments
                    .iter()
                    .enumerate()
                    .filter(|(_, (at, ..))| *at == p)
                    .map(|(i, (_, day, cents, reference))| {
                        // A reference to an invoice issued up to this period, or none.
                        let number = if *reference <= p && *reference < 3 { format!("C-{}", reference + 1) } else { String::new() };
                        format!("P{i},a,{period}-{day:02},{},USD,{number}\n", Decimal::new(i64::from(*cents), 2))
                    })
                    .collect();
                books.payments(period, &rows);
            }
            if let Some(cents) = credit {
                books.fixture.write(
                    "periods/2026-12/adjustments.csv",
                    format!("adjustment_id,client_id,kind,amount,currency,reason,requested_by,approved_by,approved_at,invoice_number\nK,a,credit,{},USD,other,ann,bob,2026-12-01,C-1\n", Decimal::new(i64::from(cents), 2)),
                );
            }
            let all = books.settle().unwrap();
            let mut credit_before = Decimal::ZERO;
            for statements in &all {
                let s = &statements[0];
                for doc in &s.documents {
                    prop_assert!(doc.balance >= Decimal::ZERO && doc.paid >= Decimal::ZERO);
                    prop_assert!(doc.kind == tallyseal::invoice::DocumentType::CreditNote || doc.paid + doc.balance == doc.total);
                }
                prop_assert_eq!(sum(s.documents.iter().map(|d| d.balance)).unwrap(), s.ar);
                let received = sum(s.payments.iter().map(|p| p.amount)).unwrap();
                let applied = sum(s.payments.iter().flat_map(|p| p.applied.iter().map(|a| a.amount))).unwrap();
                let to_credit = sum(s.payments.iter().map(|p| p.to_credit)).unwrap();
                prop_assert_eq!(received, applied + to_credit);
                // Credit moves: credit before + credit notes + payments' rest - credit applied = credit after.
                let credit_notes: Decimal = s.documents.iter().filter(|d| d.period == s.period && d.total < Decimal::ZERO).map(|d| -d.total).sum();
                let credit_applied = sum(s.credits.iter().map(|c| c.applied.amount)).unwrap();
                prop_assert_eq!(credit_before + credit_notes + to_credit - credit_applied, s.account_credit);
                prop_assert!(s.account_credit >= Decimal::ZERO);
                credit_before = s.account_credit;
            }
        }
    }
}
