//! What becomes of each delivery row of a period: mapped to a campaign, unmapped, or an
//! identical duplicate counted once. Two rows with the same key and different metrics
//! are an error: a restated export must replace the stale one.

use crate::error::{ErrorKind, Problems};
use crate::model::{Crosswalk, PeriodData, RowClass, SourceConfig};
use std::collections::HashMap;
use std::collections::hash_map::Entry;

pub fn rows(
    data: &mut PeriodData,
    crosswalk: &Crosswalk,
    sources: &[SourceConfig],
    problems: &mut Problems,
) {
    let mut first = HashMap::with_capacity(data.rows.len());
    let mut classes = Vec::with_capacity(data.rows.len());
    for (index, row) in data.rows.iter().enumerate() {
        let key = (row.source, &*row.source_campaign_id, row.date, &*row.grain);
        classes.push(match first.entry(key) {
            Entry::Vacant(slot) => {
                slot.insert(index);
                match crosswalk.campaign(row.source, &row.source_campaign_id) {
                    Some(campaign) => RowClass::Mapped { campaign: campaign.clone() },
                    None => RowClass::Unmapped,
                }
            }
            Entry::Occupied(seen) => {
                let of = *seen.get();
                let earlier = &data.rows[of];
                if earlier.metrics != row.metrics || earlier.currency != row.currency {
                    let grain = if row.grain.is_empty() {
                        String::new()
                    } else {
                        let values: Vec<_> = sources[row.source].grain.iter().zip(row.grain.iter()).map(|(c, v)| format!("{c}={v}")).collect();
                        format!(", {}", values.join(", "))
                    };
                    let earlier_at = crate::error::Location::line(&data.exports[earlier.origin.export].path, earlier.origin.line);
                    let message = format!(
                        "conflicting duplicate: the row at {} has the same source `{}`, campaign id `{}`, date {}{grain} but different metrics; a restated export must replace the stale one",
                        earlier_at.file_line(),
                        sources[row.source].name,
                        row.source_campaign_id,
                        row.date,
                    );
                    let at = crate::error::Location::line(&data.exports[row.origin.export].path, row.origin.line);
                    problems.error(at, ErrorKind::Rule(message));
                }
                RowClass::Duplicate { of }
            }
        });
    }
    for (row, class) in data.rows.iter_mut().zip(classes) {
        row.class = class;
    }
}
