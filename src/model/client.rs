//! Clients: who is billed, in which currency, under which tax treatment.

use super::Currency;
use crate::error::Location;
use rust_decimal::Decimal;

/// How VAT/GST applies to a client's invoices (rules.md §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaxTreatment {
    /// Tax at the client's `tax_rate`.
    Standard {
        rate: Decimal,
    },
    /// No tax charged; the client accounts for it (needs the client's tax id).
    ReverseCharge,
    Exempt,
}

/// One row of `clients.csv`.
#[derive(Debug, Clone)]
pub struct Client {
    pub client_id: String,
    pub name: String,
    pub address: Option<String>,
    pub country: String,
    pub currency: Currency,
    pub tax_id: Option<String>,
    pub tax: TaxTreatment,
    pub payment_terms_days: u32,
    pub email: Option<String>,
    pub at: Location,
}
