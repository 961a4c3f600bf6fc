//! Render: the computed result as the files of the site (outputs.md). Works from the
//! result only and re-reads no input but the leaves of the rows a line CSV lists (their
//! metrics, checked against the checksums kept at ingest); files that are copied byte for
//! byte (the attachments) are named here and copied by `build`.
//!
//! [`site`] reads like the layout: one portal per client ([`portal`]), then the
//! agency's internal view ([`agency`]). Pages come from Tera [`templates`]; numbers and
//! dates are written for people by [`format`](mod@format); Markdown passes [`markdown`]'s sanitiser;
//! charts are inline SVG laid out by [`chart`]; each line's rows are a CSV ([`rows`]);
//! the machine-readable files are [`json`]. After sealing, [`verify_page`] adds each
//! portal's in-browser verifier, which lists the sealed bundles and their keys.

pub mod agency;
pub mod chart;
pub mod format;
pub mod json;
pub mod markdown;
pub mod portal;
pub mod rows;
pub mod templates;
pub mod verify_page;
pub mod words;

/// Items a page lists of one kind (exceptions of a kind, details of a checklist step);
/// the rest are counted, and all of them are in the page's JSON file beside it.
const LISTED: usize = 500;

use crate::account::Statement;
use crate::build::Review;
use crate::invoice::PeriodBooks;
use crate::model::Project;
use crate::seal::merkle::Hash;
use crate::site::Staging;
use serde::Serialize;
use std::path::PathBuf;
pub use templates::{TemplateError, Templates};

/// Everything a site is rendered from.
pub struct Site<'a> {
    pub project: &'a Project,
    pub books: &'a [PeriodBooks],
    pub statements: &'a [Vec<Statement>],
    pub reviews: &'a [Review],
    /// The key the bundles are signed with; none for an unsigned preview.
    pub key_id: Option<&'a str>,
    /// The stylesheet, rendered once and written beside the pages that use it.
    pub style: Vec<u8>,
}

/// A link of the navigation.
#[derive(Debug, Clone, Serialize)]
pub struct Link {
    pub label: String,
    pub href: String,
    pub current: bool,
}

/// What every page shows around its content: who it is from and for, and the way to
/// the other pages. Every href is relative to the page.
#[derive(Debug, Clone, Serialize)]
pub struct Frame {
    pub agency: String,
    pub client: Option<String>,
    pub title: String,
    pub css: String,
    pub home: String,
    pub crumbs: Vec<Link>,
    pub tabs: Vec<Link>,
    pub periods: Vec<Link>,
    /// The agency's internal view, never to be published to clients.
    pub internal: bool,
    /// An unsigned preview, not to be issued.
    pub unsigned: bool,
}

pub type RenderError = TemplateError;

/// What every page template receives: the frame around it and its own content.
#[derive(Serialize)]
pub struct Page<'a, T: Serialize> {
    pub frame: &'a Frame,
    pub page: T,
}

/// The files of a site: rendered and written into the staging folder at once, then
/// remembered by path and SHA-256; and files to copy from the project.
pub struct Output<'t> {
    templates: &'t Templates,
    staging: &'t Staging,
    pub written: Vec<(PathBuf, Hash)>,
    /// `(path in the site, path of the source file)`.
    pub copies: Vec<(PathBuf, PathBuf)>,
}

impl<'t> Output<'t> {
    fn new(templates: &'t Templates, staging: &'t Staging) -> Self {
        Output {
            templates,
            staging,
            written: Vec::new(),
            copies: Vec::new(),
        }
    }

    pub fn file(&mut self, path: PathBuf, bytes: &[u8]) -> Result<(), RenderError> {
        let sha256 = self.staging.write(&path, bytes)?;
        self.written.push((path, sha256));
        Ok(())
    }

    pub fn page(
        &mut self,
        path: PathBuf,
        template: &str,
        context: &impl Serialize,
    ) -> Result<(), RenderError> {
        let bytes = self.templates.render(template, context)?;
        self.file(path, &bytes)
    }

    pub fn copy(&mut self, path: PathBuf, source: PathBuf) {
        self.copies.push((path, source));
    }
}

/// Renders every page and file of the site into `staging`.
pub fn site<'t>(
    templates: &'t Templates,
    staging: &'t Staging,
    project: &Project,
    books: &[PeriodBooks],
    statements: &[Vec<Statement>],
    reviews: &[Review],
    key_id: Option<&str>,
) -> Result<Output<'t>, RenderError> {
    let site = Site {
        project,
        books,
        statements,
        reviews,
        key_id,
        style: templates.render("style.css", &serde_json::json!({}))?,
    };
    let mut out = Output::new(templates, staging);
    let portals: Vec<_> = project
        .clients
        .iter()
        .map(|client| (client, portal::client_periods(&site, &client.client_id)))
        .collect();
    // Each client's portal on every core at once, gathered in client order, and the
    // agency's pages beside them (rather than after, on one core).
    use rayon::prelude::*;
    let clients = || -> Result<Vec<Output>, RenderError> {
        (portals.par_iter())
            .filter(|(_, periods)| !periods.is_empty())
            .map(|(client, periods)| {
                let mut own = Output::new(templates, staging);
                portal::render(&site, client, periods, &mut own).map(|()| own)
            })
            .collect()
    };
    let agency = || -> Result<Output, RenderError> {
        let mut own = Output::new(templates, staging);
        agency::render(&site, &portals, &mut own).map(|()| own)
    };
    let (rendered, agency) = rayon::join(clients, agency);
    for part in rendered?.into_iter().chain([agency?]) {
        out.written.extend(part.written);
        out.copies.extend(part.copies);
    }
    Ok(out)
}
