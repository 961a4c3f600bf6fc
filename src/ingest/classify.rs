//! What becomes of each delivery row of a period: mapped to a campaign, unmapped, or an
//! identical duplicate counted once. Two rows with the same key and different metrics
//! are an error: a restated export must replace the stale one. Rows keep no metrics, so
//! a duplicate's and its original's are read back from their leaves to compare them.

use super::export::read_metrics;
use crate::error::{ErrorKind, Location, Problems};
use crate::model::{
    Crosswalk, DayKey, DeliveryRow, Metric, Metrics, PeriodData, RowClass, Rows, SourceConfig,
    Totals,
};
use hashbrown::{DefaultHashBuilder, HashTable, hash_table::Entry};
use std::hash::BuildHasher;
use std::path::Path;
use std::sync::Arc;

/// What makes two rows the same delivery: their strings are the period's indices, equal
/// for equal strings.
fn key(row: &DeliveryRow) -> (u16, u32, chrono::NaiveDate, u32) {
    (row.source, row.source_campaign_id, row.date, row.grain)
}

/// Classifies every row of the period. The search for duplicates, one hash table
/// lookup per row, runs on every core: each core takes the keys whose hash falls in its
/// shard and goes through the rows in order, so a key's first row is the same as in one
/// pass. The campaigns are then numbered in the order their first rows come, as one
/// pass would have met them.
pub fn rows(
    dir: &Path,
    data: &mut PeriodData,
    crosswalk: &Crosswalk,
    sources: &[SourceConfig],
    problems: &mut Problems,
) {
    use rayon::prelude::*;
    let hasher = DefaultHashBuilder::default();
    let shards = rayon::current_num_threads().clamp(1, MAX_SHARDS);
    let rows = &data.rows;
    let found: Vec<Shard> = (0..shards)
        .into_par_iter()
        .map(|shard| Shard::find(rows, &hasher, shard, shards))
        .collect();
    // Each `(source, source campaign id)` with its first row, in row order.
    let mut firsts: hashbrown::HashMap<(u16, u32), u32> = hashbrown::HashMap::new();
    let mut duplicates: Vec<(u32, u32)> = Vec::new();
    for shard in found {
        for (source_campaign, index) in shard.firsts {
            let first = firsts.entry(source_campaign).or_insert(index);
            *first = (*first).min(index);
        }
        duplicates.extend(shard.duplicates);
    }
    duplicates.sort_unstable();
    let mut firsts: Vec<(u32, (u16, u32))> = firsts.into_iter().map(|(k, i)| (i, k)).collect();
    firsts.sort_unstable();
    // The campaigns rows map to, each once, numbered as first met; and the campaign
    // each `(source, source campaign id)` maps to.
    let mut campaigns: Vec<Arc<str>> = Vec::new();
    let mut numbers: hashbrown::HashMap<&str, u32> = hashbrown::HashMap::new();
    let mut mapped: hashbrown::HashMap<(u16, u32), Option<u32>> = hashbrown::HashMap::new();
    for (_, (source, id)) in firsts {
        let campaign = crosswalk.campaign(source.into(), rows.ids.get(id));
        let number = campaign.map(|campaign| {
            let next = campaigns.len() as u32;
            *numbers.entry(&**campaign).or_insert_with(|| {
                campaigns.push(campaign.clone());
                next
            })
        });
        mapped.insert((source, id), number);
    }
    let class = |row: &DeliveryRow| match mapped.get(&(row.source, row.source_campaign_id)) {
        Some(Some(campaign)) => RowClass::Mapped {
            campaign: *campaign,
        },
        _ => RowClass::Unmapped,
    };
    data.rows.set_classes(class);
    for (index, of) in &duplicates {
        data.rows[*index as usize].class = RowClass::Duplicate { of: *of };
    }
    check_duplicates(dir, data, &duplicates, sources, problems);
    let mapped = |source: u16, id: u32| mapped.get(&(source, id)).copied().flatten();
    data.rows.set_campaigns(campaigns, mapped);
}

/// More shards than this would each pass over every row for few keys of their own.
const MAX_SHARDS: usize = 8;

/// What one shard of the keys found: the first row of each `(source, source campaign
/// id)` among its keys' first rows, and each duplicate with the row it repeats.
struct Shard {
    firsts: hashbrown::HashMap<(u16, u32), u32>,
    duplicates: Vec<(u32, u32)>,
}

impl Shard {
    /// Goes through the rows whose key hashes into `shard` of `shards`, in order.
    fn find(rows: &Rows, hasher: &DefaultHashBuilder, shard: usize, shards: usize) -> Shard {
        // The first row of each key, by index: the table holds indices only, not keys.
        let mut first: HashTable<u32> = HashTable::with_capacity(rows.len() / shards);
        let mut found = Shard {
            firsts: hashbrown::HashMap::new(),
            duplicates: Vec::new(),
        };
        for (id, row) in rows.indexed() {
            let hash = hasher.hash_one(key(row));
            // Bits the table does not place by (the low ones) nor tag with (the top 7).
            if (hash >> 32) as usize % shards != shard {
                continue;
            }
            let entry = first.entry(
                hash,
                |&seen| key(&rows[seen]) == key(row),
                |&seen| hasher.hash_one(key(&rows[seen])),
            );
            match entry {
                Entry::Vacant(slot) => {
                    slot.insert(id);
                    let source_campaign = (row.source, row.source_campaign_id);
                    found.firsts.entry(source_campaign).or_insert(id);
                }
                Entry::Occupied(seen) => found.duplicates.push((id, *seen.get())),
            }
        }
        found
    }
}

/// Reads back the metrics of each duplicate and of the row it repeats: the same, and the
/// duplicate's are taken out of the sums (or its sum is made again, [`recount`]);
/// different, an error.
fn check_duplicates(
    dir: &Path,
    data: &mut PeriodData,
    duplicates: &[(u32, u32)],
    sources: &[SourceConfig],
    problems: &mut Problems,
) {
    if duplicates.is_empty() {
        return;
    }
    let both: Vec<u32> = duplicates
        .iter()
        .flat_map(|(row, of)| [*row, *of])
        .collect();
    let mut metrics: hashbrown::HashMap<u32, Metrics> = hashbrown::HashMap::new();
    let read = read_metrics(dir, data, sources, &both, |index, read| {
        metrics.insert(index, read);
    });
    if let Err(e) = read {
        problems.error(Location::file(&e.path), ErrorKind::Io(e.source));
        return;
    }
    let mut remade: hashbrown::HashSet<DayKey> = hashbrown::HashSet::new();
    for (index, of) in duplicates {
        let (row, earlier) = (&data.rows[*index], &data.rows[*of]);
        let (Some(read), Some(earlier_read)) = (metrics.get(index), metrics.get(of)) else {
            continue;
        };
        if read == earlier_read && row.currency == earlier.currency {
            // Taken out of its sum, unless the sum overflowed or the duplicate wrote a
            // number with more decimals (`5.000` for `5`): then the sum is made again
            // from the rows it keeps, as if the duplicate had never been added.
            let key = row.day_key();
            let overflowed = data.rows.totals(&key).is_some_and(Totals::overflowed);
            let wider = [Metric::Conversions, Metric::Spend].iter().any(|m| {
                (read.get(*m).zip(earlier_read.get(*m))).is_some_and(|(a, b)| a.scale() > b.scale())
            });
            if overflowed || wider {
                remade.insert(key);
            } else {
                data.rows.remove_duplicate(*index, read);
            }
            continue;
        }
        let rows = &data.rows;
        let grain = rows.grain(row);
        let grain = if grain.is_empty() {
            String::new()
        } else {
            let values: Vec<_> = sources[usize::from(row.source)]
                .grain
                .iter()
                .zip(grain.iter())
                .map(|(c, v)| format!("{c}={v}"))
                .collect();
            format!(", {}", values.join(", "))
        };
        let earlier_at = Location::line(
            &data.exports[data.rows.origin(*of).export()].path,
            data.line(data.rows.origin(*of)),
        );
        let message = format!(
            "conflicting duplicate: the row at {} has the same source `{}`, campaign id `{}`, date {}{grain} but different metrics; a restated export must replace the stale one",
            earlier_at.file_line(),
            sources[usize::from(row.source)].name,
            rows.source_campaign_id(row),
            row.date,
        );
        let at = Location::line(
            &data.exports[data.rows.origin(*index).export()].path,
            data.line(data.rows.origin(*index)),
        );
        problems.error(at, ErrorKind::Rule(message));
    }
    if !remade.is_empty() {
        recount(dir, data, &remade, sources, problems);
    }
}

/// Makes the sums of `keys` again from the rows they keep, read back: for a sum an
/// identical duplicate overflowed or wrote with more decimals, which taking its metrics
/// out could not undo.
fn recount(
    dir: &Path,
    data: &mut PeriodData,
    keys: &hashbrown::HashSet<DayKey>,
    sources: &[SourceConfig],
    problems: &mut Problems,
) {
    let kept: Vec<u32> = (data.rows.indexed())
        .filter(|(_, r)| !matches!(r.class, RowClass::Duplicate { .. }))
        .filter(|(_, r)| keys.contains(&r.day_key()))
        .map(|(index, _)| index)
        .collect();
    let mut sums: hashbrown::HashMap<DayKey, Totals> =
        keys.iter().map(|key| (*key, Totals::default())).collect();
    let rows = &data.rows;
    let read = read_metrics(dir, data, sources, &kept, |index, read| {
        if let Some(sum) = sums.get_mut(&rows[index].day_key()) {
            sum.add(&read, index);
        }
    });
    if let Err(e) = read {
        problems.error(Location::file(&e.path), ErrorKind::Io(e.source));
        return;
    }
    for (key, sum) in sums {
        data.rows.set_totals(key, sum);
    }
}
