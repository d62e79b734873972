//! Calendar dates and dates known only to a month, quarter or year.
//!
//! News gives "in August 2023" or "by 2026" as often as a day; keeping the precision avoids
//! inventing a day that was never reported.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use crate::enums::DatePrecision;
use crate::period::{YearMonth, check_quarter, check_year, parse_digits};
use crate::validation::ValueError;

/// A calendar day (proleptic Gregorian) in the supported year range.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Date {
    // Field order matters: the derived `Ord` is chronological.
    year: i32,
    month: u8,
    day: u8,
}

/// True for Gregorian leap years.
pub fn is_leap_year(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// Number of days in `month` (1..=12) of `year`; 0 for an invalid month.
pub fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => 0,
    }
}

impl Date {
    /// A day, checking year range, month and day (leap years included).
    pub fn new(year: i32, month: u8, day: u8) -> Result<Self, ValueError> {
        let year_month = YearMonth::new(year, month)?;
        let last = days_in_month(year, month);
        if !(1..=last).contains(&day) {
            return Err(ValueError(format!(
                "day must be 1..={last} in {year_month} (got {day})"
            )));
        }
        Ok(Self { year, month, day })
    }

    /// The year.
    pub fn year(self) -> i32 {
        self.year
    }

    /// The month, 1..=12.
    pub fn month(self) -> u8 {
        self.month
    }

    /// The day of the month, 1..=31.
    pub fn day(self) -> u8 {
        self.day
    }

    /// Days since 1970-01-01 (negative before it), as Arrow's `date32` and Parquet's `DATE`
    /// count them (H. Hinnant's `days_from_civil`, proleptic Gregorian).
    pub fn days_since_epoch(self) -> i32 {
        let y = if self.month <= 2 {
            self.year - 1
        } else {
            self.year
        };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i32::from(self.month);
        let d = i32::from(self.day);
        let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The day `days` after 1970-01-01 (before it when negative): the inverse of
    /// [`Self::days_since_epoch`] (H. Hinnant's `civil_from_days`); a day outside the years
    /// dates may hold is an error.
    pub fn from_days_since_epoch(days: i32) -> Result<Self, ValueError> {
        let z = i64::from(days) + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        let year = i32::try_from(year).map_err(|_| ValueError::new("is out of range"))?;
        // Month and day are in range by construction.
        Self::new(year, month as u8, day as u8)
    }

    /// The month this day falls in.
    pub fn year_month(self) -> YearMonth {
        // A valid date always has a valid year and month.
        YearMonth::new(self.year, self.month).unwrap_or(YearMonth::MIN)
    }

    /// The next day; `None` after the last day of the supported range.
    pub fn succ(self) -> Option<Self> {
        if self.day < days_in_month(self.year, self.month) {
            Some(Self {
                day: self.day + 1,
                ..self
            })
        } else {
            self.year_month().succ().map(Self::first_of)
        }
    }

    /// First day of a month.
    pub fn first_of(month: YearMonth) -> Self {
        Self {
            year: month.year(),
            month: month.month(),
            day: 1,
        }
    }

    /// Last day of a month.
    pub fn last_of(month: YearMonth) -> Self {
        Self {
            year: month.year(),
            month: month.month(),
            day: days_in_month(month.year(), month.month()),
        }
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl FromStr for Date {
    type Err = ValueError;

    /// Parses ISO 8601 `YYYY-MM-DD`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || {
            ValueError(format!(
                "expected a date as YYYY-MM-DD, got {}",
                crate::validation::Shown(s)
            ))
        };
        let mut parts = s.split('-');
        let (Some(y), Some(m), Some(d), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid());
        };
        let year = parse_digits(y, 4).ok_or_else(invalid)?;
        let month = parse_digits(m, 2).ok_or_else(invalid)?;
        let day = parse_digits(d, 2).ok_or_else(invalid)?;
        Self::new(
            i32::try_from(year).map_err(|_| invalid())?,
            u8::try_from(month).map_err(|_| invalid())?,
            u8::try_from(day).map_err(|_| invalid())?,
        )
    }
}

/// A date known to a day, month, quarter or year.
///
/// Prefer the constructors: variants built directly are not validated until
/// [`check`](Self::check) (entity `validate` calls it).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum PartialDate {
    /// A known day.
    Day(Date),
    /// A known month.
    Month(YearMonth),
    /// A known calendar quarter.
    Quarter {
        /// The year.
        year: i32,
        /// The quarter, 1..=4.
        quarter: u8,
    },
    /// A known year.
    Year(i32),
}

impl PartialDate {
    /// A quarter-precision date, checking year and quarter.
    pub fn quarter(year: i32, quarter: u8) -> Result<Self, ValueError> {
        check_year(year)?;
        check_quarter(quarter)?;
        Ok(Self::Quarter { year, quarter })
    }

    /// A year-precision date, checking the year range.
    pub fn year(year: i32) -> Result<Self, ValueError> {
        check_year(year)?;
        Ok(Self::Year(year))
    }

    /// Checks a directly built value (quarter 1..=4, year in range).
    pub fn check(&self) -> Result<(), ValueError> {
        match *self {
            Self::Day(_) | Self::Month(_) => Ok(()),
            Self::Quarter { year, quarter } => Self::quarter(year, quarter).map(|_| ()),
            Self::Year(year) => Self::year(year).map(|_| ()),
        }
    }

    /// How precisely the date is known.
    pub fn precision(&self) -> DatePrecision {
        match self {
            Self::Day(_) => DatePrecision::Day,
            Self::Month(_) => DatePrecision::Month,
            Self::Quarter { .. } => DatePrecision::Quarter,
            Self::Year(_) => DatePrecision::Year,
        }
    }

    /// The first day of the span this date stands for.
    pub fn first_day(&self) -> Date {
        match *self {
            Self::Day(date) => date,
            Self::Month(month) => Date::first_of(month),
            Self::Quarter { year, quarter } => Date {
                year,
                month: quarter_first_month(quarter),
                day: 1,
            },
            Self::Year(year) => Date {
                year,
                month: 1,
                day: 1,
            },
        }
    }

    /// The last day of the span this date stands for.
    pub fn last_day(&self) -> Date {
        match *self {
            Self::Day(date) => date,
            Self::Month(month) => Date::last_of(month),
            Self::Quarter { year, quarter } => {
                let month = quarter_first_month(quarter) + 2;
                Date {
                    year,
                    month,
                    day: days_in_month(year, month),
                }
            }
            Self::Year(year) => Date {
                year,
                month: 12,
                day: 31,
            },
        }
    }

    /// True when `date` falls within the span.
    pub fn contains(&self, date: Date) -> bool {
        self.first_day() <= date && date <= self.last_day()
    }

    /// Timeline order: by first day; on the same first day the longer (coarser) span first,
    /// so "2023" sorts before "2023-01" before "2023-01-01"; then by precision.
    pub fn timeline_cmp(&self, other: &Self) -> Ordering {
        self.first_day()
            .cmp(&other.first_day())
            .then_with(|| other.last_day().cmp(&self.last_day()))
            .then_with(|| other.precision().cmp(&self.precision()))
    }
}

/// First month of a quarter; out-of-range quarters are clamped so unchecked values never
/// panic.
fn quarter_first_month(quarter: u8) -> u8 {
    (quarter.clamp(1, 4) - 1) * 3 + 1
}

impl PartialOrd for PartialDate {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for PartialDate {
    /// Same as [`PartialDate::timeline_cmp`].
    fn cmp(&self, other: &Self) -> Ordering {
        self.timeline_cmp(other)
    }
}

impl From<Date> for PartialDate {
    fn from(date: Date) -> Self {
        Self::Day(date)
    }
}

impl From<YearMonth> for PartialDate {
    fn from(month: YearMonth) -> Self {
        Self::Month(month)
    }
}

impl fmt::Display for PartialDate {
    /// `2023-12-17`, `2023-08`, `2023-Q4` or `2023`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Day(date) => write!(f, "{date}"),
            Self::Month(month) => write!(f, "{month}"),
            Self::Quarter { year, quarter } => write!(f, "{year:04}-Q{quarter}"),
            Self::Year(year) => write!(f, "{year:04}"),
        }
    }
}

impl FromStr for PartialDate {
    type Err = ValueError;

    /// Parses `YYYY-MM-DD`, `YYYY-MM`, `YYYY-Qn` or `YYYY`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || {
            ValueError(format!(
                "expected YYYY-MM-DD, YYYY-MM, YYYY-Qn or YYYY, got {}",
                crate::validation::Shown(s)
            ))
        };
        if let Some((year, quarter)) = s.split_once("-Q") {
            let year = parse_digits(year, 4).ok_or_else(invalid)?;
            let quarter = parse_digits(quarter, 1).ok_or_else(invalid)?;
            return Self::quarter(
                i32::try_from(year).map_err(|_| invalid())?,
                u8::try_from(quarter).map_err(|_| invalid())?,
            );
        }
        match s.len() {
            4 => {
                let year = parse_digits(s, 4).ok_or_else(invalid)?;
                Self::year(i32::try_from(year).map_err(|_| invalid())?)
            }
            7 => Ok(Self::Month(s.parse()?)),
            10 => Ok(Self::Day(s.parse()?)),
            _ => Err(invalid()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_since_epoch_counts_as_arrow_and_parquet_do() {
        let day = |y, m, d| Date::new(y, m, d).map(Date::days_since_epoch);
        assert_eq!(day(1970, 1, 1), Ok(0));
        assert_eq!(day(1969, 12, 31), Ok(-1));
        assert_eq!(day(2000, 3, 1), Ok(11_017));
        assert_eq!(day(2024, 2, 29), Ok(19_782));
        assert_eq!(day(2023, 11, 30), Ok(19_691));
        for days in [-25_000, -1, 0, 59, 11_017, 19_782, 300_000] {
            let date = Date::from_days_since_epoch(days).unwrap();
            assert_eq!(date.days_since_epoch(), days, "{date}");
        }
        let civil =
            |days| Date::from_days_since_epoch(days).map(|d| (d.year(), d.month(), d.day()));
        assert_eq!(civil(0), Ok((1970, 1, 1)));
        assert_eq!(civil(59), Ok((1970, 3, 1)));
        assert_eq!(civil(11_016), Ok((2000, 2, 29)));
        assert_eq!(civil(19_723), Ok((2024, 1, 1)));
        assert_eq!(civil(-1), Ok((1969, 12, 31)));
        // Outside the years a date may hold (1900..=2999): an error, not a wrong date.
        assert!(Date::from_days_since_epoch(-800_000).is_err());
        assert!(Date::from_days_since_epoch(2_000_000).is_err());
    }

    fn date(s: &str) -> Date {
        s.parse().unwrap()
    }

    fn pd(s: &str) -> PartialDate {
        s.parse().unwrap()
    }

    #[test]
    fn succ_walks_month_ends_leap_days_and_year_ends() {
        let next = |s: &str| date(s).succ().map(|d| d.to_string());
        assert_eq!(next("2023-05-14").as_deref(), Some("2023-05-15"));
        assert_eq!(next("2023-04-30").as_deref(), Some("2023-05-01"));
        assert_eq!(next("2023-02-28").as_deref(), Some("2023-03-01"));
        assert_eq!(next("2024-02-28").as_deref(), Some("2024-02-29"));
        assert_eq!(next("2000-02-29").as_deref(), Some("2000-03-01"));
        assert_eq!(next("2023-12-31").as_deref(), Some("2024-01-01"));
        assert_eq!(next("2999-12-31"), None);
    }

    #[test]
    fn date_validates_days_including_leap_years() {
        assert!(Date::new(2024, 2, 29).is_ok());
        assert!(Date::new(2023, 2, 29).is_err());
        assert!(Date::new(2000, 2, 29).is_ok());
        assert!(Date::new(1900, 2, 29).is_err());
        assert!(Date::new(2023, 4, 31).is_err());
        assert!(Date::new(2023, 1, 0).is_err());
        assert!(Date::new(2023, 13, 1).is_err());
    }

    #[test]
    fn date_parses_and_displays_iso() {
        assert_eq!(date("2023-12-17").to_string(), "2023-12-17");
        assert_eq!(date("2023-12-17").year_month().to_string(), "2023-12");
        for bad in [
            "2023-12-7",
            "2023-12-17T00:00",
            "2023/12/17",
            "2023-02-30",
            "",
        ] {
            assert!(bad.parse::<Date>().is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn partial_date_spans_its_whole_period() {
        assert_eq!(pd("2023").first_day(), date("2023-01-01"));
        assert_eq!(pd("2023").last_day(), date("2023-12-31"));
        assert_eq!(pd("2023-Q1").last_day(), date("2023-03-31"));
        assert_eq!(pd("2023-Q4").first_day(), date("2023-10-01"));
        assert_eq!(pd("2024-02").last_day(), date("2024-02-29"));
        assert!(pd("2023-08").contains(date("2023-08-31")));
        assert!(!pd("2023-08").contains(date("2023-09-01")));
        assert_eq!(pd("2023-12-17").precision(), DatePrecision::Day);
        assert_eq!(pd("2023-Q4").precision(), DatePrecision::Quarter);
    }

    #[test]
    fn partial_date_display_round_trips_every_precision() {
        for s in ["2023-12-17", "2023-08", "2023-Q4", "2023"] {
            assert_eq!(pd(s).to_string(), s);
        }
        for bad in ["2023-Q5", "2023-Q0", "23", "2023-8", "1899", "2023-Q12"] {
            assert!(bad.parse::<PartialDate>().is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn coarser_dates_sort_first_among_those_starting_the_same_day() {
        let mut dates = [
            pd("2023-01-01"),
            pd("2023-02"),
            pd("2023-01"),
            pd("2023"),
            pd("2023-Q1"),
            pd("2022-12-31"),
        ];
        dates.sort_by(PartialDate::timeline_cmp);
        let sorted: Vec<String> = dates.iter().map(ToString::to_string).collect();
        assert_eq!(
            sorted,
            [
                "2022-12-31",
                "2023",
                "2023-Q1",
                "2023-01",
                "2023-01-01",
                "2023-02"
            ]
        );
    }

    #[test]
    fn directly_built_partial_dates_are_checked_and_never_panic() {
        let bad = PartialDate::Quarter {
            year: 2023,
            quarter: 9,
        };
        assert!(bad.check().is_err());
        assert_eq!(bad.first_day(), date("2023-10-01"));
        assert!(PartialDate::Year(1066).check().is_err());
        assert!(pd("2023-Q2").check().is_ok());
    }
}
