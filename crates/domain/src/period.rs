//! Calendar months, inclusive month ranges, and tiling a requested range with stored ones.
//!
//! Sales figures cover an inclusive range of whole months: one month, a quarter, a cumulative
//! Jan–Nov, a calendar or fiscal year. A query for a range is answered only from stored
//! ranges that exactly tile it ([`tile`]); missing months are reported, never taken as zero.

use std::fmt;
use std::str::FromStr;

use crate::validation::ValueError;

/// Earliest year a period or date may fall in.
pub const MIN_YEAR: i32 = 1900;
/// Latest year a period or date may fall in.
pub const MAX_YEAR: i32 = 2999;

/// A calendar month of a year between [`MIN_YEAR`] and [`MAX_YEAR`].
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct YearMonth {
    // Field order matters: the derived `Ord` is chronological.
    year: i32,
    month: u8,
}

impl YearMonth {
    /// The earliest representable month.
    pub const MIN: Self = Self {
        year: MIN_YEAR,
        month: 1,
    };
    /// The latest representable month.
    pub const MAX: Self = Self {
        year: MAX_YEAR,
        month: 12,
    };

    /// A month, checking the year range and that the month is 1..=12.
    pub fn new(year: i32, month: u8) -> Result<Self, ValueError> {
        check_year(year)?;
        if !(1..=12).contains(&month) {
            return Err(ValueError(format!("month must be 1..=12 (got {month})")));
        }
        Ok(Self { year, month })
    }

    /// The year.
    pub fn year(self) -> i32 {
        self.year
    }

    /// The month of the year, 1..=12.
    pub fn month(self) -> u8 {
        self.month
    }

    /// The calendar quarter, 1..=4.
    pub fn quarter(self) -> u8 {
        (self.month - 1) / 3 + 1
    }

    /// Months since January of year 0; consecutive months have consecutive indices.
    pub fn index(self) -> i32 {
        self.year * 12 + i32::from(self.month) - 1
    }

    /// The month with the given [`index`](Self::index); `None` outside the year range.
    pub fn from_index(index: i32) -> Option<Self> {
        let year = index.div_euclid(12);
        // rem_euclid(12) is in 0..12, so the conversion cannot fail.
        let month = u8::try_from(index.rem_euclid(12) + 1).ok()?;
        Self::new(year, month).ok()
    }

    /// The month `months` after this one (before, if negative); `None` outside the year range.
    pub fn add_months(self, months: i32) -> Option<Self> {
        Self::from_index(self.index().checked_add(months)?)
    }

    /// The next month; `None` after [`YearMonth::MAX`].
    #[inline]
    pub fn succ(self) -> Option<Self> {
        // `add_months(1)` without the index round trip (month series step through this).
        if self.month < 12 {
            Some(Self {
                year: self.year,
                month: self.month + 1,
            })
        } else if self.year < MAX_YEAR {
            Some(Self {
                year: self.year + 1,
                month: 1,
            })
        } else {
            None
        }
    }

    /// The previous month; `None` before [`YearMonth::MIN`].
    pub fn pred(self) -> Option<Self> {
        self.add_months(-1)
    }
}

impl fmt::Display for YearMonth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl FromStr for YearMonth {
    type Err = ValueError;

    /// Parses `YYYY-MM`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || {
            ValueError(format!(
                "expected a month as YYYY-MM, got {}",
                crate::validation::Shown(s)
            ))
        };
        let (year, month) = s.split_once('-').ok_or_else(invalid)?;
        let year = parse_digits(year, 4).ok_or_else(invalid)?;
        let month = parse_digits(month, 2).ok_or_else(invalid)?;
        Self::new(
            i32::try_from(year).map_err(|_| invalid())?,
            u8::try_from(month).map_err(|_| invalid())?,
        )
    }
}

/// Parses exactly `len` ASCII digits.
pub(crate) fn parse_digits(s: &str, len: usize) -> Option<u32> {
    if s.len() != len || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

pub(crate) fn check_year(year: i32) -> Result<(), ValueError> {
    if (MIN_YEAR..=MAX_YEAR).contains(&year) {
        Ok(())
    } else {
        Err(ValueError(format!(
            "year must be {MIN_YEAR}..={MAX_YEAR} (got {year})"
        )))
    }
}

pub(crate) fn check_quarter(quarter: u8) -> Result<(), ValueError> {
    if (1..=4).contains(&quarter) {
        Ok(())
    } else {
        Err(ValueError(format!("quarter must be 1..=4 (got {quarter})")))
    }
}

/// An inclusive, non-empty range of whole months, e.g. `2023-01..2023-11`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MonthRange {
    start: YearMonth,
    end: YearMonth,
}

impl MonthRange {
    /// The months from `start` to `end`, both included; `start` must not be after `end`.
    pub fn new(start: YearMonth, end: YearMonth) -> Result<Self, ValueError> {
        if start > end {
            return Err(ValueError(format!(
                "range start {start} is after its end {end}"
            )));
        }
        Ok(Self { start, end })
    }

    /// A single month.
    pub fn month(month: YearMonth) -> Self {
        Self {
            start: month,
            end: month,
        }
    }

    /// Calendar quarter `quarter` (1..=4) of `year`.
    pub fn quarter(year: i32, quarter: u8) -> Result<Self, ValueError> {
        check_quarter(quarter)?;
        let first = (quarter - 1) * 3 + 1;
        Self::new(
            YearMonth::new(year, first)?,
            YearMonth::new(year, first + 2)?,
        )
    }

    /// Calendar year `year`, January to December.
    pub fn year(year: i32) -> Result<Self, ValueError> {
        Self::new(YearMonth::new(year, 1)?, YearMonth::new(year, 12)?)
    }

    /// January of `through`'s year up to and including `through` (year to date).
    pub fn year_to_date(through: YearMonth) -> Self {
        Self {
            start: YearMonth {
                year: through.year,
                month: 1,
            },
            end: through,
        }
    }

    /// Fiscal year starting April `start_year` and ending March `start_year + 1` (the
    /// Japanese convention Nissan reports in; "FY2023" is 2023-04..2024-03).
    pub fn fiscal_year(start_year: i32) -> Result<Self, ValueError> {
        let end_year = start_year
            .checked_add(1)
            .ok_or_else(|| ValueError::new("fiscal year out of range"))?;
        Self::new(YearMonth::new(start_year, 4)?, YearMonth::new(end_year, 3)?)
    }

    /// The first month.
    pub fn start(self) -> YearMonth {
        self.start
    }

    /// The last month (included).
    pub fn end(self) -> YearMonth {
        self.end
    }

    /// Number of months in the range (at least 1).
    pub fn len_months(self) -> u32 {
        // end >= start is an invariant, so the difference is non-negative.
        (self.end.index() - self.start.index()).unsigned_abs() + 1
    }

    /// The months of the range, in order.
    pub fn months(self) -> Months {
        Months {
            next: self.start.index(),
            last: self.end.index(),
        }
    }

    /// True when `month` lies in the range.
    pub fn contains_month(self, month: YearMonth) -> bool {
        self.start <= month && month <= self.end
    }

    /// True when every month of `other` lies in this range.
    pub fn contains_range(self, other: Self) -> bool {
        self.start <= other.start && other.end <= self.end
    }

    /// True when the two ranges share at least one month.
    pub fn overlaps(self, other: Self) -> bool {
        self.start <= other.end && other.start <= self.end
    }

    /// The same months `years` years later (earlier, if negative); `None` outside the year range.
    pub fn shift_years(self, years: i32) -> Option<Self> {
        let months = years.checked_mul(12)?;
        Some(Self {
            start: self.start.add_months(months)?,
            end: self.end.add_months(months)?,
        })
    }

    /// The same months one year earlier: the base of a year-on-year comparison.
    pub fn same_range_previous_year(self) -> Option<Self> {
        self.shift_years(-1)
    }

    /// The range of equal length ending the month before this one starts (the base of a
    /// month-on-month or quarter-on-quarter comparison); `None` before [`YearMonth::MIN`].
    pub fn preceding(self) -> Option<Self> {
        let len = i32::try_from(self.len_months()).ok()?;
        Some(Self {
            start: self.start.add_months(-len)?,
            end: self.start.pred()?,
        })
    }

    /// True when the range is exactly one month.
    pub fn is_single_month(self) -> bool {
        self.start == self.end
    }

    /// True when the range is exactly one calendar quarter.
    pub fn is_calendar_quarter(self) -> bool {
        self.start.year == self.end.year
            && self.start.month % 3 == 1
            && self.end.month == self.start.month + 2
    }

    /// True when the range is exactly one calendar year.
    pub fn is_calendar_year(self) -> bool {
        self.start.year == self.end.year && self.start.month == 1 && self.end.month == 12
    }

    fn offset_of(self, month: YearMonth) -> usize {
        // Only called for months inside the range, so the difference is non-negative.
        usize::try_from(month.index() - self.start.index()).unwrap_or(0)
    }
}

impl fmt::Display for MonthRange {
    /// `2023-01..2023-11`, or just `2023-11` for a single month.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_single_month() {
            write!(f, "{}", self.start)
        } else {
            write!(f, "{}..{}", self.start, self.end)
        }
    }
}

impl FromStr for MonthRange {
    type Err = ValueError;

    /// Parses `YYYY-MM..YYYY-MM` or a single `YYYY-MM`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // The first `..`, found bytewise (a substring searcher costs more to set up than
        // these few bytes take to scan).
        match s.as_bytes().windows(2).position(|pair| pair == b"..") {
            Some(at) => Self::new(s[..at].parse()?, s[at + 2..].parse()?),
            None => Ok(Self::month(s.parse()?)),
        }
    }
}

/// Iterator over the months of a [`MonthRange`], in order.
#[derive(Clone, Debug)]
pub struct Months {
    next: i32,
    last: i32,
}

impl Iterator for Months {
    type Item = YearMonth;

    fn next(&mut self) -> Option<YearMonth> {
        if self.next > self.last {
            return None;
        }
        let month = YearMonth::from_index(self.next);
        self.next += 1;
        month
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = usize::try_from(self.last - self.next + 1).unwrap_or(0);
        (n, Some(n))
    }
}

impl DoubleEndedIterator for Months {
    fn next_back(&mut self) -> Option<YearMonth> {
        if self.next > self.last {
            return None;
        }
        let month = YearMonth::from_index(self.last);
        self.last -= 1;
        month
    }
}

impl ExactSizeIterator for Months {}

/// How a requested range can be answered from stored ranges.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tiling {
    /// Indices into the stored ranges, in chronological order, of pairwise-disjoint ranges
    /// inside the request whose union is exactly the request.
    Exact(Vec<usize>),
    /// No exact tiling exists.
    ///
    /// `covered` are the maximal runs of requested months covered by at least one usable
    /// stored range, `uncovered` the maximal runs covered by none; both sorted and together
    /// exactly the request. `uncovered` can be empty: every month may be covered and yet no
    /// disjoint selection tiles the request (Jan–Feb and Feb–Mar for Jan–Mar).
    Incomplete {
        /// Maximal runs of requested months that some usable stored range covers.
        covered: Vec<MonthRange>,
        /// Maximal runs of requested months that no usable stored range covers.
        uncovered: Vec<MonthRange>,
    },
}

impl Tiling {
    /// True for an exact tiling.
    pub fn is_exact(&self) -> bool {
        matches!(self, Self::Exact(_))
    }

    /// The pieces of an exact tiling, `None` when incomplete.
    pub fn pieces(&self) -> Option<&[usize]> {
        match self {
            Self::Exact(pieces) => Some(pieces),
            Self::Incomplete { .. } => None,
        }
    }
}

/// Finds the exact tiling of `request` by `stored` ranges with the fewest pieces.
///
/// Stored ranges that reach outside the request are never used: a figure cannot be split.
/// Among exact tilings with the fewest pieces, the one whose indices (in chronological
/// order) are lexicographically smallest wins, so the answer is deterministic. Callers pass
/// one figure per range (revisions already resolved); duplicates are harmless (lowest index
/// wins).
///
/// This is a shortest path over month boundaries: node `p` means "the first `p` months of
/// the request are tiled", each usable stored range an edge. Runs in
/// O(months + stored ranges).
pub fn tile(request: MonthRange, stored: &[MonthRange]) -> Tiling {
    let n = request.len_months() as usize;

    // Usable ranges as edges from their start boundary; indices stay ascending per bucket.
    let mut edges_from: Vec<Vec<(usize, usize)>> = vec![Vec::new(); n];
    // Difference array of coverage, for the incomplete answer.
    let mut coverage_delta = vec![0i64; n + 1];
    for (index, range) in stored.iter().enumerate() {
        if !request.contains_range(*range) {
            continue;
        }
        let from = request.offset_of(range.start);
        let to = request.offset_of(range.end) + 1;
        edges_from[from].push((to, index));
        coverage_delta[from] += 1;
        coverage_delta[to] -= 1;
    }

    // pieces_to_end[p]: fewest pieces tiling months p..n; choice[p]: first piece of that tiling.
    let mut pieces_to_end: Vec<Option<usize>> = vec![None; n + 1];
    let mut choice: Vec<Option<(usize, usize)>> = vec![None; n + 1];
    pieces_to_end[n] = Some(0);
    for p in (0..n).rev() {
        for &(to, index) in &edges_from[p] {
            let Some(rest) = pieces_to_end[to] else {
                continue;
            };
            let better = match pieces_to_end[p] {
                None => true,
                // Edges are visited in ascending index order, so only strictly fewer pieces
                // replace the current choice: ties keep the lower index.
                Some(best) => rest + 1 < best,
            };
            if better {
                pieces_to_end[p] = Some(rest + 1);
                choice[p] = Some((to, index));
            }
        }
    }

    if pieces_to_end[0].is_some() {
        let mut pieces = Vec::new();
        let mut p = 0;
        while let Some((to, index)) = choice[p] {
            pieces.push(index);
            p = to;
        }
        return Tiling::Exact(pieces);
    }

    let mut covered = Vec::new();
    let mut uncovered = Vec::new();
    let mut depth = 0i64;
    let mut run_start = 0usize;
    let mut run_covered = coverage_delta[0] > 0;
    for (offset, delta) in coverage_delta.iter().take(n).enumerate() {
        depth += delta;
        let is_covered = depth > 0;
        if is_covered != run_covered {
            push_run(
                request,
                run_start,
                offset,
                run_covered,
                &mut covered,
                &mut uncovered,
            );
            run_start = offset;
            run_covered = is_covered;
        }
    }
    push_run(
        request,
        run_start,
        n,
        run_covered,
        &mut covered,
        &mut uncovered,
    );
    Tiling::Incomplete { covered, uncovered }
}

/// Records request months `from..to` (offsets, `to` excluded) as one run.
fn push_run(
    request: MonthRange,
    from: usize,
    to: usize,
    is_covered: bool,
    covered: &mut Vec<MonthRange>,
    uncovered: &mut Vec<MonthRange>,
) {
    if from >= to {
        return;
    }
    let month_at = |offset: usize| {
        i32::try_from(offset)
            .ok()
            .and_then(|o| request.start.add_months(o))
    };
    // Offsets lie inside the request, so both months exist.
    if let (Some(start), Some(end)) = (month_at(from), month_at(to - 1)) {
        let run = MonthRange { start, end };
        if is_covered {
            covered.push(run);
        } else {
            uncovered.push(run);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ym(s: &str) -> YearMonth {
        s.parse().unwrap()
    }

    fn range(s: &str) -> MonthRange {
        s.parse().unwrap()
    }

    #[test]
    fn year_month_validates_year_and_month() {
        assert!(YearMonth::new(2023, 0).is_err());
        assert!(YearMonth::new(2023, 13).is_err());
        assert!(YearMonth::new(1899, 12).is_err());
        assert!(YearMonth::new(3000, 1).is_err());
        assert_eq!(YearMonth::new(2023, 11).unwrap().to_string(), "2023-11");
    }

    #[test]
    fn year_month_parses_only_yyyy_mm() {
        assert_eq!(ym("2023-01"), YearMonth::new(2023, 1).unwrap());
        for bad in [
            "2023-1",
            "23-01",
            "2023/01",
            "2023-13",
            "2023-01-01",
            "+023-01",
            "",
        ] {
            assert!(bad.parse::<YearMonth>().is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn succ_and_pred_cross_year_boundaries_and_stop_at_the_limits() {
        assert_eq!(ym("2023-12").succ(), Some(ym("2024-01")));
        assert_eq!(ym("2024-01").pred(), Some(ym("2023-12")));
        assert_eq!(YearMonth::MAX.succ(), None);
        assert_eq!(YearMonth::MIN.pred(), None);
        assert_eq!(ym("2023-11").add_months(-23), Some(ym("2021-12")));
    }

    #[test]
    fn quarter_of_month() {
        assert_eq!(ym("2023-03").quarter(), 1);
        assert_eq!(ym("2023-04").quarter(), 2);
        assert_eq!(ym("2023-12").quarter(), 4);
    }

    #[test]
    fn range_constructors_cover_the_intended_months() {
        assert_eq!(
            MonthRange::quarter(2023, 4).unwrap(),
            range("2023-10..2023-12")
        );
        assert!(MonthRange::quarter(2023, 5).is_err());
        assert_eq!(MonthRange::year(2023).unwrap(), range("2023-01..2023-12"));
        assert_eq!(
            MonthRange::year_to_date(ym("2023-11")),
            range("2023-01..2023-11")
        );
        assert!(MonthRange::new(ym("2023-02"), ym("2023-01")).is_err());
    }

    #[test]
    fn fiscal_year_runs_april_to_march() {
        assert_eq!(
            MonthRange::fiscal_year(2023).unwrap(),
            range("2023-04..2024-03")
        );
        assert!(MonthRange::fiscal_year(MAX_YEAR).is_err());
    }

    #[test]
    fn yoy_of_cumulative_range_uses_same_months_last_year() {
        assert_eq!(
            range("2023-01..2023-11").same_range_previous_year(),
            Some(range("2022-01..2022-11"))
        );
    }

    #[test]
    fn preceding_of_a_quarter_is_the_previous_quarter() {
        assert_eq!(
            MonthRange::quarter(2023, 3).unwrap().preceding(),
            Some(MonthRange::quarter(2023, 2).unwrap())
        );
        assert_eq!(
            range("2023-01..2023-03").preceding(),
            Some(range("2022-10..2022-12"))
        );
        assert_eq!(range("2023-05").preceding(), Some(range("2023-04")));
        assert_eq!(MonthRange::month(YearMonth::MIN).preceding(), None);
    }

    #[test]
    fn range_predicates() {
        let jan_nov = range("2023-01..2023-11");
        assert_eq!(jan_nov.len_months(), 11);
        assert!(jan_nov.contains_month(ym("2023-11")));
        assert!(!jan_nov.contains_month(ym("2023-12")));
        assert!(jan_nov.contains_range(range("2023-03..2023-05")));
        assert!(!jan_nov.contains_range(range("2023-11..2023-12")));
        assert!(jan_nov.overlaps(range("2023-11..2023-12")));
        assert!(!jan_nov.overlaps(range("2023-12..2024-01")));
        assert!(range("2023-07").is_single_month());
        assert!(range("2023-07..2023-09").is_calendar_quarter());
        assert!(!range("2023-08..2023-10").is_calendar_quarter());
        assert!(range("2023-01..2023-12").is_calendar_year());
        assert!(!MonthRange::fiscal_year(2023).unwrap().is_calendar_year());
    }

    #[test]
    fn months_iterates_in_order_both_ways() {
        let r = range("2023-11..2024-02");
        let forward: Vec<String> = r.months().map(|m| m.to_string()).collect();
        assert_eq!(forward, ["2023-11", "2023-12", "2024-01", "2024-02"]);
        assert_eq!(r.months().len(), 4);
        assert_eq!(r.months().next_back(), Some(ym("2024-02")));
    }

    #[test]
    fn range_display_and_parse_round_trip() {
        assert_eq!(range("2023-01..2023-11").to_string(), "2023-01..2023-11");
        assert_eq!(range("2023-11").to_string(), "2023-11");
        assert_eq!(range("2023-11..2023-11"), range("2023-11"));
        assert!("2023-11..2023-01".parse::<MonthRange>().is_err());
        assert!("2023-11..".parse::<MonthRange>().is_err());
    }

    fn monthly(from: &str, to: &str) -> Vec<MonthRange> {
        range(&format!("{from}..{to}"))
            .months()
            .map(MonthRange::month)
            .collect()
    }

    #[test]
    fn tiling_by_monthly_figures_uses_every_month() {
        let stored = monthly("2023-01", "2023-11");
        assert_eq!(
            tile(range("2023-01..2023-11"), &stored),
            Tiling::Exact((0..11).collect())
        );
    }

    #[test]
    fn tiling_by_one_cumulative_figure() {
        let stored = [range("2022-01..2022-11"), range("2023-01..2023-11")];
        assert_eq!(
            tile(range("2023-01..2023-11"), &stored),
            Tiling::Exact(vec![1])
        );
    }

    #[test]
    fn tiling_by_a_quarter_and_monthly_figures() {
        let mut stored = monthly("2023-04", "2023-11");
        stored.push(MonthRange::quarter(2023, 1).unwrap());
        let mut expected = vec![8];
        expected.extend(0..8);
        assert_eq!(
            tile(range("2023-01..2023-11"), &stored),
            Tiling::Exact(expected)
        );
    }

    #[test]
    fn tiling_prefers_fewest_pieces_when_cumulative_and_monthly_both_exist() {
        let mut stored = monthly("2023-01", "2023-11");
        stored.push(range("2023-01..2023-11"));
        assert_eq!(
            tile(range("2023-01..2023-11"), &stored),
            Tiling::Exact(vec![11])
        );
        // A quarter plus months beats months alone even when the quarter comes last.
        let mut stored = monthly("2023-01", "2023-06");
        stored.push(MonthRange::quarter(2023, 2).unwrap());
        assert_eq!(
            tile(range("2023-01..2023-06"), &stored),
            Tiling::Exact(vec![0, 1, 2, 6])
        );
    }

    #[test]
    fn tiling_ties_are_broken_by_lowest_indices() {
        let stored = [
            range("2023-01..2023-02"),
            range("2023-03"),
            range("2023-01"),
            range("2023-02..2023-03"),
            range("2023-01..2023-02"),
        ];
        assert_eq!(
            tile(range("2023-01..2023-03"), &stored),
            Tiling::Exact(vec![0, 1])
        );
    }

    #[test]
    fn tiling_with_gaps_lists_uncovered_months() {
        let mut stored = monthly("2023-01", "2023-03");
        stored.extend(monthly("2023-06", "2023-11"));
        assert_eq!(
            tile(range("2023-01..2023-12"), &stored),
            Tiling::Incomplete {
                covered: vec![range("2023-01..2023-03"), range("2023-06..2023-11")],
                uncovered: vec![range("2023-04..2023-05"), range("2023-12")],
            }
        );
    }

    #[test]
    fn overlapping_ranges_cannot_tile_although_every_month_is_covered() {
        let stored = [range("2023-01..2023-02"), range("2023-02..2023-03")];
        assert_eq!(
            tile(range("2023-01..2023-03"), &stored),
            Tiling::Incomplete {
                covered: vec![range("2023-01..2023-03")],
                uncovered: vec![],
            }
        );
    }

    #[test]
    fn ranges_partly_outside_the_request_are_ignored() {
        let stored = [range("2022-12..2023-02"), range("2023-02..2023-04")];
        assert_eq!(
            tile(range("2023-01..2023-03"), &stored),
            Tiling::Incomplete {
                covered: vec![],
                uncovered: vec![range("2023-01..2023-03")],
            }
        );
        let stored = [range("2022-12..2023-01"), range("2023-01..2023-03")];
        assert_eq!(
            tile(range("2023-01..2023-03"), &stored),
            Tiling::Exact(vec![1])
        );
    }

    #[test]
    fn tiling_with_nothing_stored_is_all_uncovered() {
        assert_eq!(
            tile(range("2023-05"), &[]),
            Tiling::Incomplete {
                covered: vec![],
                uncovered: vec![range("2023-05")],
            }
        );
    }
}
