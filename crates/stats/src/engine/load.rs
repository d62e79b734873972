//! Loading figures: one at a time ([`Engine::insert`]) or a batch with one merge per series
//! ([`Engine::insert_all`]), each placed in its revision chain.

use std::cmp::Ordering;

use autointel_domain::SalesFigure;

use super::layout::{
    Entry, FastMap, LONG_SERIES, NONE, Numbers, Row, UNITS_LIMIT, as_of_code, figure_number,
    month_code, period_code, stage_code,
};
use super::{Engine, EngineError, FigureRef};

impl Engine {
    /// Adds one figure (an import or a refresh) with its import time in microseconds since
    /// the Unix epoch, placing it in its revision chain.
    pub fn insert(
        &mut self,
        figure: &SalesFigure,
        create_time_micros: i64,
    ) -> Result<FigureRef, EngineError> {
        let (series, entry) = self.add_row(figure, create_time_micros, 0)?;
        self.place(series, entry);
        self.index_long_series(series, &[entry]);
        Ok(FigureRef(entry.row))
    }

    /// Adds figures in order, skipping those already loaded (by id), with the same result as
    /// [`Engine::insert`] of each in turn; returns how many were added. Each series touched
    /// takes its new figures in one merge (linear in its new figures and in the entries
    /// after the first place one goes), where inserting them one at a time would shift the
    /// rest of the series once per figure: quadratic for a long chain imported newest
    /// first. On an error the figures before the failing one stay added.
    pub fn insert_all<'a>(
        &mut self,
        figures: impl IntoIterator<Item = (&'a SalesFigure, i64)>,
    ) -> Result<usize, EngineError> {
        self.insert_stored(figures.into_iter().map(|(f, t)| (f, t, 0)))
    }

    /// [`Engine::insert_all`] of stored figures, each with its import time and its store
    /// sequence number (at least 1; 0 for none), which listings at a sequence mark read.
    pub fn insert_stored<'a>(
        &mut self,
        figures: impl IntoIterator<Item = (&'a SalesFigure, i64, i64)>,
    ) -> Result<usize, EngineError> {
        let mut added: Vec<(u32, Entry)> = Vec::new();
        let mut failure = None;
        for (figure, create_time_micros, seq) in figures {
            if self.contains(&figure.id) {
                continue;
            }
            match self.add_row(figure, create_time_micros, seq) {
                Ok(placed) => added.push(placed),
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        let count = added.len();
        // Rows were added in ascending order, so each series' group stays in row order.
        added.sort_by_key(|&(series, _)| series);
        for group in added.chunk_by(|a, b| a.0 == b.0) {
            let series = group[0].0;
            let entries: Vec<Entry> = group.iter().map(|&(_, e)| e).collect();
            if entries.len() == 1 || self.irregular.contains(&series) {
                for &e in &entries {
                    self.place(series, e);
                }
            } else {
                self.merge(series, entries.clone());
            }
            self.index_long_series(series, &entries);
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(count),
        }
    }

    /// Stores a figure's row (everything but its place in its series); returns its series
    /// and the entry to place.
    fn add_row(
        &mut self,
        figure: &SalesFigure,
        create_time_micros: i64,
        seq: i64,
    ) -> Result<(u32, Entry), EngineError> {
        let number = figure_number(&figure.id)
            .ok_or_else(|| EngineError::ForeignId(figure.id.to_string()))?;
        if self.row_of(number).is_some() {
            return Err(EngineError::Duplicate(figure.id.to_string()));
        }
        let units = figure.units.get();
        if units >= UNITS_LIMIT {
            return Err(EngineError::Unrepresentable(
                figure.id.to_string(),
                "units of 2^40 or more",
            ));
        }
        let r = u32::try_from(self.rows.len())
            .ok()
            .filter(|&r| r != NONE)
            .ok_or_else(|| {
                EngineError::Unrepresentable(figure.id.to_string(), "more than 2^32 - 1 figures")
            })?;
        let key = self.intern_key(&figure.key, figure.nature);
        let series = match self.series.get(&key) {
            Some(&s) => s,
            None => {
                let s = u32::try_from(self.series_keys.len()).unwrap_or(NONE);
                self.series.insert(key, s);
                self.series_keys.push(key);
                self.series_ranks = std::sync::OnceLock::new();
                self.entries.push(Vec::new());
                self.index_series(key, s);
                s
            }
        };
        let supersedes = figure
            .provenance
            .supersedes
            .as_ref()
            .and_then(figure_number)
            .and_then(|n| self.row_of(n));
        let row = Row::pack(
            units,
            as_of_code(figure.provenance.as_of),
            stage_code(figure.provenance.stage),
            series,
            self.sources.intern(&figure.provenance.source),
        );
        // Revision order consults a link only between figures of one series with the same
        // stage and as-of date (`revision_cmp`), so only such links are kept: a final figure
        // naming its preliminary, the usual case, costs nothing.
        let tie = supersedes.filter(|&s| {
            let other = &self.rows[s as usize];
            other.series == series && other.order() == row.order()
        });
        if let Some(s) = tie
            && self.numbers.get(s as usize) > number
        {
            // A link that revision order ranks against id order (see `irregular`).
            self.irregular.insert(series);
        }
        self.as_of_zones.push(self.rows.len(), row.as_of());
        self.rows.push(row);
        self.numbers.push(number);
        self.ids.insert(r, &self.numbers);
        if self
            .create_runs
            .last()
            .is_none_or(|&(_, t)| t != create_time_micros)
        {
            self.create_runs.push((r, create_time_micros));
        }
        self.record_seq(r, seq.max(0));
        if let Some(note) = &figure.note {
            self.notes.insert(r, note.clone().into_boxed_str());
        }
        if let Some(prior) = figure.comparable_prior {
            self.comparable_priors.insert(r, prior.get());
        }
        if let Some(s) = tie {
            self.supersedes.insert(r, s);
        }
        let (start, end) = (
            month_code(figure.period.start()),
            month_code(figure.period.end()),
        );
        Ok((series, Entry { start, end, row: r }))
    }

    /// Places one entry in its series: after every entry of its chain that revision order
    /// ranks before it.
    fn place(&mut self, series: u32, entry: Entry) {
        let (start, end) = entry.period();
        let r = entry.row;
        let list = &self.entries[series as usize];
        let lo = list.partition_point(|e| e.period() < (start, end));
        let same = list[lo..].partition_point(|e| e.period() == (start, end));
        let pos = lo
            + list[lo..lo + same].partition_point(|e| {
                revision_cmp(&self.rows, &self.numbers, &self.supersedes, e.row, r)
                    == Ordering::Less
            });
        let list = &mut self.entries[series as usize];
        if list.len() == list.capacity() {
            // Grow by an eighth, not double: a series' entries are 8 bytes a figure and
            // doubling would leave up to half of them as slack.
            list.reserve_exact((list.len() / 8).max(4));
        }
        list.insert(pos, entry);
    }

    /// Places several entries of a series that is not irregular in one backward merge.
    /// There revision order is (period, stage, as-of, number), a total order that every
    /// insert has kept the series sorted by, so placing the entries one by one would give
    /// exactly this sorted merge. Linear in the entries after the first new one, moved in
    /// place; a figure's number is read only to break a tie on everything else.
    fn merge(&mut self, series: u32, mut new: Vec<Entry>) {
        let Engine {
            entries,
            rows,
            numbers,
            ..
        } = self;
        let order = |a: &Entry, b: &Entry| -> Ordering {
            let (ra, rb) = (&rows[a.row as usize], &rows[b.row as usize]);
            (a.start, a.end, ra.order())
                .cmp(&(b.start, b.end, rb.order()))
                .then_with(|| {
                    numbers
                        .get(a.row as usize)
                        .cmp(&numbers.get(b.row as usize))
                })
        };
        new.sort_by(order);
        let Some(&filler) = new.first() else {
            return;
        };
        let list = &mut entries[series as usize];
        let old_len = list.len();
        let wanted = old_len + new.len();
        if list.capacity() < wanted {
            list.reserve_exact((wanted - old_len).max(old_len / 8).max(4));
        }
        list.resize(wanted, filler);
        let (mut i, mut j) = (old_len, new.len());
        for k in (0..wanted).rev() {
            if j == 0 {
                break;
            }
            if i > 0 && order(&list[i - 1], &new[j - 1]) == Ordering::Greater {
                list[k] = list[i - 1];
                i -= 1;
            } else {
                list[k] = new[j - 1];
                j -= 1;
            }
        }
    }

    /// Keeps the row → period index of a series longer than [`LONG_SERIES`]: `added` are its
    /// newest entries, in row order, already placed.
    fn index_long_series(&mut self, series: u32, added: &[Entry]) {
        if let Some(index) = self.long_series.get_mut(&series) {
            index.extend(added.iter().map(|e| (e.row, period_code(e.period()))));
            return;
        }
        let list = &self.entries[series as usize];
        if list.len() > LONG_SERIES {
            let mut index: Vec<(u32, u32)> = list
                .iter()
                .map(|e| (e.row, period_code(e.period())))
                .collect();
            index.sort_unstable_by_key(|&(row, _)| row);
            self.long_series.insert(series, index);
        }
    }
}

/// Revision order of two rows: stage, then as-of date; on a tie the row that names the
/// other as superseded comes later, else the larger id (as `SalesFigure::latest_known`).
fn revision_cmp(
    rows: &[Row],
    numbers: &Numbers,
    supersedes: &FastMap<u32, u32>,
    a: u32,
    b: u32,
) -> Ordering {
    let (ra, rb) = (&rows[a as usize], &rows[b as usize]);
    ra.order().cmp(&rb.order()).then_with(|| {
        if supersedes.get(&a) == Some(&b) {
            Ordering::Greater
        } else if supersedes.get(&b) == Some(&a) {
            Ordering::Less
        } else {
            numbers.get(a as usize).cmp(&numbers.get(b as usize))
        }
    })
}
