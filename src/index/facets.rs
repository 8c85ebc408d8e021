//! Facet counts, from the facet fields' columns.
//!
//! Each segment counts the matching documents per term ordinal of a facet's column, in a dense
//! array (a count is one add, with no hashing and no term looked up). The top values of each
//! segment become candidates, and their counts are summed over all segments. tantivy's terms aggregation did the same job through its generic
//! aggregation machinery at 119 ms for four facets over 1M records; this is what a facet needs
//! and no more.
//!
//! As with any top-N over segments, a value can be missed only if it is outside the top
//! [`candidates`] of every segment yet inside the overall top N; the counts shown are exact.
//! Dictionary lookups are what cost (its blocks are compressed), so values are read in one
//! sorted pass per segment and looked up elsewhere only when they could still make the top N.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Column, StrColumn};
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

use super::query::FacetCount;

/// A facet to count: its name in requests and results, and the fast field it reads.
pub(crate) struct Facet {
    pub name: String,
    pub field: String,
    /// Years: numbers, listed newest first rather than by count.
    pub numeric: bool,
}

pub(crate) struct FacetCollector {
    pub facets: Vec<Facet>,
    pub size: usize,
    /// The query matches every document: a segment without deletions is counted straight from
    /// its columns' values, in order, instead of document by document.
    pub everything: bool,
}

/// How many of each segment's top values compete for the overall top `size`.
fn candidates(size: usize) -> usize {
    size * 4 + 16
}

pub(crate) enum SegmentCounts {
    Text { column: StrColumn, counts: Vec<u32> },
    Number { column: Column<u64>, min: u64, counts: Vec<u32> },
    Missing,
}

pub(crate) struct FacetSegmentCollector {
    counts: Vec<SegmentCounts>,
    /// The ordinals already counted for the current document (a value given twice counts once).
    seen: Vec<u64>,
}

impl Collector for FacetCollector {
    type Fruit = BTreeMap<String, Vec<FacetCount>>;
    type Child = FacetSegmentCollector;

    fn for_segment(&self, _segment: SegmentOrdinal, reader: &SegmentReader) -> tantivy::Result<Self::Child> {
        let fast = reader.fast_fields();
        let mut counts = Vec::with_capacity(self.facets.len());
        for facet in &self.facets {
            counts.push(if facet.numeric {
                let column = fast.u64(&facet.field)?;
                let (min, max) = (column.min_value(), column.max_value());
                // Years span a few centuries; anything wider is not a year column worth a dense array.
                match max.checked_sub(min).filter(|span| *span < 1 << 16) {
                    Some(span) => SegmentCounts::Number { column, min, counts: vec![0; span as usize + 1] },
                    None => SegmentCounts::Missing,
                }
            } else {
                match fast.str(&facet.field)? {
                    Some(column) => {
                        let terms = column.dictionary().num_terms();
                        SegmentCounts::Text { column, counts: vec![0; terms] }
                    }
                    None => SegmentCounts::Missing,
                }
            });
        }
        Ok(FacetSegmentCollector { counts, seen: Vec::new() })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn collect_segment(
        &self,
        weight: &dyn tantivy::query::Weight,
        segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<Vec<SegmentCounts>> {
        let mut collector = self.for_segment(segment, reader)?;
        if self.everything && reader.num_deleted_docs() == 0 {
            collector.count_every_value();
        } else if let Some(alive) = reader.alive_bitset() {
            let mut live = Vec::new();
            weight.for_each_no_score(reader, &mut |docs| {
                live.clear();
                live.extend(docs.iter().copied().filter(|doc| alive.is_alive(*doc)));
                collector.collect_block(&live);
            })?;
        } else {
            weight.for_each_no_score(reader, &mut |docs| collector.collect_block(docs))?;
        }
        Ok(collector.harvest())
    }

    fn merge_fruits(&self, segments: Vec<Vec<SegmentCounts>>) -> tantivy::Result<Self::Fruit> {
        let mut results = BTreeMap::new();
        for (number, facet) in self.facets.iter().enumerate() {
            let per_segment: Vec<&SegmentCounts> = segments.iter().filter_map(|s| s.get(number)).collect();
            let counts =
                if facet.numeric { years(&per_segment, self.size) } else { top_values(&per_segment, self.size)? };
            results.insert(facet.name.clone(), counts);
        }
        Ok(results)
    }
}

impl FacetSegmentCollector {
    /// Counts every value of every document, reading the columns' values in order. Documents
    /// hold each facet value once (see `document::build`), so this counts documents.
    fn count_every_value(&mut self) {
        let mut values = vec![0u64; 4096];
        for facet in &mut self.counts {
            let (column, min, counts) = match facet {
                SegmentCounts::Text { column, counts } => (column.ords(), 0, counts),
                SegmentCounts::Number { column, min, counts } => (&*column, *min, counts),
                SegmentCounts::Missing => continue,
            };
            let total = u64::from(column.values.num_vals());
            let mut start = 0;
            while start < total {
                let chunk = &mut values[..(total - start).min(4096) as usize];
                column.values.get_range(start, chunk);
                for value in chunk.iter() {
                    counts[(value - min) as usize] += 1;
                }
                start += chunk.len() as u64;
            }
        }
    }
}

impl SegmentCollector for FacetSegmentCollector {
    type Fruit = Vec<SegmentCounts>;

    fn collect(&mut self, doc: DocId, _score: Score) {
        self.collect_block(&[doc]);
    }

    /// Facet by facet over the block, so each column and count array stays in cache.
    fn collect_block(&mut self, docs: &[DocId]) {
        for facet in &mut self.counts {
            match facet {
                SegmentCounts::Text { column, counts } => {
                    for &doc in docs {
                        self.seen.clear();
                        for ord in column.term_ords(doc) {
                            if !self.seen.contains(&ord) {
                                self.seen.push(ord);
                                counts[ord as usize] += 1;
                            }
                        }
                    }
                }
                SegmentCounts::Number { column, min, counts } => {
                    for &doc in docs {
                        if let Some(value) = column.first(doc) {
                            counts[(value - *min) as usize] += 1;
                        }
                    }
                }
                SegmentCounts::Missing => {}
            }
        }
    }

    fn harvest(self) -> Self::Fruit {
        self.counts
    }
}

/// Year counts, newest first.
fn years(segments: &[&SegmentCounts], size: usize) -> Vec<FacetCount> {
    let mut totals: BTreeMap<u64, u64> = BTreeMap::new();
    for segment in segments {
        if let SegmentCounts::Number { min, counts, .. } = segment {
            for (offset, count) in counts.iter().enumerate().filter(|(_, c)| **c > 0) {
                *totals.entry(min + offset as u64).or_default() += u64::from(*count);
            }
        }
    }
    totals.into_iter().rev().take(size).map(|(year, count)| FacetCount { value: year.to_string(), count }).collect()
}

/// A segment's most frequent values, and a bound on the count of every other value in it.
struct SegmentTop {
    counts: BTreeMap<String, u64>,
    /// No value outside `counts` occurs more often than this in the segment.
    bound: u64,
}

/// The `candidates(size)` most frequent values of one segment, read from its dictionary in one
/// sorted pass (its blocks are compressed: looking ordinals up one by one would decompress a
/// block each time).
fn segment_top(column: &StrColumn, counts: &[u32], size: usize) -> tantivy::Result<SegmentTop> {
    let keep = candidates(size);
    let mut heap: BinaryHeap<Reverse<(u32, u32)>> = BinaryHeap::with_capacity(keep + 1);
    for (ord, &count) in counts.iter().enumerate() {
        if count == 0 || (heap.len() == keep && heap.peek().is_some_and(|Reverse(low)| low.0 >= count)) {
            continue;
        }
        heap.push(Reverse((count, ord as u32)));
        if heap.len() > keep {
            heap.pop();
        }
    }
    // Every value left out counts at most as much as the least frequent one kept.
    let bound = if heap.len() == keep { heap.peek().map_or(0, |Reverse((count, _))| u64::from(*count)) } else { 0 };
    let mut top: Vec<(u64, u32)> = heap.into_iter().map(|Reverse((count, ord))| (u64::from(ord), count)).collect();
    top.sort_unstable();
    let ords: Vec<u64> = top.iter().map(|(ord, _)| *ord).collect();
    let mut values = Vec::with_capacity(ords.len());
    column
        .dictionary()
        .sorted_ords_to_term_cb(&ords, |bytes| values.push(String::from_utf8_lossy(bytes).into_owned()))?;
    let counts = values.into_iter().zip(top).map(|(value, (_, count))| (value, u64::from(count))).collect();
    Ok(SegmentTop { counts, bound })
}

/// The `size` most frequent values, with exact counts, most frequent first (ties by value).
///
/// Each value's count is known in the segments where it is among the top; elsewhere it is at
/// most that segment's bound. Values whose best possible total cannot reach the `size`-th
/// known total are dropped; the others are looked up where their count is unknown.
fn top_values(segments: &[&SegmentCounts], size: usize) -> tantivy::Result<Vec<FacetCount>> {
    let mut tops = Vec::new();
    for segment in segments {
        if let SegmentCounts::Text { column, counts } = segment {
            tops.push((column, counts, segment_top(column, counts, size)?));
        }
    }
    let mut known: BTreeMap<&str, u64> = BTreeMap::new();
    for (_, _, top) in &tops {
        for (value, count) in &top.counts {
            *known.entry(value.as_str()).or_default() += count;
        }
    }
    let mut lower: Vec<u64> = known.values().copied().collect();
    lower.sort_unstable_by(|a, b| b.cmp(a));
    let cutoff = lower.get(size - 1).copied().unwrap_or(0);
    let mut totals = Vec::new();
    for (value, mut count) in known {
        let unknown = tops.iter().filter(|(_, _, top)| !top.counts.contains_key(value));
        let best = count + unknown.clone().map(|(_, _, top)| top.bound).sum::<u64>();
        if best < cutoff {
            continue;
        }
        for (column, counts, top) in unknown {
            if top.bound > 0
                && let Some(ord) = column.dictionary().term_ord(value)?
            {
                count += u64::from(counts[ord as usize]);
            }
        }
        totals.push(FacetCount { value: value.to_string(), count });
    }
    totals.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
    totals.truncate(size);
    Ok(totals)
}
