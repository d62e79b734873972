//! Drawing a [`Chart`] on any plotters backend: the title and subtitle, a legend, the plot
//! (a time axis with gaps shaded and the line broken, figures over several months as bars
//! across their span, events as marked and numbered lines; or ranked bars), then the events
//! by number, the notes and the sources. Layout is in pixels from the top; the same drawing
//! goes to SVG and to PNG.

use anyhow::anyhow;
use std::ops::Range;

use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::axis;
use super::font::Font;
use super::model::{BarChart, Body, Chart, TimeChart};

/// The line of a series or share.
pub const LINE: RGBColor = RGBColor(31, 119, 180);
/// Figures over several months.
pub const SPAN: RGBColor = RGBColor(214, 96, 0);
/// Events.
pub const EVENT: RGBColor = RGBColor(190, 30, 45);
/// Shading of gaps in coverage.
pub const GAP: RGBColor = RGBColor(222, 222, 222);
/// Ranked bars.
pub const BAR: RGBColor = RGBColor(31, 119, 180);
const TEXT: RGBColor = RGBColor(30, 30, 30);
const MUTED: RGBColor = RGBColor(95, 95, 95);
const GRID: RGBColor = RGBColor(232, 232, 232);

/// Fixed words the drawing writes besides the chart's own texts (checked against the font).
pub const FIXED_TEXTS: [&str; 4] = [
    "no figure (gap, not zero)",
    "one figure over several months",
    "event",
    "0123456789,.%-…[]",
];

const PAD: i32 = 20;
// Sizes are the text's full height in pixels (an SVG font size of about 0.8 of it).
const TITLE_SIZE: f64 = 27.0;
const SUBTITLE_SIZE: f64 = 19.0;
const LEGEND_SIZE: f64 = 16.0;
const LABEL_SIZE: f64 = 15.0;
const FOOT_SIZE: f64 = 15.0;
const FOOT_LINE: i32 = 19;
/// The plot is never squeezed below this many pixels; footnote lines give way first.
const MIN_PLOT: i32 = 160;

/// A linear axis with the ticks given (plotters' own key points cannot take a label
/// formatter on a floating-point axis).
struct Ticked {
    inner: RangedCoordf64,
    ticks: Vec<f64>,
}

impl Ticked {
    fn new(range: Range<f64>, ticks: Vec<f64>) -> Self {
        Self {
            inner: range.into(),
            ticks,
        }
    }
}

impl Ranged for Ticked {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.inner.range()
    }
}

fn fail(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow!("cannot draw the chart: {e}")
}

fn style(font: &Font, size: f64, color: RGBColor) -> TextStyle<'static> {
    FontDesc::new(FontFamily::Name(font.family()), size, FontStyle::Normal).color(&color)
}

fn top_left(s: TextStyle<'static>) -> TextStyle<'static> {
    s.pos(Pos::new(HPos::Left, VPos::Top))
}

/// The footer's lines: (text, size, color), in order.
fn footer_lines(chart: &Chart) -> Vec<(String, f64, RGBColor)> {
    let mut lines = Vec::new();
    if let Body::Time(t) = &chart.body {
        for (i, e) in t.events.iter().enumerate() {
            lines.push((
                format!("[{}] {}  {}", i + 1, e.when, e.title),
                LEGEND_SIZE,
                EVENT,
            ));
        }
    }
    for n in &chart.notes {
        lines.push((n.clone(), FOOT_SIZE, MUTED));
    }
    for s in &chart.sources {
        lines.push((s.clone(), FOOT_SIZE, MUTED));
    }
    lines
}

/// Draws `chart` filling `root`.
pub fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    chart: &Chart,
    font: &Font,
) -> anyhow::Result<()> {
    root.fill(&WHITE).map_err(fail)?;
    let (width, height) = root.dim_in_pixel();
    let (width, height) = (
        i32::try_from(width).map_err(fail)?,
        i32::try_from(height).map_err(fail)?,
    );
    let text_width = f64::from(width - 2 * PAD);

    // Title and subtitle.
    let mut y = PAD;
    let title = font.fit(&chart.title, TITLE_SIZE, text_width);
    root.draw(&Text::new(
        title,
        (PAD, y),
        top_left(style(font, TITLE_SIZE, TEXT)),
    ))
    .map_err(fail)?;
    y += 36;
    for line in &chart.subtitle {
        let line = font.fit(line, SUBTITLE_SIZE, text_width);
        root.draw(&Text::new(
            line,
            (PAD, y),
            top_left(style(font, SUBTITLE_SIZE, MUTED)),
        ))
        .map_err(fail)?;
        y += 24;
    }

    // The footer, from the bottom up; lines that do not fit are left out, counted last.
    let mut lines = footer_lines(chart);
    let room = (height - PAD - y - MIN_PLOT - 30) / FOOT_LINE;
    let room = usize::try_from(room.max(1)).unwrap_or(1);
    if lines.len() > room {
        let left_out = lines.len() - (room - 1);
        lines.truncate(room - 1);
        lines.push((
            format!("… {left_out} more lines (make the chart taller to see them)"),
            FOOT_SIZE,
            MUTED,
        ));
    }
    let footer_top = height - PAD - FOOT_LINE * i32::try_from(lines.len()).map_err(fail)?;
    for (i, (text, size, color)) in lines.iter().enumerate() {
        let text = font.fit(text, *size, text_width);
        let line_y = footer_top + FOOT_LINE * i32::try_from(i).map_err(fail)?;
        root.draw(&Text::new(
            text,
            (PAD, line_y),
            top_left(style(font, *size, *color)),
        ))
        .map_err(fail)?;
    }

    match &chart.body {
        Body::Time(t) => {
            let legend_y = y + 4;
            legend(root, font, t, legend_y)?;
            let plot_top = legend_y + 24;
            let plot = root.clone().shrink(
                (PAD / 2, plot_top),
                (
                    u32::try_from(width - PAD).map_err(fail)?,
                    u32::try_from((footer_top - 10 - plot_top).max(MIN_PLOT)).map_err(fail)?,
                ),
            );
            time_plot(&plot, font, t)
        }
        Body::Bars(b) => {
            let plot_top = y + 8;
            let plot = root.clone().shrink(
                (PAD / 2, plot_top),
                (
                    u32::try_from(width - PAD).map_err(fail)?,
                    u32::try_from((footer_top - 10 - plot_top).max(MIN_PLOT)).map_err(fail)?,
                ),
            );
            bar_plot(&plot, font, b)
        }
    }
}

/// The legend row above a time plot: the line, and gaps, spans and events when present.
fn legend<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    font: &Font,
    t: &TimeChart,
    y: i32,
) -> anyhow::Result<()> {
    let mut x = PAD;
    let mid = y + 8;
    let label = style(font, LEGEND_SIZE, TEXT).pos(Pos::new(HPos::Left, VPos::Center));
    let item = |x: &mut i32, text: &str| -> anyhow::Result<()> {
        root.draw(&Text::new(text.to_owned(), (*x + 26, mid), label.clone()))
            .map_err(fail)?;
        #[allow(clippy::cast_possible_truncation)]
        let w = font.width(text, LEGEND_SIZE).ceil() as i32;
        *x += 26 + w + 22;
        Ok(())
    };
    root.draw(&PathElement::new(
        vec![(x, mid), (x + 20, mid)],
        LINE.stroke_width(2),
    ))
    .map_err(fail)?;
    item(&mut x, &t.line_label)?;
    if t.points.iter().any(|p| p.value.is_none()) {
        root.draw(&Rectangle::new([(x, y), (x + 20, y + 16)], GAP.filled()))
            .map_err(fail)?;
        item(&mut x, FIXED_TEXTS[0])?;
    }
    if !t.spans.is_empty() {
        root.draw(&PathElement::new(
            vec![(x, mid), (x + 20, mid)],
            SPAN.stroke_width(4),
        ))
        .map_err(fail)?;
        item(&mut x, FIXED_TEXTS[1])?;
    }
    if !t.events.is_empty() {
        root.draw(&PathElement::new(
            vec![(x + 10, y), (x + 10, y + 16)],
            EVENT.stroke_width(2),
        ))
        .map_err(fail)?;
        item(&mut x, FIXED_TEXTS[2])?;
    }
    Ok(())
}

fn label_width(font: &Font, texts: impl IntoIterator<Item = String>) -> u32 {
    let widest = texts
        .into_iter()
        .map(|t| font.width(&t, LABEL_SIZE))
        .fold(0.0, f64::max);
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let w = widest.ceil() as u32;
    w + 14
}

/// The plot of values over months.
fn time_plot<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    font: &Font,
    t: &TimeChart,
) -> anyhow::Result<()> {
    let months = f64::from(t.range.len_months());
    let (area_width, _) = area.dim_in_pixel();
    let max_ticks = usize::try_from(area_width / 90).unwrap_or(12).max(2);
    let x_ticks = axis::month_ticks(t.range, max_ticks);
    let highest = t
        .points
        .iter()
        .filter_map(|p| p.value)
        .chain(t.spans.iter().map(|s| s.value))
        .fold(0.0, f64::max);
    let y_ticks = axis::value_ticks(highest, t.measure.min_step());
    let top = y_ticks.last().copied().unwrap_or(1.0);
    let measure = t.measure;
    let y_labels = label_width(font, y_ticks.iter().map(|v| measure.axis_text(*v)));
    let tick_xs: Vec<f64> = x_ticks.iter().map(|(x, _)| *x).collect();
    let mut cc = ChartBuilder::on(area)
        .margin_top(22)
        .margin_right(24)
        .x_label_area_size(30)
        .y_label_area_size(y_labels)
        .build_cartesian_2d(
            Ticked::new(0f64..months, tick_xs),
            Ticked::new(0f64..top, y_ticks.clone()),
        )
        .map_err(fail)?;
    let x_label = |x: &f64| {
        x_ticks
            .iter()
            .find(|(tx, _)| (tx - x).abs() < 1e-6)
            .map(|(_, l)| l.clone())
            .unwrap_or_default()
    };
    let y_label = |y: &f64| measure.axis_text(*y);
    cc.configure_mesh()
        .bold_line_style(GRID)
        .light_line_style(TRANSPARENT)
        .axis_style(MUTED)
        .label_style(style(font, LABEL_SIZE, MUTED))
        .x_label_formatter(&x_label)
        .y_label_formatter(&y_label)
        .draw()
        .map_err(fail)?;

    // Gaps first, so everything else is drawn over them.
    cc.draw_series(
        axis::gaps(t.range, &t.points)
            .into_iter()
            .map(|(a, b)| Rectangle::new([(a, 0.0), (b, top)], GAP.filled())),
    )
    .map_err(fail)?;

    // Events: a line at the day (a band across a month, quarter or year known only to that
    // precision), numbered at the top; the footer gives each number's date and title.
    for (i, e) in t.events.iter().enumerate() {
        let (a, b) = axis::x_of_event(t.range, e.first, e.last);
        if b - a > 0.2 {
            cc.draw_series(std::iter::once(Rectangle::new(
                [(a, 0.0), (b, top)],
                EVENT.mix(0.10).filled(),
            )))
            .map_err(fail)?;
        }
        let x = if b - a > 0.2 { (a + b) / 2.0 } else { a };
        cc.draw_series(std::iter::once(PathElement::new(
            vec![(x, 0.0), (x, top)],
            EVENT.stroke_width(2),
        )))
        .map_err(fail)?;
        // Tags of nearby events are staggered; near the right end they sit left of the line.
        let row = i32::try_from(i % 3).map_err(fail)? * 18;
        let (dx, h_pos) = if x > months * 0.75 {
            (-4, HPos::Right)
        } else {
            (4, HPos::Left)
        };
        cc.draw_series(std::iter::once(
            EmptyElement::at((x, top))
                + Text::new(
                    format!("[{}] {}", i + 1, e.when),
                    (dx, 2 + row),
                    style(font, LABEL_SIZE, EVENT).pos(Pos::new(h_pos, VPos::Top)),
                ),
        ))
        .map_err(fail)?;
    }

    // Figures over several months: one bar across their months at their total, labelled.
    for s in &t.spans {
        let (a, b) = axis::x_extent(t.range, s.period);
        cc.draw_series(std::iter::once(PathElement::new(
            vec![(a, s.value), (b, s.value)],
            SPAN.stroke_width(4),
        )))
        .map_err(fail)?;
        cc.draw_series(std::iter::once(
            EmptyElement::at(((a + b) / 2.0, s.value))
                + Text::new(
                    s.text.clone(),
                    (0, -6),
                    style(font, LABEL_SIZE, SPAN).pos(Pos::new(HPos::Center, VPos::Bottom)),
                ),
        ))
        .map_err(fail)?;
    }

    // The line: one polyline per run of points with values, a dot on every point.
    for run in axis::runs(t.range, &t.points) {
        if run.len() > 1 {
            cc.draw_series(std::iter::once(PathElement::new(
                run.clone(),
                LINE.stroke_width(2),
            )))
            .map_err(fail)?;
        }
        cc.draw_series(
            run.iter()
                .map(|&(x, y)| Circle::new((x, y), 3, LINE.filled())),
        )
        .map_err(fail)?;
    }

    // Value labels: every point when there are few, else the highest and the last.
    let valued: Vec<usize> = (0..t.points.len())
        .filter(|&i| t.points[i].value.is_some())
        .collect();
    let labelled: Vec<usize> = if valued.len() <= 13 {
        valued
    } else {
        let highest = valued.iter().copied().max_by(|&a, &b| {
            let v = |i: usize| t.points[i].value.unwrap_or(0.0);
            v(a).total_cmp(&v(b))
        });
        let last = valued.last().copied();
        let mut picked: Vec<usize> = highest.into_iter().chain(last).collect();
        picked.dedup();
        picked
    };
    for i in labelled {
        let p = &t.points[i];
        let (Some(v), Some(text)) = (p.value, p.text.clone()) else {
            continue;
        };
        cc.draw_series(std::iter::once(
            EmptyElement::at((axis::x_of_point(t.range, p.period), v))
                + Text::new(
                    text,
                    (0, -7),
                    style(font, LABEL_SIZE, TEXT).pos(Pos::new(HPos::Center, VPos::Bottom)),
                ),
        ))
        .map_err(fail)?;
    }
    Ok(())
}

/// The plot of ranked bars, largest at the top.
fn bar_plot<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    font: &Font,
    b: &BarChart,
) -> anyhow::Result<()> {
    let n = b.bars.len();
    #[allow(clippy::cast_precision_loss)]
    let rows = n.max(1) as f64;
    let highest = b.bars.iter().map(|bar| bar.value).fold(0.0, f64::max);
    // Room on the right for the value written after the longest bar.
    let value_room = b
        .bars
        .iter()
        .map(|bar| font.width(&bar.text, LABEL_SIZE))
        .fold(0.0, f64::max);
    let (area_width, _) = area.dim_in_pixel();
    let max_label = f64::from(area_width) * 0.4;
    let labels: Vec<String> = b
        .bars
        .iter()
        .map(|bar| font.fit(&bar.label, LABEL_SIZE, max_label))
        .collect();
    let x_ticks = axis::value_ticks(highest, 1.0);
    let top = x_ticks.last().copied().unwrap_or(1.0);
    #[allow(clippy::cast_precision_loss)]
    let centres: Vec<f64> = (0..n).map(|i| rows - i as f64 - 0.5).collect();
    let label_of = |y: &f64| {
        centres
            .iter()
            .position(|c| (c - y).abs() < 1e-6)
            .and_then(|i| labels.get(i).cloned())
            .unwrap_or_default()
    };
    let x_label = |x: &f64| super::model::Measure::Units.axis_text(*x);
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let right = (value_room.ceil() as u32) + 16;
    let mut cc = ChartBuilder::on(area)
        .margin_top(8)
        .margin_right(right)
        .x_label_area_size(30)
        .y_label_area_size(label_width(font, labels.iter().cloned()))
        .build_cartesian_2d(
            Ticked::new(0f64..top, x_ticks.clone()),
            Ticked::new(0f64..rows, centres.clone()),
        )
        .map_err(fail)?;
    cc.configure_mesh()
        .bold_line_style(GRID)
        .light_line_style(TRANSPARENT)
        .disable_y_mesh()
        .axis_style(MUTED)
        .label_style(style(font, LABEL_SIZE, TEXT))
        .x_label_formatter(&x_label)
        .y_label_formatter(&label_of)
        .draw()
        .map_err(fail)?;
    for (bar, &c) in b.bars.iter().zip(&centres) {
        cc.draw_series(std::iter::once(Rectangle::new(
            [(0.0, c - 0.32), (bar.value, c + 0.32)],
            BAR.filled(),
        )))
        .map_err(fail)?;
        cc.draw_series(std::iter::once(
            EmptyElement::at((bar.value, c))
                + Text::new(
                    bar.text.clone(),
                    (6, 0),
                    style(font, LABEL_SIZE, TEXT).pos(Pos::new(HPos::Left, VPos::Center)),
                ),
        ))
        .map_err(fail)?;
    }
    Ok(())
}
