//! Why a total has no number, in words that are true: months no figure touches ("no
//! figures for …"), months only a longer figure covers ("covered by 2022-01..2022-11, which
//! cannot be split"), and months covered only by overlapping figures.

use autointel_proto::stats as wire;
use autointel_proto::types as twire;

use crate::client::Stats;

use super::range_text;

/// The periods of the figures that touch a range of one series: what can explain a gap.
#[derive(Debug, Default)]
pub(crate) struct Spans(Vec<twire::MonthRange>);

/// Most figures read to explain gaps (one page).
const MAX_SPANS: i32 = 1000;

impl Spans {
    /// The latest figures of `series` (known on `as_of_date`) overlapping `period`, read only
    /// when some total of the answer is incomplete (`needed`); none when they cannot be read
    /// (the messages then say only which months lack a figure).
    pub(crate) async fn of(
        client: &mut Stats,
        needed: bool,
        series: Option<&twire::SeriesKey>,
        period: Option<&twire::MonthRange>,
        as_of_date: Option<autointel_proto::google::r#type::Date>,
    ) -> Self {
        let (true, Some(series), Some(period)) = (needed, series, period) else {
            return Self::default();
        };
        let request = wire::ListSalesFiguresRequest {
            page_size: MAX_SPANS,
            organization: series.organization.clone(),
            basis: series.basis,
            flow: series.flow,
            market: series.market.clone(),
            scope: series.scope,
            powertrain: series.powertrain,
            overlapping: Some(*period),
            as_of_date,
            ..Default::default()
        };
        let Ok(page) = client.list_sales_figures(request).await else {
            return Self::default();
        };
        Self(
            page.into_inner()
                .sales_figures
                .into_iter()
                // an empty organisation filter lists every organisation's: keep this series
                .filter(|f| f.series.as_ref() == Some(series))
                .filter_map(|f| f.period)
                .collect(),
        )
    }

    /// Units of a total, or why there are none.
    pub(crate) fn total_text(&self, t: Option<&wire::Total>) -> String {
        match t {
            Some(wire::Total { units: Some(u), .. }) => super::thousands(*u),
            Some(t) => self.why_incomplete(t),
            None => String::new(),
        }
    }

    fn why_incomplete(&self, t: &wire::Total) -> String {
        let uncovered = t
            .coverage
            .as_ref()
            .map(|c| c.uncovered.as_slice())
            .unwrap_or_default();
        if uncovered.is_empty() {
            return "incomplete (overlapping figures)".to_owned();
        }
        let mut missing = Vec::new();
        let mut spanning: Vec<&twire::MonthRange> = Vec::new();
        for gap in uncovered {
            let over: Vec<&twire::MonthRange> =
                self.0.iter().filter(|s| overlaps(s, gap)).collect();
            if over.is_empty() {
                missing.push(range_text(Some(gap)));
            }
            for s in over {
                if !spanning.contains(&s) {
                    spanning.push(s);
                }
            }
        }
        let mut parts = Vec::new();
        if !missing.is_empty() {
            parts.push(format!("no figures for {}", missing.join(", ")));
        }
        if !spanning.is_empty() {
            let spans: Vec<String> = spanning.iter().map(|s| range_text(Some(s))).collect();
            parts.push(format!(
                "covered by {}, which cannot be split",
                spans.join(", ")
            ));
        }
        format!("incomplete: {}", parts.join("; "))
    }
}

/// True when the month ranges `a` and `b` share a month.
fn overlaps(a: &twire::MonthRange, b: &twire::MonthRange) -> bool {
    let index = |m: Option<&twire::YearMonth>| m.map(|m| m.year * 12 + m.month);
    let (Some(a0), Some(a1), Some(b0), Some(b1)) = (
        index(a.start.as_ref()),
        index(a.end.as_ref()),
        index(b.start.as_ref()),
        index(b.end.as_ref()),
    ) else {
        return false;
    };
    a0 <= b1 && b0 <= a1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(y0: i32, m0: i32, y1: i32, m1: i32) -> twire::MonthRange {
        twire::MonthRange {
            start: Some(twire::YearMonth {
                year: y0,
                month: m0,
            }),
            end: Some(twire::YearMonth {
                year: y1,
                month: m1,
            }),
        }
    }

    fn incomplete(uncovered: Vec<twire::MonthRange>) -> wire::Total {
        wire::Total {
            period: None,
            units: None,
            coverage: Some(wire::Coverage {
                complete: false,
                covered: Vec::new(),
                uncovered,
            }),
        }
    }

    #[test]
    fn a_month_inside_a_longer_figure_says_so_and_a_month_without_any_says_no_figures() {
        let spans = Spans(vec![range(2022, 1, 2022, 11)]);
        assert_eq!(
            spans.total_text(Some(&incomplete(vec![range(2022, 3, 2022, 3)]))),
            "incomplete: covered by 2022-01..2022-11, which cannot be split"
        );
        assert_eq!(
            spans.total_text(Some(&incomplete(vec![range(2022, 12, 2022, 12)]))),
            "incomplete: no figures for 2022-12"
        );
        assert_eq!(
            spans.total_text(Some(&incomplete(vec![
                range(2022, 11, 2022, 11),
                range(2023, 1, 2023, 2)
            ]))),
            "incomplete: no figures for 2023-01..2023-02; covered by 2022-01..2022-11, which cannot be split"
        );
        assert_eq!(
            Spans::default().total_text(Some(&incomplete(vec![range(2022, 3, 2022, 3)]))),
            "incomplete: no figures for 2022-03"
        );
        assert_eq!(
            spans.total_text(Some(&incomplete(Vec::new()))),
            "incomplete (overlapping figures)"
        );
    }
}
