//! tallyseal turns an agency's project directory of period data into one verifiable
//! static portal per client.
//!
//! The pipeline, one module per stage: [`ingest`] reads the project into the domain
//! types of [`model`]; reconcile, invoice and render follow; [`seal`] hashes, splits and
//! signs. Sealed periods are [`issued`]: read back from their stored bundles
//! ([`sealed`]), never recomputed. [`check`] reports what a load found.
//!
//! ```no_run
//! let loaded = tallyseal::Project::load(std::path::Path::new("sample-data"))?;
//! println!("{}", tallyseal::check::Summary::of(&loaded.project, &[]));
//! # Ok::<(), tallyseal::error::LoadError>(())
//! ```

pub mod account;
pub mod build;
pub mod check;
pub mod checklist;
pub mod error;
pub mod ingest;
pub mod invoice;
pub mod issued;
pub mod model;
pub mod reconcile;
pub mod render;
pub mod seal;
pub mod sealed;
pub mod site;
pub mod variance;
pub mod verify;

pub use model::Project;
