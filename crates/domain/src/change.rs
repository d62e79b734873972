//! Exact ratios, changes between periods, and shares.
//!
//! Percentages are derived, never stored: they are kept as exact fractions and rounded
//! (half away from zero, integer arithmetic only) just for display.

use std::cmp::Ordering;
use std::fmt;

use crate::units::Units;

/// An exact fraction, always reduced with a positive denominator.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Ratio {
    numerator: i128,
    denominator: i128,
}

impl Ratio {
    /// `numerator / denominator`, reduced; `None` when the denominator is zero (or the
    /// reduced fraction does not fit, which only `i128::MIN` can cause).
    pub fn new(numerator: i128, denominator: i128) -> Option<Self> {
        if denominator == 0 {
            return None;
        }
        let divisor = gcd(numerator.unsigned_abs(), denominator.unsigned_abs());
        let mut n = i128::try_from(numerator.unsigned_abs() / divisor).ok()?;
        let d = i128::try_from(denominator.unsigned_abs() / divisor).ok()?;
        if (numerator < 0) != (denominator < 0) {
            n = -n;
        }
        Some(Self {
            numerator: n,
            denominator: d,
        })
    }

    /// The reduced numerator (carries the sign).
    pub fn numerator(self) -> i128 {
        self.numerator
    }

    /// The reduced denominator, always positive.
    pub fn denominator(self) -> i128 {
        self.denominator
    }

    /// `self + other`, reduced; `None` on overflow.
    pub fn checked_add(self, other: Self) -> Option<Self> {
        let n = self
            .numerator
            .checked_mul(other.denominator)?
            .checked_add(other.numerator.checked_mul(self.denominator)?)?;
        Self::new(n, self.denominator.checked_mul(other.denominator)?)
    }

    /// `self × other`, reduced; `None` on overflow.
    pub fn checked_mul(self, other: Self) -> Option<Self> {
        // Cross-reduce first so chains of stakes stay small.
        let g1 = i128::try_from(gcd(
            self.numerator.unsigned_abs(),
            other.denominator.unsigned_abs(),
        ))
        .ok()?
        .max(1);
        let g2 = i128::try_from(gcd(
            other.numerator.unsigned_abs(),
            self.denominator.unsigned_abs(),
        ))
        .ok()?
        .max(1);
        Self::new(
            (self.numerator / g1).checked_mul(other.numerator / g2)?,
            (self.denominator / g2).checked_mul(other.denominator / g1)?,
        )
    }

    /// The nearest integer, halves away from zero.
    pub fn rounded(self) -> i128 {
        let (n, d) = (
            self.numerator.unsigned_abs(),
            self.denominator.unsigned_abs(),
        );
        // the remainder is below d, so twice it cannot overflow u128 for any i128 d
        let whole = if (n % d) * 2 >= d { n / d + 1 } else { n / d };
        let whole = i128::try_from(whole).unwrap_or(i128::MAX);
        if self.numerator < 0 { -whole } else { whole }
    }

    /// True when the ratio is below zero.
    pub fn is_negative(self) -> bool {
        self.numerator < 0
    }

    /// An approximation for charts and sorting by magnitude; never use it for display rounding.
    pub fn to_f64(self) -> f64 {
        // Lossy by design: this is the one place floats are allowed.
        self.numerator as f64 / self.denominator as f64
    }

    /// The ratio times 100, rounded half away from zero to `decimals` places, e.g. `-28.7`.
    ///
    /// Exact for every ratio: digits come from long division, not floats. A value that
    /// rounds to zero is shown without a minus sign.
    pub fn percent_rounded(self, decimals: u32) -> String {
        let decimals = decimals as usize;
        let d = self.denominator.unsigned_abs();
        let n = self.numerator.unsigned_abs();

        // Digits of |ratio| = whole . f1 f2 f3 …; percent = whole f1 f2 . f3 …
        let mut digits: Vec<u8> = Vec::with_capacity(42 + decimals);
        let (whole, mut remainder) = match (u64::try_from(n), u64::try_from(d)) {
            // Counts fit u64: no 128-bit division.
            (Ok(n), Ok(d)) => (u128::from(n / d), u128::from(n % d)),
            _ => (n / d, n % d),
        };
        push_digits(&mut digits, whole);
        let next_digit = match u64::try_from(d) {
            Ok(d) if d <= u64::MAX / 10 => {
                // remainder < d, so ten times it fits u64.
                let mut r = u64::try_from(remainder).unwrap_or(0);
                for _ in 0..decimals + 2 {
                    r *= 10;
                    digits.push(u8::try_from(r / d).unwrap_or(0));
                    r %= d;
                }
                u8::try_from(r * 10 / d).unwrap_or(0)
            }
            _ => {
                for _ in 0..decimals + 2 {
                    let (digit, rest) = times_ten_div(remainder, d);
                    remainder = rest;
                    digits.push(digit);
                }
                times_ten_div(remainder, d).0
            }
        };
        // The expansion is canonical, so the next digit alone decides the half-way rounding.
        if next_digit >= 5 {
            increment(&mut digits);
        }

        let split = digits.len() - decimals;
        let is_zero = digits.iter().all(|d| *d == 0);
        let mut out = String::with_capacity(digits.len() + 2);
        if self.numerator < 0 && !is_zero {
            out.push('-');
        }
        match digits[..split].iter().position(|&d| d != 0) {
            Some(first) => out.extend(digits[first..split].iter().map(|d| char::from(b'0' + d))),
            None => out.push('0'),
        }
        if decimals > 0 {
            out.push('.');
            out.extend(digits[split..].iter().map(|d| char::from(b'0' + d)));
        }
        out
    }
}

/// Appends the decimal digits (values 0–9, most significant first) of `value`.
fn push_digits(digits: &mut Vec<u8>, mut value: u128) {
    let start = digits.len();
    loop {
        digits.push(u8::try_from(value % 10).unwrap_or(0));
        value /= 10;
        if value == 0 {
            break;
        }
    }
    digits[start..].reverse();
}

fn times_ten_div(r: u128, d: u128) -> (u8, u128) {
    // Add r ten times modulo d; since acc < d and r < d, nothing overflows.
    let mut digit = 0;
    let mut acc: u128 = 0;
    for _ in 0..10 {
        if acc >= d - r {
            acc -= d - r;
            digit += 1;
        } else {
            acc += r;
        }
    }
    (digit, acc)
}

/// Adds one to a big-endian decimal digit vector, growing it on carry.
fn increment(digits: &mut Vec<u8>) {
    for digit in digits.iter_mut().rev() {
        if *digit == 9 {
            *digit = 0;
        } else {
            *digit += 1;
            return;
        }
    }
    digits.insert(0, 1);
}

fn gcd(mut a: u128, mut b: u128) -> u128 {
    // Counts fit u64 (at most 10^12 each): binary GCD there, no 128-bit division.
    if let (Ok(x), Ok(y)) = (u64::try_from(a), u64::try_from(b)) {
        return u128::from(gcd_u64(x, y)).max(1);
    }
    while b != 0 {
        (a, b) = (b, a % b);
    }
    // gcd(0, d) = d ≥ 1 here since the denominator is non-zero.
    a.max(1)
}

/// Stein's binary GCD.
fn gcd_u64(mut a: u64, mut b: u64) -> u64 {
    if a == 0 || b == 0 {
        return a | b;
    }
    let shift = (a | b).trailing_zeros();
    a >>= a.trailing_zeros();
    loop {
        b >>= b.trailing_zeros();
        if a > b {
            std::mem::swap(&mut a, &mut b);
        }
        b -= a;
        if b == 0 {
            return a << shift;
        }
    }
}

impl PartialOrd for Ratio {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Ratio {
    /// Exact comparison (no cross-multiplication, so no overflow).
    fn cmp(&self, other: &Self) -> Ordering {
        match (self.is_negative(), other.is_negative()) {
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            (false, false) => cmp_fractions(
                self.numerator.unsigned_abs(),
                self.denominator.unsigned_abs(),
                other.numerator.unsigned_abs(),
                other.denominator.unsigned_abs(),
            ),
            (true, true) => cmp_fractions(
                other.numerator.unsigned_abs(),
                other.denominator.unsigned_abs(),
                self.numerator.unsigned_abs(),
                self.denominator.unsigned_abs(),
            ),
        }
    }
}

/// Compares `n1/d1` with `n2/d2` (non-negative, positive denominators) by continued fractions.
fn cmp_fractions(mut n1: u128, mut d1: u128, mut n2: u128, mut d2: u128) -> Ordering {
    loop {
        let (q1, q2) = (n1 / d1, n2 / d2);
        if q1 != q2 {
            return q1.cmp(&q2);
        }
        let (r1, r2) = (n1 % d1, n2 % d2);
        match (r1 == 0, r2 == 0) {
            (true, true) => return Ordering::Equal,
            (true, false) => return Ordering::Less,
            (false, true) => return Ordering::Greater,
            // r1/d1 < r2/d2  ⇔  d2/r2 < d1/r1
            (false, false) => (n1, d1, n2, d2) = (d2, r2, d1, r1),
        }
    }
}

impl fmt::Display for Ratio {
    /// `n/d`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.numerator, self.denominator)
    }
}

/// A current value compared with a prior one (year-on-year, period-on-period).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Change {
    /// Value of the current period.
    pub current: u64,
    /// Value of the comparison period.
    pub prior: u64,
}

impl Change {
    /// Current minus prior, exactly.
    pub fn absolute(&self) -> i128 {
        i128::from(self.current) - i128::from(self.prior)
    }

    /// Change relative to the prior value; `None` when the prior is zero ("no percentage").
    pub fn relative(&self) -> Option<Ratio> {
        Ratio::new(self.absolute(), i128::from(self.prior))
    }

    /// The relative change as a display percentage, e.g. `-28.7`; `None` when prior is zero.
    pub fn percent_rounded(&self, decimals: u32) -> Option<String> {
        self.relative().map(|r| r.percent_rounded(decimals))
    }
}

/// The change from `prior` to `current`.
pub fn change(current: Units, prior: Units) -> Change {
    Change {
        current: current.get(),
        prior: prior.get(),
    }
}

/// `part / whole` (market share, NEV penetration, export share); `None` when `whole` is zero.
///
/// A part larger than its whole gives a ratio above one rather than an error, so that
/// inconsistent sources stay visible.
#[inline]
pub fn share(part: u64, whole: u64) -> Option<Ratio> {
    // `Ratio::new` on the same values, without its 128-bit divisions.
    if whole == 0 {
        return None;
    }
    // gcd ≥ 1 since `whole` is not zero; coprime counts (the common case) skip the divisions.
    let divisor = gcd_u64(part, whole);
    let (n, d) = if divisor == 1 {
        (part, whole)
    } else {
        (part / divisor, whole / divisor)
    };
    Some(Ratio {
        numerator: i128::from(n),
        denominator: i128::from(d),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ratio(n: i128, d: i128) -> Ratio {
        Ratio::new(n, d).unwrap()
    }

    #[test]
    fn stakes_add_multiply_and_round_exactly() {
        // 50% of 60% plus 30% = 60%
        let chain = ratio(5_000, 10_000)
            .checked_mul(ratio(6_000, 10_000))
            .unwrap();
        assert_eq!(chain, ratio(3, 10));
        assert_eq!(chain.checked_add(ratio(3, 10)).unwrap(), ratio(3, 5));
        assert_eq!(ratio(5, 2).rounded(), 3);
        assert_eq!(ratio(-5, 2).rounded(), -3);
        assert_eq!(ratio(7, 3).rounded(), 2);
        assert_eq!(ratio(1, 3).rounded(), 0);
        assert_eq!(ratio(6, 1).rounded(), 6);
        assert!(ratio(i128::MAX, 1).checked_add(ratio(1, 1)).is_none());
    }

    #[test]
    fn binary_gcd_matches_euclid() {
        let euclid = |mut a: u128, mut b: u128| {
            while b != 0 {
                (a, b) = (b, a % b);
            }
            a.max(1)
        };
        let values = [
            0u128,
            1,
            2,
            3,
            12,
            18,
            694_900,
            974_700,
            1 << 40,
            999_999_999_989,
        ];
        for &a in &values {
            for &b in &values {
                assert_eq!(gcd(a, b), euclid(a, b), "gcd({a}, {b})");
            }
        }
        // Pseudo-random pairs of every magnitude, with common power-of-two and odd factors.
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..20_000 {
            let (x, y, k) = (next(), next(), next());
            let common = (k % 1000 + 1) << (k >> 60);
            let a = u128::from((x >> (x % 64)) / common * common);
            let b = u128::from((y >> (y % 64)) / common * common);
            assert_eq!(gcd(a, b), euclid(a, b), "gcd({a}, {b})");
        }
    }

    #[test]
    fn share_matches_ratio_new() {
        let values = [
            0u64,
            1,
            2,
            3,
            12,
            18,
            694_900,
            974_700,
            1 << 40,
            999_999_999_989,
            u64::MAX,
        ];
        for &a in &values {
            for &b in &values {
                assert_eq!(
                    share(a, b),
                    Ratio::new(i128::from(a), i128::from(b)),
                    "share({a}, {b})"
                );
            }
        }
    }

    #[test]
    fn nissan_china_jan_nov_2023_fell_28_7_percent() {
        let c = change(
            Units::from_ten_thousands("69.49").unwrap(),
            Units::from_ten_thousands("97.47").unwrap(),
        );
        assert_eq!(c.absolute(), -279_800);
        assert_eq!(c.relative().unwrap(), ratio(-279_800, 974_700));
        assert_eq!(c.percent_rounded(1).as_deref(), Some("-28.7"));
        assert_eq!(c.percent_rounded(3).as_deref(), Some("-28.706"));
    }

    #[test]
    fn zero_prior_gives_no_percentage() {
        let c = Change {
            current: 5,
            prior: 0,
        };
        assert_eq!(c.absolute(), 5);
        assert_eq!(c.relative(), None);
        assert_eq!(c.percent_rounded(1), None);
        assert_eq!(share(3, 0), None);
    }

    #[test]
    fn percent_rounds_half_away_from_zero() {
        assert_eq!(ratio(1, 8).percent_rounded(0), "13");
        assert_eq!(ratio(-1, 8).percent_rounded(0), "-13");
        assert_eq!(ratio(1, 8).percent_rounded(1), "12.5");
        assert_eq!(ratio(1, 3).percent_rounded(2), "33.33");
        assert_eq!(ratio(2, 3).percent_rounded(2), "66.67");
        assert_eq!(ratio(-2, 3).percent_rounded(0), "-67");
        assert_eq!(ratio(1, 1).percent_rounded(1), "100.0");
        assert_eq!(ratio(0, 5).percent_rounded(1), "0.0");
        assert_eq!(ratio(999_999, 1_000_000).percent_rounded(1), "100.0");
        assert_eq!(ratio(25, 1).percent_rounded(0), "2500");
    }

    #[test]
    fn tiny_negative_percent_rounds_to_unsigned_zero() {
        assert_eq!(ratio(-1, 100_000).percent_rounded(1), "0.0");
    }

    #[test]
    fn percent_of_extreme_ratios_does_not_overflow() {
        let r = ratio(i128::MAX, i128::MAX - 1);
        assert_eq!(r.percent_rounded(2), "100.00");
        let r = ratio(i128::MAX - 1, i128::MAX);
        assert_eq!(r.percent_rounded(2), "100.00");
        assert_eq!(ratio(i128::MAX, 1).percent_rounded(0).len(), 41);
    }

    #[test]
    fn ratio_is_reduced_with_positive_denominator() {
        let r = ratio(6, -8);
        assert_eq!((r.numerator(), r.denominator()), (-3, 4));
        assert_eq!(ratio(0, -7), ratio(0, 1));
        assert_eq!(Ratio::new(1, 0), None);
        assert_eq!(r.to_string(), "-3/4");
        assert!((ratio(1, 4).to_f64() - 0.25).abs() < f64::EPSILON);
    }

    #[test]
    fn ratio_comparison_is_exact() {
        assert!(ratio(1, 3) < ratio(334, 1000));
        assert!(ratio(-1, 3) > ratio(-334, 1000));
        assert!(ratio(-1, 3) < ratio(0, 1));
        assert_eq!(ratio(2, 4).cmp(&ratio(1, 2)), Ordering::Equal);
        assert!(
            ratio(i128::MAX - 1, i128::MAX) < ratio(i128::MAX - 2, i128::MAX - 1).max(ratio(1, 1))
        );
        assert!(ratio(i128::MAX - 2, i128::MAX - 1) < ratio(i128::MAX - 1, i128::MAX));
    }

    #[test]
    fn share_of_whole() {
        assert_eq!(share(1, 4).unwrap().percent_rounded(1), "25.0");
        assert_eq!(share(5, 4).unwrap(), ratio(5, 4));
    }
}
