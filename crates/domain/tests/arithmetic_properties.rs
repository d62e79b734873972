//! Property tests for exact ratio arithmetic and unit parsing.
#![allow(clippy::unwrap_used)]

use autointel_domain::{Ratio, Units, change};
use proptest::prelude::*;

/// Reference rounding of n/d × 100 to `decimals` places, half away from zero, for small values.
fn reference_percent(n: i64, d: i64, decimals: u32) -> String {
    let scale = 10i128.pow(decimals);
    let magnitude = i128::from(n).abs() * 100 * scale;
    let d = i128::from(d);
    let mut q = magnitude / d;
    if 2 * (magnitude % d) >= d {
        q += 1;
    }
    let sign = if n < 0 && q != 0 { "-" } else { "" };
    if decimals == 0 {
        format!("{sign}{q}")
    } else {
        let (whole, frac) = (q / scale, q % scale);
        format!("{sign}{whole}.{frac:0width$}", width = decimals as usize)
    }
}

proptest! {
    #[test]
    fn percent_rounding_matches_integer_reference(
        n in -10_000_000_000i64..10_000_000_000,
        d in 1i64..10_000_000_000,
        decimals in 0u32..6,
    ) {
        let ratio = Ratio::new(i128::from(n), i128::from(d)).unwrap();
        prop_assert_eq!(ratio.percent_rounded(decimals), reference_percent(n, d, decimals));
    }

    #[test]
    fn ratio_order_matches_cross_multiplication(
        a in -1_000_000i64..1_000_000, b in 1i64..1_000_000,
        c in -1_000_000i64..1_000_000, d in 1i64..1_000_000,
    ) {
        let left = Ratio::new(i128::from(a), i128::from(b)).unwrap();
        let right = Ratio::new(i128::from(c), i128::from(d)).unwrap();
        prop_assert_eq!(left.cmp(&right), (i128::from(a) * i128::from(d)).cmp(&(i128::from(c) * i128::from(b))));
        prop_assert_eq!(left == right, i128::from(a) * i128::from(d) == i128::from(c) * i128::from(b));
    }

    #[test]
    fn change_is_exact_and_reconstructs_current(current in 0i64..=1_000_000_000_000, prior in 1i64..=1_000_000_000_000) {
        let c = change(Units::new(current).unwrap(), Units::new(prior).unwrap());
        prop_assert_eq!(c.absolute(), i128::from(current) - i128::from(prior));
        let relative = c.relative().unwrap();
        // prior × (1 + relative) == current, exactly.
        prop_assert_eq!(
            relative.numerator() * i128::from(prior) / relative.denominator() + i128::from(prior),
            i128::from(current)
        );
    }

    #[test]
    fn ten_thousands_with_up_to_four_decimals_parse_exactly(whole in 0u64..100_000_000, frac in 0u64..10_000) {
        let text = format!("{whole}.{frac:04}");
        prop_assert_eq!(Units::from_ten_thousands(&text).unwrap().get(), whole * 10_000 + frac);
    }
}
