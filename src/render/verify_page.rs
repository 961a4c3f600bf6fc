//! Each portal's `verify.html` and its script `verify.js`: checks 1–4 of seal.md in the
//! client's browser, with WebCrypto (docs/verify.md, "In your browser").
//!
//! Rendered after sealing, from what sealing did: the page lists the portal's bundles
//! and carries every public key that signed one of them (the keys of
//! `keys/<key_id>.pub.pem`, sealed periods' included), so a check opened from
//! `file://` needs no key from anywhere. Both files are navigation, outside every bundle.

use super::{Frame, Link, Page, RenderError, Templates, format};
use crate::model::{Period, Project};
use crate::seal::keys::{hex, key_id};
use crate::site::{SiteFiles, WriteError};
use ed25519_dalek::VerifyingKey;
use ed25519_dalek::pkcs8::DecodePublicKey;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Serialize)]
struct VerifyPage {
    client_id: String,
    /// The portal's bundles, newest first.
    periods: Vec<PeriodOption>,
    /// The keys the page trusts, in the order they first signed.
    keys: Vec<TrustedKey>,
}

#[derive(Serialize)]
struct PeriodOption {
    period: String,
    label: String,
}

#[derive(Serialize)]
struct TrustedKey {
    key_id: String,
    /// The raw 32-byte Ed25519 public key, in hex: what the script imports.
    public: String,
    fingerprint: Vec<String>,
    /// The periods it signed, in words.
    signed: Vec<String>,
}

/// Each client's bundles, by client id and period, with the key id that signed each
/// (none in an unsigned preview), as sealed or read back from the store.
pub type Signatures = BTreeMap<String, BTreeMap<Period, Option<String>>>;

/// Adds `verify.html` and `verify.js` to every client portal among `files`.
/// `key_id`: the key this build signs with; none for an unsigned preview.
pub fn render(
    templates: &Templates,
    project: &Project,
    key_id: Option<&str>,
    signed: &Signatures,
    files: &mut SiteFiles,
) -> Result<(), RenderError> {
    let script = templates.render("verify.js", &serde_json::json!({}))?;
    for client in &project.clients {
        let portal = Path::new("clients").join(&client.client_id);
        if !files.contains(&portal.join("index.html")) {
            continue;
        }
        let none = BTreeMap::new();
        let bundles = signed.get(&client.client_id).unwrap_or(&none);
        let frame = Frame {
            agency: project.config.agency.name.clone(),
            client: Some(client.name.clone()),
            title: format!("Check your files — {}", client.name),
            css: "style.css".into(),
            home: "index.html".into(),
            crumbs: Vec::new(),
            tabs: Vec::new(),
            periods: bundles
                .keys()
                .rev()
                .map(|period| Link {
                    label: format::period(*period),
                    href: format!("{period}/index.html"),
                    current: false,
                })
                .collect(),
            internal: false,
            unsigned: key_id.is_none(),
        };
        let page = VerifyPage {
            client_id: client.client_id.clone(),
            periods: bundles
                .keys()
                .rev()
                .map(|period| PeriodOption {
                    period: period.to_string(),
                    label: format::period(*period),
                })
                .collect(),
            keys: trusted_keys(files, &portal, bundles)?,
        };
        let html = templates.render(
            "verify.html",
            &Page {
                frame: &frame,
                page,
            },
        )?;
        files.insert(portal.join("verify.html"), &html)?;
        files.insert(portal.join("verify.js"), &script)?;
    }
    Ok(())
}

/// Every public key in the portal's `keys/` folder, with the periods each signed.
fn trusted_keys(
    files: &SiteFiles,
    portal: &Path,
    bundles: &BTreeMap<Period, Option<String>>,
) -> Result<Vec<TrustedKey>, WriteError> {
    let folder = portal.join("keys");
    let mut pems = Vec::new();
    for (path, _) in files.under(&folder) {
        pems.extend(files.read(path).transpose()?);
    }
    let mut keys: Vec<TrustedKey> = pems
        .iter()
        .filter_map(|pem| {
            let key = VerifyingKey::from_public_key_pem(std::str::from_utf8(pem).ok()?).ok()?;
            let key_id = key_id(&key);
            let signed = bundles
                .iter()
                .filter(|(_, signer)| signer.as_deref() == Some(key_id.as_str()))
                .map(|(period, _)| format::period(*period))
                .collect();
            Some(TrustedKey {
                public: hex(key.as_bytes()),
                fingerprint: format::fingerprint(&key_id),
                key_id,
                signed,
            })
        })
        .collect();
    let first = |key: &TrustedKey| {
        bundles
            .iter()
            .position(|(_, signer)| signer.as_deref() == Some(key.key_id.as_str()))
    };
    keys.sort_by_cached_key(|key| (first(key).is_none(), first(key), key.key_id.clone()));
    Ok(keys)
}
