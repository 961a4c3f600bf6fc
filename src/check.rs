//! What `tallyseal check` reports about a loaded project: its size, and for every
//! export the conservation identity: rows read = mapped + unmapped + duplicates +
//! total rows + blank lines. Rows read are counted from the leaves of the file; the
//! classes from what became of each row, so a row lost between the two shows.

use crate::model::{LeafClass, Period, PeriodData, Project, RowClass};
use std::fmt;

/// Counts of one export file, or of several added up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub files: usize,
    /// Every line or record after the preamble and header.
    pub rows_read: usize,
    pub mapped: usize,
    pub unmapped: usize,
    pub duplicate: usize,
    pub total: usize,
    pub blank: usize,
}

impl Tally {
    pub fn classified(&self) -> usize {
        self.mapped + self.unmapped + self.duplicate + self.total + self.blank
    }

    /// The conservation identity: nothing read is left unaccounted for.
    pub fn balanced(&self) -> bool {
        self.rows_read == self.classified()
    }

    fn add(&mut self, other: &Tally) {
        self.files += other.files;
        self.rows_read += other.rows_read;
        self.mapped += other.mapped;
        self.unmapped += other.unmapped;
        self.duplicate += other.duplicate;
        self.total += other.total;
        self.blank += other.blank;
    }
}

/// The tally of one source in one period.
#[derive(Debug, Clone)]
pub struct SourceTally {
    pub period: Period,
    pub source: String,
    pub tally: Tally,
}

/// What a project holds.
#[derive(Debug, Clone)]
pub struct Summary {
    pub agency: String,
    pub periods: Vec<Period>,
    pub clients: usize,
    pub lines: usize,
    pub sources: Vec<SourceTally>,
    pub all: Tally,
}

impl Summary {
    /// `issued`: the conservation reports of the first periods as their sealed bundles
    /// issued them, for periods whose exports were not read.
    pub fn of(project: &Project, issued: &[&[Conservation]]) -> Summary {
        let mut sources = Vec::new();
        let mut all = Tally::default();
        for (period, data) in project.periods.iter().enumerate() {
            let per_export = tally_exports(data);
            let sealed = issued
                .get(period)
                .filter(|_| data.sealed && data.exports.is_empty());
            for (index, source) in project.config.sources.iter().enumerate() {
                let mut tally = Tally::default();
                for (export, counts) in data.exports.iter().zip(&per_export) {
                    if export.source == index {
                        tally.add(counts);
                    }
                }
                for c in sealed.into_iter().flat_map(|c| c.iter()) {
                    if c.source == source.name {
                        tally.add(&Tally {
                            files: 1,
                            rows_read: c.rows_read,
                            mapped: c.billed + c.out_of_flight,
                            unmapped: c.unmapped,
                            duplicate: c.duplicate,
                            total: c.total,
                            blank: c.blank,
                        });
                    }
                }
                all.add(&tally);
                sources.push(SourceTally {
                    period: data.period,
                    source: source.name.clone(),
                    tally,
                });
            }
        }
        Summary {
            agency: project.config.agency.name.clone(),
            periods: project.periods.iter().map(|p| p.period).collect(),
            clients: project.clients.len(),
            lines: project.lines.len(),
            sources,
            all,
        }
    }
}

/// The tally of each export of a period, in one pass over its leaves and rows.
fn tally_exports(data: &PeriodData) -> Vec<Tally> {
    let mut tallies: Vec<Tally> = data
        .exports
        .iter()
        .map(|export| {
            let mut tally = Tally {
                files: 1,
                ..Tally::default()
            };
            for class in &export.leaf_classes {
                match class {
                    LeafClass::Preamble | LeafClass::Header => continue,
                    LeafClass::Total => tally.total += 1,
                    LeafClass::Blank => tally.blank += 1,
                    LeafClass::Data => {}
                }
                tally.rows_read += 1;
            }
            tally
        })
        .collect();
    for (index, row) in data.rows.indexed() {
        let tally = &mut tallies[data.rows.origin(index).export()];
        match row.class {
            RowClass::Mapped { .. } => tally.mapped += 1,
            RowClass::Unmapped => tally.unmapped += 1,
            RowClass::Duplicate { .. } => tally.duplicate += 1,
        }
    }
    tallies
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let periods: Vec<_> = self.periods.iter().map(ToString::to_string).collect();
        writeln!(f, "agency   {}", self.agency)?;
        writeln!(
            f,
            "periods  {}",
            if periods.is_empty() {
                "none".into()
            } else {
                periods.join(", ")
            }
        )?;
        writeln!(f, "clients  {}", self.clients)?;
        writeln!(f, "lines    {}", self.lines)?;
        writeln!(f)?;
        let row = |f: &mut fmt::Formatter<'_>, period: &str, source: &str, t: &Tally| {
            writeln!(
                f,
                "{period:<8} {source:<16} {:>5} {:>9} {:>9} {:>9} {:>9} {:>6} {:>6}",
                t.files, t.rows_read, t.mapped, t.unmapped, t.duplicate, t.total, t.blank
            )
        };
        writeln!(
            f,
            "{:<8} {:<16} {:>5} {:>9} {:>9} {:>9} {:>9} {:>6} {:>6}",
            "period",
            "source",
            "files",
            "rows read",
            "mapped",
            "unmapped",
            "duplicate",
            "total",
            "blank"
        )?;
        for s in &self.sources {
            row(f, &s.period.to_string(), &s.source, &s.tally)?;
        }
        row(f, "all", "", &self.all)?;
        writeln!(f)?;
        let t = &self.all;
        let verdict = if t.balanced() {
            "every row accounted for"
        } else {
            "ROWS UNACCOUNTED FOR"
        };
        write!(
            f,
            "conservation: {} rows read = {} mapped + {} unmapped + {} duplicate + {} total + {} blank: {verdict}",
            t.rows_read, t.mapped, t.unmapped, t.duplicate, t.total, t.blank
        )
    }
}

/// The conservation report of one export at build time: rows read = billed + out of
/// flight + unmapped + duplicates + totals + blank, where "billed" are the mapped rows
/// in the flight of a line of their campaign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conservation {
    pub file: std::path::PathBuf,
    pub source: String,
    pub rows_read: usize,
    pub billed: usize,
    pub out_of_flight: usize,
    pub unmapped: usize,
    pub duplicate: usize,
    pub total: usize,
    pub blank: usize,
}

impl Conservation {
    pub fn balanced(&self) -> bool {
        self.rows_read
            == self.billed
                + self.out_of_flight
                + self.unmapped
                + self.duplicate
                + self.total
                + self.blank
    }
}

/// The conservation report of every export of a period, given its out-of-flight rows.
pub fn conservation(
    project: &Project,
    data: &PeriodData,
    out_of_flight: &[u32],
) -> Vec<Conservation> {
    let mut outside = vec![0usize; data.exports.len()];
    for row in out_of_flight {
        outside[data.rows.origin(*row).export()] += 1;
    }
    tally_exports(data)
        .into_iter()
        .zip(&data.exports)
        .zip(outside)
        .map(|((tally, export), out_of_flight)| Conservation {
            file: export.path.clone(),
            source: project.config.sources[export.source].name.clone(),
            rows_read: tally.rows_read,
            billed: tally.mapped.saturating_sub(out_of_flight),
            out_of_flight,
            unmapped: tally.unmapped,
            duplicate: tally.duplicate,
            total: tally.total,
            blank: tally.blank,
        })
        .collect()
}
