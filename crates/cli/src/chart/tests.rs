//! Charts from in-memory answers: the model (gaps, a January–November figure, events, the
//! title and sources), the axes, and the drawing as SVG (parsed for its texts and lines) and
//! as PNG (decoded). Not pixel-golden. The font is the default one (Debian's
//! fonts-wqy-microhei, which CI installs).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::path::Path;

use autointel_domain::{Date, Granularity, MonthRange, SeriesKey};
use autointel_proto::convert::types::{
    month_range_to_wire, partial_date_to_wire, series_key_to_wire,
};
use autointel_proto::registry as rwire;
use autointel_proto::stats as swire;

use super::axis;
use super::build;
use super::file::{self, Format, Size};
use super::font::{DEFAULT_FONT, Font};
use super::model::{self, Body, Chart, Point};
use super::render::{EVENT, GAP, LINE, SPAN};

fn range(s: &str) -> MonthRange {
    s.parse().unwrap()
}

fn key() -> SeriesKey {
    SeriesKey {
        organization: Some("nissan-china".parse().unwrap()),
        basis: "company_reported".parse().unwrap(),
        flow: "total".parse().unwrap(),
        market: "CN".parse().unwrap(),
        scope: "all".parse().unwrap(),
        powertrain: "all".parse().unwrap(),
        destination: None,
    }
}

fn total(period: &str, units: Option<i64>) -> swire::Total {
    swire::Total {
        period: Some(month_range_to_wire(range(period))),
        units,
        coverage: None,
    }
}

fn figure(name: &str, period: &str, units: i64, stage: swire::ReleaseStage) -> swire::SalesFigure {
    swire::SalesFigure {
        name: format!("salesFigures/{name}"),
        series: Some(series_key_to_wire(&key())),
        period: Some(month_range_to_wire(range(period))),
        quantity: Some(swire::sales_figure::Quantity::Units(units)),
        source: "sources/press".to_owned(),
        stage: stage as i32,
        nature: swire::FigureNature::Actual as i32,
        ..Default::default()
    }
}

fn source(id: &str, title: &str) -> rwire::Source {
    rwire::Source {
        name: format!("sources/{id}"),
        publisher: "Trade press".to_owned(),
        title: title.to_owned(),
        ..Default::default()
    }
}

fn event(id: &str, date: &str, title: &str) -> rwire::Event {
    rwire::Event {
        name: format!("events/{id}"),
        title: title.to_owned(),
        occurred_date: Some(partial_date_to_wire(&date.parse().unwrap())),
        ..Default::default()
    }
}

/// 2023-01..2023-12 by month: January–March and June–July known, April–May and
/// August–December missing; a January–November figure over the same months, a quarterly
/// figure the points used, a forecast; two events and a superseded one.
fn series_answer() -> (swire::ComputeSeriesResponse, Vec<swire::SalesFigure>) {
    let known: [(u8, i64); 5] = [
        (1, 61_200),
        (2, 48_750),
        (3, 70_310),
        (6, 66_000),
        (7, 59_990),
    ];
    let points = (1..=12u8)
        .map(|m| {
            let units = known.iter().find(|(k, _)| *k == m).map(|(_, u)| *u);
            total(&format!("2023-{m:02}"), units)
        })
        .collect();
    let used = ["jan", "feb", "mar", "jun", "jul"].map(|n| swire::SalesFigure {
        name: format!("salesFigures/{n}"),
        ..Default::default()
    });
    let answer = swire::ComputeSeriesResponse {
        points,
        events: Vec::new(),
        provenance: Some(swire::Provenance {
            figures: used.to_vec(),
            sources: vec![source("monthly", "Monthly release")],
        }),
    };
    let mut forecast = figure(
        "plan",
        "2023-01..2023-12",
        900_000,
        swire::ReleaseStage::Final,
    );
    forecast.nature = swire::FigureNature::Forecast as i32;
    let listed = vec![
        figure(
            "cum-prelim",
            "2023-01..2023-11",
            690_000,
            swire::ReleaseStage::Preliminary,
        ),
        figure(
            "cum",
            "2023-01..2023-11",
            694_900,
            swire::ReleaseStage::Final,
        ),
        figure(
            "q1",
            "2023-01..2023-03",
            180_260,
            swire::ReleaseStage::Final,
        ),
        figure("jun", "2023-06", 66_000, swire::ReleaseStage::Final),
        forecast,
    ];
    (answer, listed)
}

fn events() -> Vec<rwire::Event> {
    let mut superseded = event("old", "2023-05-02", "A report later corrected");
    superseded.superseded_by = "events/new".to_owned();
    vec![
        event(
            "centre",
            "2023-12-17",
            "Nissan China and Tsinghua announce a research centre",
        ),
        event(
            "division",
            "2023-10",
            "Dongfeng Nissan establishes an export division",
        ),
        superseded,
    ]
}

fn organization() -> rwire::Organization {
    rwire::Organization {
        name: "organizations/nissan-china".to_owned(),
        english_name: "Nissan China Investment Co., Ltd.".to_owned(),
        chinese_name: "日产（中国）投资有限公司".to_owned(),
        ..Default::default()
    }
}

fn series_chart() -> Chart {
    let (answer, listed) = series_answer();
    let events = events();
    let org = organization();
    let extra = [source(
        "press",
        "Nissan joins joint-venture brands exporting from China",
    )];
    build::series(build::SeriesInput {
        key: &key(),
        period: range("2023-01..2023-12"),
        granularity: Granularity::Month,
        cumulative: false,
        as_of: None,
        answer: &answer,
        listed: &listed,
        events: &events,
        organization: Some(&org),
        extra_sources: &extra,
    })
    .unwrap()
}

fn font() -> Font {
    Font::load(Path::new(DEFAULT_FONT)).unwrap_or_else(|e| {
        panic!(
            "{}\n(the chart tests draw with the default font; CI installs it)",
            e.message
        )
    })
}

const SIZE: Size = Size {
    width: 1000,
    height: 640,
};

fn svg_of(chart: &Chart) -> String {
    file::svg(chart, &font(), SIZE).unwrap()
}

/// The `points` of every polyline stroked in `color` at `width` pixels.
fn polylines(svg: &str, color: plotters::style::RGBColor, width: u32) -> Vec<Vec<(f64, f64)>> {
    let stroke = format!(
        "stroke=\"#{:02X}{:02X}{:02X}\" stroke-width=\"{width}\"",
        color.0, color.1, color.2
    );
    svg.lines()
        .filter(|l| l.starts_with("<polyline") && l.contains(&stroke))
        .map(|l| {
            let points = l
                .split("points=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap();
            points
                .split_whitespace()
                .map(|p| {
                    let (x, y) = p.split_once(',').unwrap();
                    (x.parse().unwrap(), y.parse().unwrap())
                })
                .collect()
        })
        .collect()
}

fn rects(svg: &str, color: plotters::style::RGBColor) -> usize {
    let fill = format!("fill=\"#{:02X}{:02X}{:02X}\"", color.0, color.1, color.2);
    svg.lines()
        .filter(|l| l.starts_with("<rect") && l.contains(&fill))
        .count()
}

/// The y of the (first) text element reading exactly `content`.
fn text_y(svg: &str, content: &str) -> f64 {
    let lines: Vec<&str> = svg.lines().collect();
    let at = lines
        .windows(2)
        .find(|w| w[0].starts_with("<text") && w[1] == content)
        .unwrap_or_else(|| panic!("no text {content:?}"));
    at[0]
        .split(" y=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// Every text element's content.
fn texts(svg: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut lines = svg.lines();
    while let Some(line) = lines.next() {
        if line.starts_with("<text") {
            out.push(lines.next().unwrap_or_default().to_owned());
        }
    }
    out
}

#[test]
fn a_series_keeps_gaps_as_gaps_and_draws_a_january_to_november_figure_across_its_months() {
    let chart = series_chart();
    assert_eq!(
        chart.title,
        "nissan-china/company_reported/total/CN/all/all — units by month, 2023-01..2023-12"
    );
    assert_eq!(
        chart.subtitle,
        ["Nissan China Investment Co., Ltd. · 日产（中国）投资有限公司"]
    );
    let Body::Time(t) = &chart.body else {
        panic!("a series is drawn over time")
    };
    assert_eq!(t.points.len(), 12);
    let missing: Vec<String> = t
        .points
        .iter()
        .filter(|p| p.value.is_none())
        .map(|p| p.period.to_string())
        .collect();
    assert_eq!(
        missing,
        [
            "2023-04", "2023-05", "2023-08", "2023-09", "2023-10", "2023-11", "2023-12"
        ]
    );
    assert_eq!(t.points[0].text.as_deref(), Some("61,200"));
    // Only the final January–November figure: the preliminary one is older, the quarter was
    // used by no point but lies where every month has a value, June is one month, the plan
    // is a forecast.
    assert_eq!(t.spans.len(), 1, "{:?}", t.spans);
    assert_eq!(t.spans[0].period, range("2023-01..2023-11"));
    assert_eq!(t.spans[0].text, "2023-01..2023-11: 694,900");
    let events: Vec<(&str, &str)> = t
        .events
        .iter()
        .map(|e| (e.when.as_str(), e.title.as_str()))
        .collect();
    assert_eq!(
        events,
        [
            ("2023-10", "Dongfeng Nissan establishes an export division"),
            (
                "2023-12-17",
                "Nissan China and Tsinghua announce a research centre"
            ),
        ],
        "in date order, the superseded one left out"
    );
    assert!(chart.sources.contains(
        &"Source: Trade press — Nissan joins joint-venture brands exporting from China [sources/press]"
            .to_owned()
    ));
    assert!(
        chart
            .sources
            .contains(&"Source: Trade press — Monthly release [sources/monthly]".to_owned())
    );
    assert!(chart.notes.iter().any(|n| n.contains("not zero")));
    assert!(chart.notes.iter().any(|n| n.contains("cannot be split")));
}

#[test]
fn a_quarter_figure_the_points_used_is_not_drawn_again() {
    let (_, listed) = series_answer();
    let points: Vec<Point> = vec![Point {
        period: range("2023-01..2023-03"),
        value: Some(180_260.0),
        text: None,
    }];
    let used: HashSet<&str> = ["salesFigures/q1"].into();
    assert!(
        build::spanning_figures(&key(), &points, &used, &listed)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_share_breaks_where_a_side_is_missing_and_says_which() {
    let share = |n: Option<i64>, d: Option<i64>| swire::SharePoint {
        numerator: Some(total("2024-01", n)),
        denominator: Some(total("2024-01", d)),
        share: match (n, d) {
            (Some(n), Some(d)) => Some(autointel_proto::types::Ratio {
                numerator: n,
                denominator: d,
                percent: format!("{:.1}", n as f64 / d as f64 * 100.0),
            }),
            _ => None,
        },
    };
    let answer = swire::ComputeShareResponse {
        points: vec![
            share(Some(432), Some(1000)),
            share(None, Some(1000)),
            share(Some(500), None),
            share(Some(498), Some(1000)),
        ],
        provenance: None,
    };
    let mut nev = key();
    nev.powertrain = "nev".parse().unwrap();
    let chart = build::share(build::ShareInput {
        numerator: &nev,
        denominator: &key(),
        period: range("2024-01..2024-04"),
        granularity: Granularity::Month,
        as_of: Some("2024-06-30".parse::<Date>().unwrap()),
        answer: &answer,
        events: &[],
        organization: None,
    })
    .unwrap();
    let Body::Time(t) = &chart.body else {
        panic!("a share is drawn over time")
    };
    let values: Vec<Option<&str>> = t.points.iter().map(|p| p.text.as_deref()).collect();
    assert_eq!(values, [Some("43.2%"), None, None, Some("49.8%")]);
    assert_eq!(axis::runs(t.range, &t.points).len(), 2);
    assert!(
        chart
            .notes
            .contains(&"No numerator figure tiles 2024-02.".to_owned())
    );
    assert!(
        chart
            .notes
            .contains(&"No denominator figure tiles 2024-03.".to_owned())
    );
    assert!(
        chart
            .subtitle
            .contains(&"As known on 2024-06-30".to_owned())
    );
    assert!(
        chart
            .title
            .starts_with("nissan-china/company_reported/total/CN/all/nev — share")
    );
}

#[test]
fn a_ranking_names_each_organisation_with_its_units_and_share() {
    let entry = |rank: i32, id: &str, units: i64, percent: &str| swire::RankingEntry {
        rank,
        organization: format!("organizations/{id}"),
        units,
        share: Some(autointel_proto::types::Ratio {
            numerator: 1,
            denominator: 1,
            percent: percent.to_owned(),
        }),
        year_over_year: None,
        exact_units: None,
    };
    let answer = swire::ComputeRankingResponse {
        entries: vec![
            entry(1, "byd", 3_020_000, "11.9"),
            entry(2, "nissan-china", 694_900, "2.7"),
        ],
        total_units: 25_400_000,
        total_is_market: true,
        incomplete_count: 3,
        provenance: None,
        ..Default::default()
    };
    let mut all = key();
    all.organization = None;
    let orgs = [organization()];
    let chart = build::ranking(build::RankInput {
        key: &all,
        period: range("2023-01..2023-12"),
        as_of: None,
        answer: &answer,
        organizations: &orgs,
    })
    .unwrap();
    let Body::Bars(b) = &chart.body else {
        panic!("a ranking is drawn as bars")
    };
    assert_eq!(b.bars[0].label, "1. byd");
    assert_eq!(b.bars[0].text, "3,020,000 (11.9%)");
    assert_eq!(
        b.bars[1].label,
        "2. Nissan China Investment Co., Ltd. · 日产（中国）投资有限公司"
    );
    assert!(
        chart
            .title
            .starts_with("*/company_reported/total/CN/all/all — ranking")
    );
    // A hidden character stored in a name is spelled out, as in tables.
    let mut hidden = organization();
    hidden.english_name = "Nissan\u{202e} China".to_owned();
    let hidden = [hidden];
    let spelled = build::ranking(build::RankInput {
        key: &all,
        period: range("2023-01..2023-12"),
        as_of: None,
        answer: &answer,
        organizations: &hidden,
    })
    .unwrap();
    let Body::Bars(spelled) = &spelled.body else {
        unreachable!()
    };
    assert!(
        spelled.bars[1]
            .label
            .starts_with("2. Nissan<U+202E> China · "),
        "{}",
        spelled.bars[1].label
    );
    assert!(
        chart
            .notes
            .contains(&"Total: 25,400,000 (the whole market); shares are of it.".to_owned())
    );
    assert!(
        chart
            .notes
            .iter()
            .any(|n| n.starts_with("3 organisations left out"))
    );
    let svg = svg_of(&chart);
    assert_eq!(rects(&svg, super::render::BAR), 2);
    let texts = texts(&svg);
    assert!(texts.iter().any(|t| t == "3,020,000 (11.9%)"), "{texts:?}");
    assert!(
        texts.iter().any(|t| t.contains("日产（中国）")),
        "{texts:?}"
    );
}

#[test]
fn the_axes_place_months_break_lines_at_gaps_and_round_their_ticks() {
    let axis_range = range("2023-01..2023-12");
    assert_eq!(
        axis::x_of_month(axis_range, "2023-03".parse().unwrap()),
        2.0
    );
    assert_eq!(
        axis::x_extent(axis_range, range("2023-01..2023-11")),
        (0.0, 11.0)
    );
    assert_eq!(
        axis::x_extent(axis_range, range("2022-06..2023-02")),
        (0.0, 2.0)
    );
    assert_eq!(axis::x_of_point(axis_range, range("2023-04..2023-06")), 4.5);
    let day: Date = "2023-12-17".parse().unwrap();
    let (a, b) = axis::x_of_event(axis_range, day, day);
    assert!((a - (11.0 + 16.0 / 31.0)).abs() < 1e-9 && b > a && b - a < 0.05);
    let ticks: Vec<String> = axis::month_ticks(axis_range, 12)
        .into_iter()
        .map(|(_, l)| l)
        .collect();
    assert_eq!(ticks, ["2023-01", "2023-04", "2023-07", "2023-10"]);
    let yearly: Vec<String> = axis::month_ticks(range("2015-01..2024-12"), 12)
        .into_iter()
        .map(|(_, l)| l)
        .collect();
    assert_eq!(yearly.first().map(String::as_str), Some("2015"));
    assert_eq!(yearly.len(), 10);
    assert_eq!(
        axis::value_ticks(694_900.0, 1.0),
        [0.0, 200_000.0, 400_000.0, 600_000.0, 800_000.0]
    );
    assert_eq!(axis::value_ticks(0.0, 1.0), [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
    assert_eq!(axis::value_ticks(2.0, 1.0), [0.0, 1.0, 2.0, 3.0]);
    assert_eq!(axis::value_ticks(49.7, 0.1), [0.0, 20.0, 40.0, 60.0]);
    assert_eq!(axis::value_ticks(0.7, 0.1), [0.0, 0.2, 0.4, 0.6, 0.8]);
    assert_eq!(model::Measure::Units.axis_text(1_250_000.0), "1,250,000");
    assert_eq!(model::Measure::Percent.axis_text(40.0), "40%");
    assert_eq!(model::Measure::Percent.axis_text(12.5), "12.5%");

    let Body::Time(t) = series_chart().body else {
        unreachable!()
    };
    let runs = axis::runs(t.range, &t.points);
    assert_eq!(runs.iter().map(Vec::len).collect::<Vec<_>>(), [3, 2]);
    assert_eq!(axis::gaps(t.range, &t.points), [(3.0, 5.0), (7.0, 12.0)]);
}

#[test]
fn the_svg_has_the_title_thousands_separators_events_and_a_broken_line() {
    let svg = svg_of(&series_chart());
    assert!(
        svg.starts_with("<svg width=\"1000\" height=\"640\""),
        "{}",
        &svg[..80]
    );
    let texts = texts(&svg);
    let has = |s: &str| texts.iter().any(|t| t.contains(s));
    assert!(has(
        "nissan-china/company_reported/total/CN/all/all — units by month"
    ));
    assert!(has("日产（中国）投资有限公司"));
    // Axis ticks and labels with thousands separators.
    for label in ["400,000", "800,000", "61,200", "2023-01..2023-11: 694,900"] {
        assert!(texts.iter().any(|t| t == label), "no {label} in {texts:?}");
    }
    assert!(has(
        "[2] 2023-12-17  Nissan China and Tsinghua announce a research centre"
    ));
    assert!(has("[1] 2023-10"));
    assert!(has(
        "Source: Trade press — Monthly release [sources/monthly]"
    ));
    assert!(has("2023-04"), "month ticks: {texts:?}");

    // The line: two runs (January–March, June–July) plus the legend's sample; no point of
    // them at the axis' zero.
    let lines = polylines(&svg, LINE, 2);
    assert_eq!(lines.len(), 3, "{lines:?}");
    let lengths: Vec<usize> = lines.iter().map(Vec::len).collect();
    assert_eq!(lengths, [2, 3, 2], "the legend's sample, then the runs");
    let zero = text_y(&svg, "0");
    assert!(
        lines[1..].iter().flatten().all(|p| p.1 < zero - 10.0),
        "no point drawn at zero (axis at {zero}): {lines:?}"
    );
    // Two gap bands plus the legend's swatch.
    assert_eq!(rects(&svg, GAP), 3);
    // The January–November figure is one bar (plus the legend's sample).
    assert_eq!(polylines(&svg, SPAN, 4).len(), 2);
    // Two events, each a line, plus the legend's mark; October is a month: a band too.
    assert_eq!(polylines(&svg, EVENT, 2).len(), 3);
}

#[test]
fn the_png_decodes_at_its_size_and_shows_the_line_and_the_gaps() {
    let bytes = file::render(&series_chart(), &font(), SIZE, Format::Png).unwrap();
    assert!(bytes.len() < 200_000, "{} bytes", bytes.len());
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut rgb = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut rgb).unwrap();
    assert_eq!((info.width, info.height), (SIZE.width, SIZE.height));
    assert_eq!(info.color_type, png::ColorType::Rgb);
    let pixels: Vec<&[u8]> = rgb.chunks_exact(3).collect();
    let count = |c: plotters::style::RGBColor| {
        pixels
            .iter()
            .filter(|p| p[0] == c.0 && p[1] == c.1 && p[2] == c.2)
            .count()
    };
    let white = count(plotters::style::RGBColor(255, 255, 255));
    assert!(
        white < pixels.len() * 95 / 100,
        "almost blank: {white} white"
    );
    assert!(count(LINE) > 200, "the line");
    assert!(count(GAP) > 10_000, "the gaps");
    assert!(count(SPAN) > 500, "the January–November bar");
    assert!(count(EVENT) > 200, "the events");
}

#[test]
fn a_missing_font_is_named_with_how_to_get_one_and_a_missing_glyph_refuses_the_chart() {
    let missing = Font::load(Path::new("/nonexistent/chart-font.ttf")).unwrap_err();
    assert!(
        missing.message.contains("/nonexistent/chart-font.ttf")
            && missing
                .message
                .contains("apt-get install fonts-wqy-microhei")
            && missing.message.contains("--font"),
        "{}",
        missing.message
    );
    let font = font();
    assert!(
        font.missing("日产（中国）投资有限公司 — 1,234 · 東風日產")
            .is_empty()
    );
    let refused = font.check(["Nissan 🚗 exports"]).unwrap_err();
    assert!(
        refused.message.contains(DEFAULT_FONT) && refused.message.contains("U+1F697"),
        "{}",
        refused.message
    );
    assert!(font.check(series_chart().texts()).is_ok());
    assert!(font.check(super::render::FIXED_TEXTS).is_ok());
}

#[test]
fn the_format_follows_the_extension() {
    assert_eq!(
        file::format_of(Path::new("a/chart.svg")).unwrap(),
        Format::Svg
    );
    assert_eq!(
        file::format_of(Path::new("chart.PNG")).unwrap(),
        Format::Png
    );
    let e = file::format_of(Path::new("chart.jpg")).unwrap_err();
    assert!(e.message.contains("chart.jpg") && e.message.contains(".svg or .png"));
    assert!(file::format_of(Path::new("chart")).is_err());
}
