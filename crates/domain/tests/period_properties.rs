//! Property tests for month arithmetic and tiling.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use autointel_domain::{MonthRange, Tiling, YearMonth, tile};
use proptest::prelude::*;

fn any_year_month() -> impl Strategy<Value = YearMonth> {
    (YearMonth::MIN.index()..=YearMonth::MAX.index())
        .prop_map(|i| YearMonth::from_index(i).unwrap())
}

/// Ranges well inside the supported years, so shifting by a year stays representable.
fn inner_range() -> impl Strategy<Value = MonthRange> {
    // Starts at least four years inside the supported span so that shifting
    // and preceding (up to 37 months back) stay in range.
    (1904 * 12..2990 * 12, 0..36i32).prop_map(|(start, extra)| {
        let start = YearMonth::from_index(start).unwrap();
        MonthRange::new(start, start.add_months(extra).unwrap()).unwrap()
    })
}

/// A request and stored ranges near it (some reaching outside, some overlapping).
fn tiling_case() -> impl Strategy<Value = (MonthRange, Vec<MonthRange>)> {
    (1..=18i32)
        .prop_flat_map(|len| {
            let stored = prop::collection::vec((-3..len + 2, 0..8i32), 0..10);
            (Just(len), stored)
        })
        .prop_map(|(len, stored)| {
            let start = YearMonth::new(2022, 1).unwrap();
            let request = MonthRange::new(start, start.add_months(len - 1).unwrap()).unwrap();
            let stored = stored
                .into_iter()
                .map(|(offset, extra)| {
                    let s = start.add_months(offset).unwrap();
                    MonthRange::new(s, s.add_months(extra).unwrap()).unwrap()
                })
                .collect();
            (request, stored)
        })
}

/// A request, a random partition of it, and a few other ranges, shuffled by position.
fn tileable_case() -> impl Strategy<Value = (MonthRange, Vec<MonthRange>)> {
    (
        1..=8i32,
        prop::collection::vec(any::<bool>(), 8),
        prop::collection::vec((-2..9i32, 0..4i32), 0..5),
        any::<bool>(),
    )
        .prop_map(|(len, cuts, extras, partition_first)| {
            let start = YearMonth::new(2023, 1).unwrap();
            let at = |offset: i32| start.add_months(offset).unwrap();
            let request = MonthRange::new(start, at(len - 1)).unwrap();
            let mut partition = Vec::new();
            let mut piece_start = 0;
            for offset in 0..len {
                if offset == len - 1 || cuts[offset as usize] {
                    partition.push(MonthRange::new(at(piece_start), at(offset)).unwrap());
                    piece_start = offset + 1;
                }
            }
            let extras: Vec<MonthRange> = extras
                .into_iter()
                .map(|(o, e)| MonthRange::new(at(o), at(o + e)).unwrap())
                .collect();
            let stored = if partition_first {
                [partition, extras].concat()
            } else {
                [extras, partition].concat()
            };
            (request, stored)
        })
}

fn month_set(ranges: &[MonthRange]) -> BTreeSet<YearMonth> {
    ranges.iter().flat_map(|r| r.months()).collect()
}

/// Fewest pieces of any exact tiling, by brute force over subsets.
fn brute_force_fewest(request: MonthRange, stored: &[MonthRange]) -> Option<usize> {
    let mut best = None;
    for mask in 0u32..(1 << stored.len()) {
        let chosen: Vec<MonthRange> = (0..stored.len())
            .filter(|i| mask & (1 << i) != 0)
            .map(|i| stored[i])
            .collect();
        let total: u32 = chosen.iter().map(|r| r.len_months()).sum();
        let inside = chosen.iter().all(|r| request.contains_range(*r));
        if inside && total == request.len_months() && month_set(&chosen).len() as u32 == total {
            let n = chosen.len();
            best = Some(best.map_or(n, |b: usize| b.min(n)));
        }
    }
    best
}

proptest! {
    #[test]
    fn year_month_index_round_trips(month in any_year_month()) {
        prop_assert_eq!(YearMonth::from_index(month.index()), Some(month));
        prop_assert_eq!(month.to_string().parse::<YearMonth>().unwrap(), month);
    }

    #[test]
    fn succ_then_pred_is_identity(month in any_year_month()) {
        if let Some(next) = month.succ() {
            prop_assert_eq!(next.pred(), Some(month));
            prop_assert!(next > month);
        }
    }

    #[test]
    fn shifting_a_year_forward_and_back_is_identity(range in inner_range()) {
        let shifted = range.shift_years(1).unwrap();
        prop_assert_eq!(shifted.shift_years(-1), Some(range));
        prop_assert_eq!(shifted.len_months(), range.len_months());
        prop_assert_eq!(shifted.same_range_previous_year(), Some(range));
    }

    #[test]
    fn preceding_range_ends_right_before_and_has_equal_length(range in inner_range()) {
        let before = range.preceding().unwrap();
        prop_assert_eq!(before.end().succ(), Some(range.start()));
        prop_assert_eq!(before.len_months(), range.len_months());
        prop_assert!(!before.overlaps(range));
    }

    #[test]
    fn range_display_round_trips(range in inner_range()) {
        prop_assert_eq!(range.to_string().parse::<MonthRange>().unwrap(), range);
        prop_assert_eq!(range.months().count() as u32, range.len_months());
    }

    #[test]
    fn range_tiled_by_its_own_months_is_exact(range in inner_range()) {
        let months: Vec<MonthRange> = range.months().map(MonthRange::month).collect();
        let tiling = tile(range, &months);
        let expected: Vec<usize> = (0..range.len_months() as usize).collect();
        prop_assert_eq!(tiling, Tiling::Exact(expected));
    }

    #[test]
    fn request_with_a_stored_partition_always_tiles_with_fewest_pieces(
        (request, stored) in tileable_case()
    ) {
        let tiling = tile(request, &stored);
        let pieces = tiling.pieces().unwrap();
        prop_assert_eq!(Some(pieces.len()), brute_force_fewest(request, &stored));
        let ranges: Vec<MonthRange> = pieces.iter().map(|&i| stored[i]).collect();
        prop_assert_eq!(month_set(&ranges), month_set(&[request]));
        let total: u32 = ranges.iter().map(|r| r.len_months()).sum();
        prop_assert_eq!(total, request.len_months());
    }

    #[test]
    fn exact_tiling_is_a_minimal_disjoint_cover_of_the_request(
        (request, stored) in tiling_case()
    ) {
        match tile(request, &stored) {
            Tiling::Exact(pieces) => {
                let ranges: Vec<MonthRange> = pieces.iter().map(|&i| stored[i]).collect();
                prop_assert!(ranges.iter().all(|r| request.contains_range(*r)));
                let total: u32 = ranges.iter().map(|r| r.len_months()).sum();
                prop_assert_eq!(total, request.len_months());
                prop_assert_eq!(month_set(&ranges), month_set(&[request]));
                // Chronological and contiguous.
                prop_assert_eq!(ranges.first().map(|r| r.start()), Some(request.start()));
                for pair in ranges.windows(2) {
                    prop_assert_eq!(pair[0].end().succ(), Some(pair[1].start()));
                }
                prop_assert_eq!(Some(pieces.len()), brute_force_fewest(request, &stored));
            }
            Tiling::Incomplete { covered, uncovered } => {
                prop_assert_eq!(brute_force_fewest(request, &stored), None);
                let covered_months = month_set(&covered);
                let uncovered_months = month_set(&uncovered);
                prop_assert!(covered_months.is_disjoint(&uncovered_months));
                let all: BTreeSet<_> = covered_months.union(&uncovered_months).copied().collect();
                prop_assert_eq!(all, month_set(&[request]));
                let usable: Vec<MonthRange> =
                    stored.iter().copied().filter(|r| request.contains_range(*r)).collect();
                prop_assert_eq!(covered_months, month_set(&usable));
                // Sorted, maximal runs: no two runs of one kind touch.
                for runs in [&covered, &uncovered] {
                    for pair in runs.windows(2) {
                        prop_assert!(pair[0].end().succ().unwrap() < pair[1].start());
                    }
                }
            }
        }
    }
}
