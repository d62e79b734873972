//! Vehicle counts and ownership stakes, as exact integers.
//!
//! Chinese sources publish in units of 10,000 vehicles (万辆) with decimals; converting with
//! floats would turn 69.49 into 694,899.99…, so all parsing here is exact decimal.

use std::fmt;
use std::str::FromStr;

use crate::validation::ValueError;

/// A count of whole vehicles, 0..=[`Units::MAX`].
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Units(u64);

impl Units {
    /// Largest accepted count (10^12): far above any real figure, small enough that sums of
    /// millions of figures fit in i64 on the wire and never overflow u64.
    pub const MAX: Self = Self(1_000_000_000_000);

    /// No vehicles (a reported zero, which is not the same as a missing figure).
    pub const ZERO: Self = Self(0);

    /// A count from a signed wire value, rejecting negatives and values above [`Units::MAX`].
    pub fn new(value: i64) -> Result<Self, ValueError> {
        let value = u64::try_from(value)
            .map_err(|_| ValueError(format!("units must not be negative (got {value})")))?;
        Self::from_u64(value)
    }

    /// A count from an unsigned value, rejecting values above [`Units::MAX`].
    pub fn from_u64(value: u64) -> Result<Self, ValueError> {
        if value > Self::MAX.0 {
            return Err(ValueError(format!(
                "units must be at most {} (got {value})",
                Self::MAX.0
            )));
        }
        Ok(Self(value))
    }

    /// The number of vehicles.
    pub fn get(self) -> u64 {
        self.0
    }

    /// The number of vehicles as a wire `int64` (always fits, since `MAX` < i64::MAX).
    pub fn to_i64(self) -> i64 {
        i64::try_from(self.0).unwrap_or(i64::MAX)
    }

    /// The sum, or `None` above [`Units::MAX`].
    pub fn checked_add(self, other: Self) -> Option<Self> {
        Self::from_u64(self.0.checked_add(other.0)?).ok()
    }

    /// Parses a count published in units of 10,000 vehicles (万辆), exactly.
    ///
    /// Accepts plain decimals with at most four decimal places (`"69.49"` → 694,900,
    /// `"20"` → 200,000); rejects signs, exponents, blanks, separators and anything that is
    /// not a whole number of vehicles (`"69.49001"`).
    pub fn from_ten_thousands(value: &str) -> Result<Self, ValueError> {
        let invalid = |why: &str| {
            ValueError(format!(
                "invalid count in 10k units {}: {why}",
                crate::validation::Shown(value)
            ))
        };
        if value.starts_with('-') {
            return Err(invalid("must not be negative"));
        }
        let (whole, fraction) = split_decimal(value)
            .ok_or_else(|| invalid("expected digits with an optional decimal point, e.g. 69.49"))?;
        if fraction.len() > 4 {
            return Err(invalid(
                "more than 4 decimal places is not a whole number of vehicles",
            ));
        }
        let vehicles = decimal_to_scaled(whole, fraction, 4).ok_or_else(|| invalid("too large"))?;
        Self::from_u64(vehicles).map_err(|e| invalid(e.description()))
    }
}

impl fmt::Display for Units {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for Units {
    type Err = ValueError;

    /// Parses a plain count of vehicles (ASCII digits only).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ValueError(format!(
                "expected a whole number of vehicles, got {}",
                crate::validation::Shown(s)
            )));
        }
        let value: u64 = s
            .parse()
            .map_err(|_| ValueError(format!("units must be at most {} (got {s})", Self::MAX.0)))?;
        Self::from_u64(value)
    }
}

impl From<Units> for u64 {
    fn from(units: Units) -> Self {
        units.0
    }
}

/// Splits `digits[.digits]` into whole and fraction parts; `None` for anything else.
fn split_decimal(value: &str) -> Option<(&str, &str)> {
    let (whole, fraction) = match value.split_once('.') {
        Some((whole, fraction)) if !fraction.is_empty() => (whole, fraction),
        Some(_) => return None,
        None => (value, ""),
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    (!whole.is_empty() && all_digits(whole) && all_digits(fraction)).then_some((whole, fraction))
}

/// `whole.fraction × 10^scale` as an integer; the fraction has at most `scale` digits.
fn decimal_to_scaled(whole: &str, fraction: &str, scale: usize) -> Option<u64> {
    let mut value: u64 = 0;
    let padding = scale.checked_sub(fraction.len())?;
    let digits = whole
        .bytes()
        .chain(fraction.bytes())
        .chain(std::iter::repeat_n(b'0', padding));
    for digit in digits {
        value = value
            .checked_mul(10)?
            .checked_add(u64::from(digit - b'0'))?;
    }
    Some(value)
}

/// An ownership stake in basis points (1 = 0.01 %), more than 0 and at most 100 %.
///
/// A zero stake is rejected: "owns 0 %" is no ownership and should not be a relationship.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Stake(u16);

impl Stake {
    /// The whole of a company.
    pub const FULL: Self = Self(10_000);

    /// A stake of `basis_points` / 100 percent (1..=10,000).
    pub fn from_basis_points(basis_points: u32) -> Result<Self, ValueError> {
        match u16::try_from(basis_points) {
            Ok(bp) if (1..=10_000).contains(&bp) => Ok(Self(bp)),
            _ => Err(ValueError(format!(
                "stake must be more than 0 and at most 10000 basis points (got {basis_points})"
            ))),
        }
    }

    /// Parses a percentage with at most two decimals, e.g. `"50"` or `"33.33"`.
    pub fn from_percent_str(percent: &str) -> Result<Self, ValueError> {
        let invalid = |why: &str| {
            ValueError(format!(
                "invalid stake percentage {}: {why}",
                crate::validation::Shown(percent)
            ))
        };
        let (whole, fraction) = split_decimal(percent)
            .ok_or_else(|| invalid("expected a percentage such as 50 or 33.33"))?;
        if fraction.len() > 2 {
            return Err(invalid("at most 2 decimal places"));
        }
        let bp = decimal_to_scaled(whole, fraction, 2).ok_or_else(|| invalid("too large"))?;
        let bp = u32::try_from(bp).map_err(|_| invalid("too large"))?;
        Self::from_basis_points(bp).map_err(|e| invalid(e.description()))
    }

    /// The stake in basis points, 1..=10,000.
    pub fn basis_points(self) -> u16 {
        self.0
    }
}

impl fmt::Display for Stake {
    /// `50%`, `33.33%`, `0.5%`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = self.0 / 100;
        let fraction = self.0 % 100;
        match fraction {
            0 => write!(f, "{whole}%"),
            _ if fraction.is_multiple_of(10) => write!(f, "{whole}.{}%", fraction / 10),
            _ => write!(f, "{whole}.{fraction:02}%"),
        }
    }
}

impl FromStr for Stake {
    type Err = ValueError;

    /// Parses `50`, `50%` or `33.33%`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_percent_str(s.strip_suffix('%').unwrap_or(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_from_ten_thousands_is_exact() {
        assert_eq!(Units::from_ten_thousands("69.49").unwrap().get(), 694_900);
        assert_eq!(Units::from_ten_thousands("97.47").unwrap().get(), 974_700);
        assert_eq!(Units::from_ten_thousands("20").unwrap().get(), 200_000);
        assert_eq!(Units::from_ten_thousands("0.0001").unwrap().get(), 1);
        assert_eq!(Units::from_ten_thousands("1.2345").unwrap().get(), 12_345);
        assert_eq!(Units::from_ten_thousands("0").unwrap(), Units::ZERO);
    }

    #[test]
    fn units_from_ten_thousands_rejects_fractions_of_vehicles_and_odd_forms() {
        for bad in [
            "69.49001",
            "-1",
            "1e3",
            "",
            " 1",
            "1.",
            ".5",
            "+1",
            "1,000",
            "NaN",
            "inf",
            "1.2.3",
            "100000001",
        ] {
            assert!(Units::from_ten_thousands(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn units_reject_negatives_and_values_above_max() {
        assert!(Units::new(-1).is_err());
        assert!(Units::new(1_000_000_000_001).is_err());
        assert_eq!(Units::new(1_000_000_000_000).unwrap(), Units::MAX);
        assert_eq!(Units::MAX.to_i64(), 1_000_000_000_000);
        assert_eq!(Units::MAX.checked_add(Units::new(1).unwrap()), None);
        assert_eq!("694900".parse::<Units>().unwrap().get(), 694_900);
        assert!("-5".parse::<Units>().is_err());
        assert!("99999999999999999999999".parse::<Units>().is_err());
    }

    #[test]
    fn stake_parses_percentages_with_two_decimals() {
        assert_eq!(Stake::from_percent_str("50").unwrap().basis_points(), 5_000);
        assert_eq!(
            Stake::from_percent_str("33.33").unwrap().basis_points(),
            3_333
        );
        assert_eq!(Stake::from_percent_str("100").unwrap(), Stake::FULL);
        assert_eq!("25%".parse::<Stake>().unwrap().basis_points(), 2_500);
        for bad in ["0", "0.00", "100.01", "33.333", "-5", "", "50 %"] {
            assert!(Stake::from_percent_str(bad).is_err(), "{bad:?} accepted");
        }
        assert!(Stake::from_basis_points(0).is_err());
        assert!(Stake::from_basis_points(10_001).is_err());
        assert!(Stake::from_basis_points(70_000).is_err());
    }

    #[test]
    fn stake_displays_as_short_percentage() {
        assert_eq!(Stake::from_basis_points(5_000).unwrap().to_string(), "50%");
        assert_eq!(
            Stake::from_basis_points(3_333).unwrap().to_string(),
            "33.33%"
        );
        assert_eq!(Stake::from_basis_points(50).unwrap().to_string(), "0.5%");
        assert_eq!(Stake::from_basis_points(5).unwrap().to_string(), "0.05%");
    }
}
