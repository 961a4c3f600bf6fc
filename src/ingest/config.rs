//! Reads `tallyseal.toml` into a validated [`Config`]. Unknown keys are errors (a typo
//! must not silently change billing); every error carries its line and column.

use crate::error::{ErrorKind, Location, Problems};
use crate::model::{
    Agency, Config, Currency, InvoiceSettings, NumberFormat, NumberPiece, Rounding, SourceColumns,
    SourceConfig, SourceKind, Tolerances,
};
use rust_decimal::Decimal;
use serde::Deserialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use toml::Spanned;

pub const FILE: &str = "tallyseal.toml";

/// The legal notes of rules.md §7, unless `[invoice]` overrides them.
pub const REVERSE_CHARGE_NOTE: &str = "Reverse charge: VAT to be accounted for by the recipient (Article 196, Council Directive 2006/112/EC)";
pub const EXEMPT_NOTE: &str = "Exempt from VAT";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    agency: RawAgency,
    #[serde(default)]
    invoice: RawInvoice,
    #[serde(default)]
    tolerances: RawTolerances,
    #[serde(default)]
    signing: RawSigning,
    #[serde(default, rename = "source")]
    sources: Vec<RawSource>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAgency {
    name: Spanned<String>,
    address: Option<String>,
    country: Option<Spanned<String>>,
    tax_id: Option<String>,
    email: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawInvoice {
    number_format: Option<Spanned<String>>,
    first_number: Option<Spanned<i64>>,
    rounding: Option<RawRounding>,
    reverse_charge_note: Option<String>,
    exempt_note: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum RawRounding {
    HalfUp,
    HalfEven,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawTolerances {
    discrepancy_pct: Option<Spanned<Percent>>,
    prior_period_pct: Option<Spanned<Percent>>,
    underdelivery_pct: Option<Spanned<Percent>>,
    fx_movement_pct: Option<Spanned<Percent>>,
}

/// A percentage written as a decimal string or a TOML number.
struct Percent(Option<Decimal>);

impl<'de> Deserialize<'de> for Percent {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Number {
            Int(i64),
            // A float's shortest round-trip text is what the user typed (8.1 -> "8.1").
            Float(f64),
            Text(String),
        }
        Ok(Percent(match Number::deserialize(deserializer)? {
            Number::Int(i) => Some(Decimal::from(i)),
            Number::Float(f) => Decimal::from_str(&f.to_string()).ok(),
            Number::Text(s) => super::cell::parse_decimal(s.trim()),
        }))
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSigning {
    key_file: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    name: Spanned<String>,
    files: Spanned<String>,
    kind: RawKind,
    #[serde(default)]
    skip_rows: u64,
    footer_prefix: Option<Spanned<String>>,
    thousands_separator: Option<Spanned<String>>,
    grain: Option<Spanned<Vec<String>>>,
    columns: Spanned<RawColumns>,
    currency: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum RawKind {
    Platform,
    AdServer,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawColumns {
    campaign: String,
    date: String,
    impressions: Option<String>,
    clicks: Option<String>,
    conversions: Option<String>,
    spend: Option<String>,
    currency: Option<String>,
}

/// Loads `<dir>/tallyseal.toml`. `None` when it has errors, all recorded in `problems`.
pub fn load(dir: &Path, problems: &mut Problems) -> Option<Config> {
    let text = match std::fs::read(dir.join(FILE)) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(_) => {
                problems.error(Location::file(FILE), ErrorKind::NotUtf8);
                return None;
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            problems.error(Location::file(FILE), ErrorKind::MissingFile);
            return None;
        }
        Err(e) => {
            problems.error(Location::file(FILE), ErrorKind::Io(e));
            return None;
        }
    };
    parse(&text, problems)
}

/// Parses and validates the text of a `tallyseal.toml`.
pub fn parse(text: &str, problems: &mut Problems) -> Option<Config> {
    let raw: RawConfig = match toml::from_str(text) {
        Ok(raw) => raw,
        Err(e) => {
            let at = e
                .span()
                .map_or(Location::file(FILE), |s| locate(text, s.start));
            problems.error(at, ErrorKind::Toml(e.message().trim().to_owned()));
            return None;
        }
    };
    let before = problems.error_count();
    let mut v = Validator { text, problems };
    let config = v.config(raw);
    (problems.error_count() == before).then_some(config)
}

/// The line and column of byte `offset` of the file.
fn locate(text: &str, offset: usize) -> Location {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() as u64 + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) as u64 + 1;
    Location::line(FILE, line).with_column(column, None)
}

struct Validator<'a> {
    text: &'a str,
    problems: &'a mut Problems,
}

impl Validator<'_> {
    fn error<T>(&mut self, at: &Spanned<T>, expected: &str, found: impl Into<String>) {
        let kind = ErrorKind::Invalid {
            expected: expected.to_owned(),
            found: found.into(),
        };
        self.problems
            .error(locate(self.text, at.span().start), kind);
    }

    fn config(&mut self, raw: RawConfig) -> Config {
        let agency = raw.agency;
        if agency.name.get_ref().trim().is_empty() {
            self.error(&agency.name, "the agency's name in [agency] name", "");
        }
        if let Some(country) = agency.country.as_ref().filter(|c| !is_country(c.get_ref())) {
            self.error(
                country,
                "an ISO 3166-1 alpha-2 country code such as \"GB\"",
                country.get_ref(),
            );
        }
        let mut sources: Vec<SourceConfig> = Vec::new();
        let mut names: HashMap<String, ()> = HashMap::new();
        // A delivery row numbers its source in 16 bits (model::DeliveryRow): beyond
        // that, the sources are not read at all.
        let most = usize::from(u16::MAX) + 1;
        let raw_sources = match raw.sources.get(most) {
            Some(extra) => {
                self.error(
                    &extra.name,
                    "at most 65,536 [[source]] tables",
                    extra.name.get_ref(),
                );
                Vec::new()
            }
            None => raw.sources,
        };
        for raw in raw_sources {
            let name = raw.name.get_ref().clone();
            if names.insert(name.clone(), ()).is_some() {
                self.error(
                    &raw.name,
                    "a [[source]] name not used by another source",
                    &name,
                );
            }
            if let Some(source) = self.source(raw) {
                sources.push(source);
            }
        }
        Config {
            agency: Agency {
                name: agency.name.into_inner(),
                address: agency.address,
                country: agency.country.map(Spanned::into_inner),
                tax_id: agency.tax_id,
                email: agency.email,
            },
            invoice: self.invoice(raw.invoice),
            tolerances: self.tolerances(raw.tolerances),
            key_file: raw.signing.key_file,
            sources,
        }
    }

    fn invoice(&mut self, raw: RawInvoice) -> InvoiceSettings {
        let number_format = match &raw.number_format {
            None => NumberFormat(vec![NumberPiece::Seq { width: 0 }]),
            Some(format) => parse_number_format(format.get_ref()).unwrap_or_else(|why| {
                self.error(format, &why, format.get_ref());
                NumberFormat(vec![])
            }),
        };
        let first_number = match &raw.first_number {
            None => 1,
            Some(n) => u64::try_from(*n.get_ref()).unwrap_or_else(|_| {
                self.error(n, "a first_number of 0 or more", n.get_ref().to_string());
                1
            }),
        };
        InvoiceSettings {
            number_format,
            first_number,
            rounding: match raw.rounding {
                None | Some(RawRounding::HalfUp) => Rounding::HalfUp,
                Some(RawRounding::HalfEven) => Rounding::HalfEven,
            },
            reverse_charge_note: raw
                .reverse_charge_note
                .unwrap_or_else(|| REVERSE_CHARGE_NOTE.into()),
            exempt_note: raw.exempt_note.unwrap_or_else(|| EXEMPT_NOTE.into()),
        }
    }

    fn tolerances(&mut self, raw: RawTolerances) -> Tolerances {
        let defaults = Tolerances::default();
        let mut pick = |value: Option<Spanned<Percent>>, default: Decimal| match value {
            None => default,
            Some(spanned) => match spanned.get_ref().0 {
                Some(pct) if pct >= Decimal::ZERO => pct,
                _ => {
                    self.error(
                        &spanned,
                        "a percentage of 0 or more, as a number or a decimal string",
                        "",
                    );
                    default
                }
            },
        };
        Tolerances {
            discrepancy_pct: pick(raw.discrepancy_pct, defaults.discrepancy_pct),
            prior_period_pct: pick(raw.prior_period_pct, defaults.prior_period_pct),
            underdelivery_pct: pick(raw.underdelivery_pct, defaults.underdelivery_pct),
            fx_movement_pct: pick(raw.fx_movement_pct, defaults.fx_movement_pct),
        }
    }

    fn source(&mut self, raw: RawSource) -> Option<SourceConfig> {
        let before = self.problems.error_count();
        let name = raw.name.get_ref();
        if !super::cell::is_identifier(name) {
            self.error(
                &raw.name,
                "a source name of letters, digits, '.', '_' or '-' (at most 64)",
                name,
            );
        }
        let matcher = globset::GlobBuilder::new(raw.files.get_ref())
            .literal_separator(true)
            .build()
            .map(|g| g.compile_matcher());
        if let Err(e) = &matcher {
            self.error(
                &raw.files,
                &format!("a glob relative to the period folder ({})", e.kind()),
                raw.files.get_ref(),
            );
        }
        if let Some(prefix) = raw
            .footer_prefix
            .as_ref()
            .filter(|p| p.get_ref().is_empty())
        {
            self.error(prefix, "a non-empty footer_prefix", "");
        }
        let thousands_separator = raw.thousands_separator.as_ref().and_then(|sep| {
            let mut chars = sep.get_ref().chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) if !(c.is_ascii_digit() || ".-+\"\r\n".contains(c)) => Some(c),
                _ => {
                    self.error(sep, "one character that is not a digit, a sign, a quote or '.' (the decimal point)", sep.get_ref());
                    None
                }
            }
        });
        let columns = raw.columns.get_ref();
        let currency = raw.currency.as_ref().and_then(|code| {
            let currency = Currency::from_code(code.get_ref());
            if currency.is_none() {
                self.error(code, "an ISO 4217 currency code", code.get_ref());
            }
            currency
        });
        match (&columns.spend, &columns.currency, &raw.currency) {
            (Some(_), None, None) => self.error(
                &raw.columns,
                "a `currency` column, or a fixed `currency` on the [[source]] table, since spend is mapped",
                "neither",
            ),
            (_, Some(_), Some(fixed)) => self.error(
                fixed,
                "either a `currency` column or a fixed `currency`, not both",
                "both",
            ),
            _ => {}
        }
        let mut seen = HashMap::new();
        if let Some(grain) = &raw.grain {
            for column in grain.get_ref() {
                if column.trim().is_empty() || seen.insert(column.clone(), ()).is_some() {
                    self.error(grain, "distinct, non-empty grain column names", column);
                }
            }
        }
        if self.problems.error_count() != before {
            return None;
        }
        let columns = raw.columns.into_inner();
        Some(SourceConfig {
            name: raw.name.into_inner(),
            files: raw.files.into_inner(),
            matcher: matcher.ok()?,
            kind: match raw.kind {
                RawKind::Platform => SourceKind::Platform,
                RawKind::AdServer => SourceKind::AdServer,
            },
            skip_rows: raw.skip_rows,
            footer_prefix: raw.footer_prefix.map(Spanned::into_inner),
            thousands_separator,
            grain: raw.grain.map(Spanned::into_inner).unwrap_or_default(),
            columns: SourceColumns {
                campaign: columns.campaign,
                date: columns.date,
                impressions: columns.impressions,
                clicks: columns.clicks,
                conversions: columns.conversions,
                spend: columns.spend,
                currency: columns.currency,
            },
            currency,
        })
    }
}

fn is_country(code: &str) -> bool {
    code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase())
}

/// Parses `number_format`: text with `{seq}`, `{seq:N}`, `{year}` and `{period}`.
/// `{seq}` must appear, or two documents could get the same number.
pub fn parse_number_format(format: &str) -> Result<NumberFormat, String> {
    let mut pieces = Vec::new();
    let mut rest = format;
    while let Some(open) = rest.find(['{', '}']) {
        if rest[open..].starts_with('}') {
            return Err(
                "a number_format whose braces enclose {seq}, {seq:N}, {year} or {period}".into(),
            );
        }
        if open > 0 {
            pieces.push(NumberPiece::Text(rest[..open].to_owned()));
        }
        let close = rest[open..]
            .find('}')
            .ok_or("a number_format whose every '{' is closed")?;
        let placeholder = &rest[open + 1..open + close];
        pieces.push(match placeholder.split_once(':') {
            None if placeholder == "seq" => NumberPiece::Seq { width: 0 },
            None if placeholder == "year" => NumberPiece::Year,
            None if placeholder == "period" => NumberPiece::Period,
            Some(("seq", width))
                if width.len() <= 2
                    && width.bytes().all(|b| b.is_ascii_digit())
                    && !width.is_empty() =>
            {
                NumberPiece::Seq {
                    width: width.parse().map_err(|_| "a seq width")?,
                }
            }
            _ => return Err("placeholders {seq}, {seq:N}, {year} or {period} only".into()),
        });
        rest = &rest[open + close + 1..];
    }
    if !rest.is_empty() {
        pieces.push(NumberPiece::Text(rest.to_owned()));
    }
    if !pieces.iter().any(|p| matches!(p, NumberPiece::Seq { .. })) {
        return Err("a number_format containing {seq} (or numbers would repeat)".into());
    }
    Ok(NumberFormat(pieces))
}

/// The signing key path: `TALLYSEAL_SIGNING_KEY` when set (a path), else
/// `[signing] key_file` relative to the project directory.
pub fn signing_key(dir: &Path, config: &Config, env_override: Option<PathBuf>) -> Option<PathBuf> {
    env_override
        .filter(|p| !p.as_os_str().is_empty())
        .or_else(|| config.key_file.as_ref().map(|k| dir.join(k)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Period;

    const MINIMAL: &str = "[agency]\nname = \"Northwind\"\n";

    fn errors(text: &str) -> Vec<String> {
        let mut problems = Problems::default();
        let config = parse(text, &mut problems);
        assert_eq!(config.is_none(), problems.has_errors());
        problems.errors.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn defaults_apply_when_keys_are_absent() {
        let mut problems = Problems::default();
        let config = parse(MINIMAL, &mut problems).unwrap();
        assert_eq!(config.invoice.first_number, 1);
        assert_eq!(config.invoice.rounding, Rounding::HalfUp);
        assert_eq!(
            config
                .invoice
                .number_format
                .format(7, Period::parse("2026-10").unwrap()),
            "7"
        );
        assert_eq!(config.tolerances, Tolerances::default());
        assert_eq!(config.invoice.exempt_note, EXEMPT_NOTE);
        assert!(config.sources.is_empty() && config.key_file.is_none());
    }

    #[test]
    fn unknown_keys_are_errors_with_line_and_column() {
        let errs = errors(
            "[agency]\nname = \"N\"\n\n[invoice]\nrounding = \"half_up\"\nnumber_fromat = \"X{seq}\"\n",
        );
        assert_eq!(errs.len(), 1);
        assert!(
            errs[0].starts_with("tallyseal.toml:6:1: unknown field `number_fromat`"),
            "{}",
            errs[0]
        );
        let errs = errors("[agency]\nname = \"N\"\n[tolerance]\n");
        assert!(errs[0].contains("unknown field `tolerance`"), "{}", errs[0]);
    }

    #[test]
    fn tolerances_accept_numbers_and_decimal_strings() {
        let mut problems = Problems::default();
        let text = format!(
            "{MINIMAL}[tolerances]\ndiscrepancy_pct = 8.1\nprior_period_pct = \"12.5\"\nunderdelivery_pct = 3\n"
        );
        let t = parse(&text, &mut problems).unwrap().tolerances;
        assert_eq!(t.discrepancy_pct.to_string(), "8.1");
        assert_eq!(t.prior_period_pct.to_string(), "12.5");
        assert_eq!(t.underdelivery_pct, Decimal::from(3));
        assert_eq!(t.fx_movement_pct, Decimal::from(5));
        let errs = errors(&format!(
            "{MINIMAL}[tolerances]\nfx_movement_pct = \"ten\"\n"
        ));
        assert!(errs[0].starts_with("tallyseal.toml:4:"), "{}", errs[0]);
    }

    #[test]
    fn number_formats() {
        let p = Period::parse("2026-10").unwrap();
        let f = parse_number_format("NW-{year}-{seq:05}/{period}").unwrap();
        assert_eq!(f.format(12, p), "NW-2026-00012/2026-10");
        assert_eq!(
            parse_number_format("{seq:3}").unwrap().format(1234, p),
            "1234"
        );
        for bad in ["NW-{year}", "{seq", "{sequence}", "{seq:x}", "a}b{seq}"] {
            assert!(parse_number_format(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn source_rules() {
        let source = |extra: &str, columns: &str| {
            format!(
                "{MINIMAL}[[source]]\nname = \"g\"\nfiles = \"exports/g*.csv\"\nkind = \"platform\"\n{extra}[source.columns]\ncampaign = \"C\"\ndate = \"D\"\n{columns}"
            )
        };
        let mut problems = Problems::default();
        let config = parse(&source("skip_rows = 2\nthousands_separator = \",\"\ngrain = [\"Ad\"]\ncurrency = \"USD\"\n", "spend = \"Cost\"\n"), &mut problems).unwrap();
        let s = &config.sources[0];
        assert_eq!(
            (s.skip_rows, s.thousands_separator, s.grain.as_slice()),
            (2, Some(','), &["Ad".to_string()][..])
        );
        assert_eq!(s.currency.unwrap().code(), "USD");
        assert!(
            s.matcher.is_match("exports/g_oct.csv") && !s.matcher.is_match("exports/sub/g.csv")
        );
        // Spend without a currency column or a fixed currency.
        assert!(errors(&source("", "spend = \"Cost\"\n"))[0].contains("since spend is mapped"));
        // A typo in the column mapping.
        assert!(
            errors(&source("", "impresions = \"I\"\n"))[0].contains("unknown field `impresions`")
        );
        assert!(errors(&source("currency = \"EURO\"\n", ""))[0].contains("ISO 4217"));
        assert!(errors(&source("thousands_separator = \".\"\n", ""))[0].contains("decimal point"));
        assert!(errors(&source("kind = \"server\"\n", "")).len() == 1);
    }

    #[test]
    fn environment_overrides_the_key_file() {
        let mut problems = Problems::default();
        let config = parse(
            &format!("{MINIMAL}[signing]\nkey_file = \"keys/a.pem\"\n"),
            &mut problems,
        )
        .unwrap();
        let dir = Path::new("/p");
        assert_eq!(
            signing_key(dir, &config, None),
            Some(PathBuf::from("/p/keys/a.pem"))
        );
        assert_eq!(
            signing_key(dir, &config, Some("/secure/k.pem".into())),
            Some(PathBuf::from("/secure/k.pem"))
        );
        assert_eq!(
            signing_key(dir, &config, Some("".into())),
            Some(PathBuf::from("/p/keys/a.pem"))
        );
    }
}
