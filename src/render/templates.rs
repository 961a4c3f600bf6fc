//! The page templates: built into the binary, each replaceable by a file of the same
//! name in `<project>/templates/`. Other files there are added too, so an override can
//! include partials of its own. Autoescaping is on for every `.html` template.

use serde::Serialize;
use std::path::{Path, PathBuf};
use tera::Tera;

/// The built-in templates, by the name a project overrides them with.
pub const BUILT_IN: &[(&str, &str)] = &[
    ("base.html", include_str!("../../templates/base.html")),
    ("macros.html", include_str!("../../templates/macros.html")),
    ("style.css", include_str!("../../templates/style.css")),
    ("portal.html", include_str!("../../templates/portal.html")),
    ("period.html", include_str!("../../templates/period.html")),
    ("invoice.html", include_str!("../../templates/invoice.html")),
    ("account.html", include_str!("../../templates/account.html")),
    (
        "checklist.html",
        include_str!("../../templates/checklist.html"),
    ),
    ("line.html", include_str!("../../templates/line.html")),
    ("verify.html", include_str!("../../templates/verify.html")),
    ("verify.js", include_str!("../../templates/verify.js")),
    ("agency.html", include_str!("../../templates/agency.html")),
    (
        "agency_period.html",
        include_str!("../../templates/agency_period.html"),
    ),
];

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("{}: {source}", .path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: not UTF-8 text", .path.display())]
    NotText { path: PathBuf },
    #[error("templates: {0}")]
    Parse(String),
    #[error("template {name}: {message}")]
    Render { name: String, message: String },
    #[error(transparent)]
    Write(#[from] crate::site::WriteError),
}

/// A Tera error with its causes, one per line, as the user needs to fix the template.
fn chain(error: &tera::Error) -> String {
    let mut message = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

/// HTML escaping for text and quoted attribute values: `& < > " '`. Unlike Tera's
/// default it leaves `/` alone, so relative links stay readable (`../style.css`).
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

pub struct Templates {
    tera: Tera,
}

impl Templates {
    /// The built-in templates, with the project's overrides from `<project>/templates/`.
    pub fn load(project_dir: &Path) -> Result<Templates, TemplateError> {
        let mut sources: std::collections::BTreeMap<String, String> = BUILT_IN
            .iter()
            .map(|(name, text)| ((*name).to_owned(), (*text).to_owned()))
            .collect();
        let dir = project_dir.join("templates");
        if dir.is_dir() {
            for entry in walkdir::WalkDir::new(&dir).sort_by_file_name() {
                let entry = entry.map_err(|e| TemplateError::Read {
                    path: e.path().unwrap_or(&dir).to_owned(),
                    source: e.into(),
                })?;
                if !entry.file_type().is_file() {
                    continue;
                }
                let path = entry.path();
                let bytes = std::fs::read(path).map_err(|source| TemplateError::Read {
                    path: path.to_owned(),
                    source,
                })?;
                let text = String::from_utf8(bytes).map_err(|_| TemplateError::NotText {
                    path: path.to_owned(),
                })?;
                let name = crate::error::display_path(path.strip_prefix(&dir).unwrap_or(path));
                sources.insert(name, text);
            }
        }
        let mut tera = Tera::default();
        tera.autoescape_on(vec![".html"]);
        tera.set_escape_fn(escape);
        tera.add_raw_templates(sources)
            .map_err(|e| TemplateError::Parse(chain(&e)))?;
        Ok(Templates { tera })
    }

    /// Renders template `name` with `context`.
    pub fn render(&self, name: &str, context: &impl Serialize) -> Result<Vec<u8>, TemplateError> {
        let error = |e: tera::Error| TemplateError::Render {
            name: name.to_owned(),
            message: chain(&e),
        };
        let context = tera::Context::from_serialize(context).map_err(error)?;
        self.tera
            .render(name, &context)
            .map(String::into_bytes)
            .map_err(error)
    }
}
