//! Where things sit on a chart's axes: months as x positions, calendar ticks, a round top
//! for the value axis, and the runs of points a line joins (a point without a value breaks
//! the line). Pure arithmetic, tested on its own.

use autointel_domain::{Date, MonthRange, YearMonth, days_in_month};

use super::model::Point;

/// The x position of the start of `month`: months from the start of `axis`.
pub fn x_of_month(axis: MonthRange, month: YearMonth) -> f64 {
    f64::from(month.index() - axis.start().index())
}

/// The x position of the start of `day` (a fraction of its month).
pub fn x_of_day(axis: MonthRange, day: Date) -> f64 {
    let month = day.year_month();
    let days = f64::from(days_in_month(day.year(), day.month()));
    x_of_month(axis, month) + f64::from(day.day() - 1) / days
}

/// The x extent of `period`: from the start of its first month to the end of its last,
/// clipped to the axis.
pub fn x_extent(axis: MonthRange, period: MonthRange) -> (f64, f64) {
    let width = f64::from(axis.len_months());
    let a = x_of_month(axis, period.start()).clamp(0.0, width);
    let b = (x_of_month(axis, period.end()) + 1.0).clamp(0.0, width);
    (a, b)
}

/// The x extent of an event's possible days (the day itself for an exact date).
pub fn x_of_event(axis: MonthRange, first: Date, last: Date) -> (f64, f64) {
    let end = last
        .succ()
        .map_or_else(|| x_of_day(axis, last) + 0.03, |next| x_of_day(axis, next));
    (x_of_day(axis, first), end)
}

/// The centre of a period, where its point is drawn.
pub fn x_of_point(axis: MonthRange, period: MonthRange) -> f64 {
    let (a, b) = x_extent(axis, period);
    (a + b) / 2.0
}

/// Calendar ticks for `axis`: month starts every 1, 3, 6, 12, 24, 60 or 120 months (the first
/// step giving at most `max` ticks), each with its label (`2023-04`, or `2023` when yearly).
pub fn month_ticks(axis: MonthRange, max: usize) -> Vec<(f64, String)> {
    let months = axis.len_months();
    let step = [1u32, 3, 6, 12, 24, 60, 120]
        .into_iter()
        .find(|s| ((months / s) as usize) < max.max(2))
        .unwrap_or(120);
    let yearly = step >= 12;
    let mut ticks = Vec::new();
    for (offset, month) in axis.months().enumerate() {
        let aligned = if yearly {
            month.month() == 1
                && month
                    .year()
                    .rem_euclid(i32::try_from(step / 12).unwrap_or(1))
                    == 0
        } else {
            u32::from(month.month() - 1).is_multiple_of(step)
        };
        if aligned {
            let label = if yearly {
                month.year().to_string()
            } else {
                month.to_string()
            };
            #[allow(clippy::cast_precision_loss)]
            ticks.push((offset as f64, label));
        }
    }
    if ticks.is_empty() {
        ticks.push((0.0, axis.start().to_string()));
    }
    ticks
}

/// Round ticks for a value axis from 0 to at least `max`, with a little room above it: a step
/// of 1, 2, 2.5 or 5 times a power of ten and at least `min_step`, about six ticks at most.
/// The last tick is the top. With nothing to show, 0 to 5 steps.
pub fn value_ticks(max: f64, min_step: f64) -> Vec<f64> {
    let max = if max.is_finite() && max > 0.0 {
        max * 1.05
    } else {
        5.0 * min_step
    };
    let raw = max / 5.0;
    let power = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * power)
        .max(min_step);
    let count = (max / step).ceil();
    // Rounded to nine decimals so ticks print as the round numbers they are.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    (0..=count as u32)
        .map(|i| (f64::from(i) * step * 1e9).round() / 1e9)
        .collect()
}

/// The runs of consecutive points that have a value, each as (x, y) pairs: one line each.
/// A point without a value ends a run, so the line breaks there and never drops to zero.
pub fn runs(axis: MonthRange, points: &[Point]) -> Vec<Vec<(f64, f64)>> {
    let mut runs: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut current: Vec<(f64, f64)> = Vec::new();
    for p in points {
        match p.value {
            Some(v) => current.push((x_of_point(axis, p.period), v)),
            None => {
                if !current.is_empty() {
                    runs.push(std::mem::take(&mut current));
                }
            }
        }
    }
    if !current.is_empty() {
        runs.push(current);
    }
    runs
}

/// The x extents of the stretches of consecutive points without a value: the gaps.
pub fn gaps(axis: MonthRange, points: &[Point]) -> Vec<(f64, f64)> {
    let mut gaps: Vec<(f64, f64)> = Vec::new();
    for p in points.iter().filter(|p| p.value.is_none()) {
        let (a, b) = x_extent(axis, p.period);
        match gaps.last_mut() {
            Some(last) if (last.1 - a).abs() < 1e-9 => last.1 = b,
            _ => gaps.push((a, b)),
        }
    }
    gaps
}
