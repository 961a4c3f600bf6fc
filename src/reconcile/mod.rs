//! Reconcile: what holds in one period before anything is billed. The terms of each line
//! after approved change orders (rate per day, end, budget), the rates locked in the
//! period's `fx.csv`, and the delivery behind each line, day by day, with the rows of its
//! campaign that fall outside every flight.

mod delivery;
mod fx;
mod terms;

pub use delivery::{CampaignRows, DayUnits, units_by_day};
pub use fx::LockedRates;
pub use terms::Terms;
