//! What a chart shows: points that may be missing (a gap in coverage, never zero), figures
//! that span several periods (drawn across their span, never split), the organisation's
//! events, a title naming the series key, notes and the sources. `build` makes it from the
//! services' answers.

use autointel_domain::{Date, MonthRange};

use crate::output::{thousands, visible};

/// A chart ready to draw.
#[derive(Clone, Debug, PartialEq)]
pub struct Chart {
    /// The first line: the series key, what is measured, the period.
    pub title: String,
    /// Lines under the title: the organisation's names, the as-of date.
    pub subtitle: Vec<String>,
    /// The plot.
    pub body: Body,
    /// Footnotes: what gaps and bars mean, totals, counts.
    pub notes: Vec<String>,
    /// One line per source the figures cite.
    pub sources: Vec<String>,
}

/// The plot of a chart.
#[derive(Clone, Debug, PartialEq)]
pub enum Body {
    /// Values over a time axis (a series or a share).
    Time(TimeChart),
    /// One bar per organisation (a ranking).
    Bars(BarChart),
}

/// What the values are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Measure {
    /// Whole vehicles.
    Units,
    /// Percent.
    Percent,
}

impl Measure {
    /// The smallest step between ticks: one vehicle, a tenth of a percent.
    pub fn min_step(self) -> f64 {
        match self {
            Self::Units => 1.0,
            Self::Percent => 0.1,
        }
    }

    /// An axis label for `value`: thousands separators for units, a percent sign for shares.
    pub fn axis_text(self, value: f64) -> String {
        match self {
            // Axis values are whole numbers of units (the ticks are round).
            #[allow(clippy::cast_possible_truncation)]
            Self::Units => thousands(value.round() as i64),
            Self::Percent => {
                let text = format!("{value:.1}");
                format!("{}%", text.strip_suffix(".0").unwrap_or(&text))
            }
        }
    }
}

/// Values over months.
#[derive(Clone, Debug, PartialEq)]
pub struct TimeChart {
    /// The months of the axis.
    pub range: MonthRange,
    /// What the values are.
    pub measure: Measure,
    /// What the line shows, for the legend ("units by month").
    pub line_label: String,
    /// One point per period, in order.
    pub points: Vec<Point>,
    /// Figures over several months that no point could use, each drawn across its months.
    pub spans: Vec<Span>,
    /// The organisation's events in the range, in date order.
    pub events: Vec<EventMark>,
}

/// One period's value, or none (a gap).
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    /// The months the point stands for.
    pub period: MonthRange,
    /// Its value; `None` when no figure covers the period (a gap, not zero).
    pub value: Option<f64>,
    /// Its value as written (`694,900`, `43.2%`).
    pub text: Option<String>,
}

/// A figure that covers several periods as one number.
#[derive(Clone, Debug, PartialEq)]
pub struct Span {
    /// The months it covers.
    pub period: MonthRange,
    /// Its units.
    pub value: f64,
    /// `2023-01..2023-11: 694,900`.
    pub text: String,
}

/// An event on the time axis.
#[derive(Clone, Debug, PartialEq)]
pub struct EventMark {
    /// The first day it may have happened on (its date to its precision).
    pub first: Date,
    /// The last day it may have happened on.
    pub last: Date,
    /// Its date as written: `2023-12-17`, `2023-12`, `2023-Q4`, `2023`.
    pub when: String,
    /// Its title.
    pub title: String,
}

/// Bars, largest first.
#[derive(Clone, Debug, PartialEq)]
pub struct BarChart {
    /// The bars, top to bottom.
    pub bars: Vec<Bar>,
}

/// One bar.
#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    /// Who it is.
    pub label: String,
    /// Its units.
    pub value: f64,
    /// Its value as written (`2,083,318 (4.5%)`).
    pub text: String,
}

impl Chart {
    /// The chart with every invisible or direction-override character in its texts spelled
    /// out as `<U+XXXX>`, as tables show them, so what is drawn is what the data holds.
    pub(super) fn spelled(mut self) -> Self {
        let spell = |t: &mut String| *t = visible(t);
        spell(&mut self.title);
        self.subtitle.iter_mut().for_each(spell);
        self.notes.iter_mut().for_each(spell);
        self.sources.iter_mut().for_each(spell);
        match &mut self.body {
            Body::Time(t) => t.events.iter_mut().for_each(|e| spell(&mut e.title)),
            Body::Bars(b) => b.bars.iter_mut().for_each(|bar| spell(&mut bar.label)),
        }
        self
    }

    /// Every text the chart writes besides axis numbers and fixed legend words.
    pub fn texts(&self) -> Vec<&str> {
        let mut texts: Vec<&str> = vec![self.title.as_str()];
        texts.extend(self.subtitle.iter().map(String::as_str));
        texts.extend(self.notes.iter().map(String::as_str));
        texts.extend(self.sources.iter().map(String::as_str));
        match &self.body {
            Body::Time(t) => {
                texts.push(&t.line_label);
                texts.extend(t.points.iter().filter_map(|p| p.text.as_deref()));
                texts.extend(t.spans.iter().map(|s| s.text.as_str()));
                for e in &t.events {
                    texts.push(&e.when);
                    texts.push(&e.title);
                }
            }
            Body::Bars(b) => {
                for bar in &b.bars {
                    texts.push(&bar.label);
                    texts.push(&bar.text);
                }
            }
        }
        texts
    }
}
