//! What becomes of each delivery row of a period: mapped to a campaign, unmapped, or an
//! identical duplicate counted once. Two rows with the same key and different metrics
//! are an error: a restated export must replace the stale one.

use crate::error::{ErrorKind, Problems};
use crate::model::{Crosswalk, DeliveryRow, PeriodData, RowClass, SourceConfig};
use hashbrown::{DefaultHashBuilder, HashTable, hash_table::Entry};
use std::hash::BuildHasher;

/// What makes two rows the same delivery.
fn key(row: &DeliveryRow) -> (usize, &str, chrono::NaiveDate, &[std::sync::Arc<str>]) {
    (row.source, &row.source_campaign_id, row.date, &row.grain)
}

pub fn rows(
    data: &mut PeriodData,
    crosswalk: &Crosswalk,
    sources: &[SourceConfig],
    problems: &mut Problems,
) {
    // The first row of each key, by index: the table holds indices only, not keys.
    let hasher = DefaultHashBuilder::default();
    let mut first: HashTable<usize> = HashTable::with_capacity(data.rows.len());
    for index in 0..data.rows.len() {
        let rows = &data.rows;
        let row = &rows[index];
        let hash = hasher.hash_one(key(row));
        let entry = first.entry(
            hash,
            |&seen| key(&rows[seen]) == key(row),
            |&seen| hasher.hash_one(key(&rows[seen])),
        );
        let class = match entry {
            Entry::Vacant(slot) => {
                slot.insert(index);
                match crosswalk.campaign(row.source, &row.source_campaign_id) {
                    Some(campaign) => RowClass::Mapped {
                        campaign: campaign.clone(),
                    },
                    None => RowClass::Unmapped,
                }
            }
            Entry::Occupied(seen) => {
                let of = *seen.get();
                let earlier = &rows[of];
                if earlier.metrics != row.metrics || earlier.currency != row.currency {
                    let grain = if row.grain.is_empty() {
                        String::new()
                    } else {
                        let values: Vec<_> = sources[row.source]
                            .grain
                            .iter()
                            .zip(row.grain.iter())
                            .map(|(c, v)| format!("{c}={v}"))
                            .collect();
                        format!(", {}", values.join(", "))
                    };
                    let earlier_at = crate::error::Location::line(
                        &data.exports[earlier.origin.export].path,
                        earlier.origin.line,
                    );
                    let message = format!(
                        "conflicting duplicate: the row at {} has the same source `{}`, campaign id `{}`, date {}{grain} but different metrics; a restated export must replace the stale one",
                        earlier_at.file_line(),
                        sources[row.source].name,
                        row.source_campaign_id,
                        row.date,
                    );
                    let at = crate::error::Location::line(
                        &data.exports[row.origin.export].path,
                        row.origin.line,
                    );
                    problems.error(at, ErrorKind::Rule(message));
                }
                RowClass::Duplicate { of }
            }
        };
        data.rows[index].class = class;
    }
}
