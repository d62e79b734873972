//! The checks behind autointel's fuzz targets, one public function per target.
//!
//! Each takes the raw fuzzer input and panics only when a property is broken: a parser or
//! conversion panicked, a value accepted violates its invariants, a round trip changed a
//! value, or a rejection has a violation without a field path. The `fuzz_targets/` binaries
//! are one line each; `tests/regressions.rs` replays `regressions/<target>/*` through the
//! same functions with plain `cargo test`, so every crash found stays a test.

use autointel_domain::{
    Comparator, CountryCode, Date, DatePrecision, EventId, EventKind, EventStatus, Flow,
    LanguageTag, Market, MeasureBasis, MonthRange, OrganizationId, OrganizationKind, PartialDate,
    PartnershipId, PartnershipKind, PartnershipStatus, PersonId, Powertrain, RelationshipId,
    RelationshipKind, ReleaseStage, SalesFigureId, SourceId, SourceKind, Stake, TargetId,
    TargetStatus, Tiling, Units, ValidationError, VehicleScope, YearMonth, check_resource_id, tile,
};
use autointel_proto::convert::stats::{sales_figure_from_wire, sales_figure_to_wire};
use autointel_proto::convert::types::{
    date_from_wire, date_to_wire, month_range_from_wire, month_range_to_wire,
    partial_date_from_wire, partial_date_to_wire, series_key_from_wire, series_key_to_wire,
    year_month_from_wire, year_month_to_wire,
};
use autointel_proto::{registry as rwire, stats as swire};
use autointel_stats::engine::ListKey;
use autointel_figure_file::{Error as FileError, json_to_csv, read_sales_figures};
use libfuzzer_sys::arbitrary::{Arbitrary, Unstructured};
use prost::Message;
use std::fmt::Debug;
use std::str::FromStr;

// ---------------------------------------------------------------------------------------
// shared checks

/// A rejection must name every field it rejects: no violation without a path, no empty
/// path segment (`a..b`, `.a`, `a.`), and brackets only around an index.
fn check_rejection(what: &str, error: &ValidationError) {
    assert!(
        !error.violations().is_empty(),
        "{what}: rejected with no violation"
    );
    for violation in error.violations() {
        let field = violation.field.as_str();
        assert!(
            !field.is_empty(),
            "{what}: violation without a field path: {violation:?}"
        );
        for segment in field.split('.') {
            let name = segment.split('[').next().unwrap_or("");
            assert!(!name.is_empty(), "{what}: empty path segment in {field:?}");
            for index in segment.split('[').skip(1) {
                let digits = index
                    .strip_suffix(']')
                    .unwrap_or_else(|| panic!("{what}: unbalanced brackets in {field:?}"));
                assert!(
                    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()),
                    "{what}: bad index in {field:?}"
                );
            }
        }
        assert!(
            !violation.description.is_empty(),
            "{what}: violation of {field:?} without a description"
        );
    }
}

/// The id every fuzzed sales figure is converted under.
fn figure_id() -> SalesFigureId {
    SalesFigureId::parse("fuzz-figure").expect("a valid id")
}

/// Checks one wire figure as the stats service would convert it: accepted figures keep the
/// domain invariants and survive domain → wire → domain unchanged.
fn check_wire_figure(wire: &swire::SalesFigure) -> bool {
    match sales_figure_from_wire(figure_id(), wire) {
        Ok(figure) => {
            assert!(figure.units <= Units::MAX, "units above 10^12: {figure:?}");
            if let Some(prior) = figure.comparable_prior {
                assert!(prior <= Units::MAX, "prior above 10^12: {figure:?}");
            }
            assert!(
                figure.period.start() <= figure.period.end(),
                "period ends before it starts: {figure:?}"
            );
            let again = sales_figure_to_wire(&figure, None);
            let back = sales_figure_from_wire(figure_id(), &again)
                .unwrap_or_else(|e| panic!("round trip rejected {again:?}: {e}"));
            assert_eq!(back, figure, "sales figure round trip changed the value");
            true
        }
        Err(error) => {
            check_rejection("SalesFigure", &error);
            false
        }
    }
}

/// A rejected file: at least one problem, each described and on a line of the file
/// (`last_line` is the file's last line).
fn check_seed_error(error: &FileError, last_line: u64) {
    assert!(!error.problems.is_empty(), "CSV rejected with no problem");
    for problem in &error.problems {
        assert!(
            !problem.description.is_empty(),
            "problem without a description: {problem:?}"
        );
        assert!(
            problem.line <= last_line,
            "problem on line {} of a file whose last line is {last_line}: {problem:?}",
            problem.line
        );
    }
}

// ---------------------------------------------------------------------------------------
// import_csv

/// `autointel import figures.csv`: CSV bytes → `read_sales_figures`; every figure read must
/// also be accepted by the service's wire → domain conversion (the CLI's local check is
/// the service's check), with its invariants.
pub fn import_csv(data: &[u8]) {
    // CSV ends a line at `\n`, `\r\n` or a lone `\r`.
    let breaks = data
        .iter()
        .enumerate()
        .filter(|&(i, &b)| b == b'\n' || (b == b'\r' && data.get(i + 1) != Some(&b'\n')))
        .count();
    let last_line = breaks as u64 + 1;
    match read_sales_figures(data) {
        Ok(figures) => {
            for (i, figure) in figures.iter().enumerate() {
                assert!(
                    check_wire_figure(figure),
                    "figure {i} read from CSV but rejected by the service: {figure:?}"
                );
            }
        }
        Err(error) => check_seed_error(&error, last_line),
    }
}

// ---------------------------------------------------------------------------------------
// import_json

/// `autointel import figures.json`: JSON bytes → `json_to_csv` → `read_sales_figures`, with
/// the same properties as [`import_csv`]; a JSON document that converts has one CSV
/// record per JSON record.
pub fn import_json(data: &[u8]) {
    let Ok(csv) = json_to_csv(data) else {
        return;
    };
    // The CLI reports a problem as JSON record `problem.record`: it must be one of the
    // file's records (a quoted multi-line note once shifted later records' numbers).
    let records = serde_json::from_slice::<Vec<serde_json::Value>>(data)
        .map(|r| r.len() as u64)
        .expect("json_to_csv accepted it, so it is a JSON array");
    let breaks = csv
        .iter()
        .enumerate()
        .filter(|&(i, &b)| b == b'\n' || (b == b'\r' && csv.get(i + 1) != Some(&b'\n')))
        .count();
    match read_sales_figures(csv.as_slice()) {
        Ok(figures) => {
            for (i, figure) in figures.iter().enumerate() {
                assert!(
                    check_wire_figure(figure),
                    "record {} read from JSON but rejected by the service: {figure:?}",
                    i + 1
                );
            }
        }
        Err(error) => {
            check_seed_error(&error, breaks as u64 + 1);
            for problem in &error.problems {
                assert!(
                    problem.record <= records,
                    "problem in record {} of {records}: {problem:?}",
                    problem.record
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// wire_to_domain

fn entity<W, D>(bytes: &[u8], what: &str)
where
    W: Message + Default + Debug + PartialEq,
    for<'a> D: TryFrom<&'a W, Error = ValidationError> + PartialEq + Debug,
    for<'a> W: From<&'a D>,
{
    let Ok(wire) = W::decode(bytes) else {
        return;
    };
    match D::try_from(&wire) {
        Ok(domain) => {
            let again = W::from(&domain);
            let back = D::try_from(&again)
                .unwrap_or_else(|e| panic!("{what}: round trip rejected {again:?}: {e}"));
            assert_eq!(back, domain, "{what}: round trip changed the value");
            // The wire form of a domain value is a fixed point.
            assert_eq!(W::from(&back), again, "{what}: wire form not stable");
        }
        Err(error) => check_rejection(what, &error),
    }
}

fn value<W, D>(
    bytes: &[u8],
    what: &str,
    from_wire: impl Fn(&W) -> Result<D, ValidationError>,
    to_wire: impl Fn(&D) -> W,
) where
    W: Message + Default + Debug + PartialEq,
    D: PartialEq + Debug,
{
    let Ok(wire) = W::decode(bytes) else {
        return;
    };
    match from_wire(&wire) {
        Ok(domain) => {
            let again = to_wire(&domain);
            let back = from_wire(&again)
                .unwrap_or_else(|e| panic!("{what}: round trip rejected {again:?}: {e}"));
            assert_eq!(back, domain, "{what}: round trip changed the value");
        }
        Err(error) => check_rejection(what, &error),
    }
}

/// Wire bytes → prost message (chosen by the first byte) → domain; accepted values survive
/// domain → wire → domain unchanged, rejections name a field for every violation.
pub fn wire_to_domain(data: &[u8]) {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    match selector % 12 {
        0 => entity::<rwire::Organization, autointel_domain::Organization>(bytes, "Organization"),
        1 => entity::<rwire::Relationship, autointel_domain::Relationship>(bytes, "Relationship"),
        2 => entity::<rwire::Partnership, autointel_domain::Partnership>(bytes, "Partnership"),
        3 => entity::<rwire::Event, autointel_domain::Event>(bytes, "Event"),
        4 => entity::<rwire::Target, autointel_domain::Target>(bytes, "Target"),
        5 => entity::<rwire::Source, autointel_domain::Source>(bytes, "Source"),
        6 => entity::<rwire::Person, autointel_domain::Person>(bytes, "Person"),
        7 => {
            if let Ok(wire) = swire::SalesFigure::decode(bytes) {
                check_wire_figure(&wire);
            }
        }
        8 => value(bytes, "MonthRange", month_range_from_wire, |r| {
            month_range_to_wire(*r)
        }),
        9 => value(
            bytes,
            "PartialDate",
            partial_date_from_wire,
            partial_date_to_wire,
        ),
        10 => value(bytes, "SeriesKey", series_key_from_wire, series_key_to_wire),
        _ => {
            value(bytes, "YearMonth", year_month_from_wire, |m| {
                year_month_to_wire(*m)
            });
            value(bytes, "Date", date_from_wire, |d| date_to_wire(*d));
        }
    }
}

// ---------------------------------------------------------------------------------------
// page_token

/// Page tokens and watch cursors: any text decodes to a value or to `None` (never a
/// panic), and whatever decodes, or is built from arbitrary parts, survives encode → decode.
pub fn page_token(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let text = text.as_ref();

    // registry: list page tokens
    if let Some((fp, rank, id)) = autointel_registry::service::decode_page_token(text) {
        let again = autointel_registry::service::encode_page_token(fp, rank, &id);
        assert_eq!(
            autointel_registry::service::decode_page_token(&again),
            Some((fp, rank, id)),
            "registry page token round trip"
        );
    }
    // registry: watch cursors
    if let Some(seq) = autointel_registry::service::decode_cursor(text) {
        assert!(seq >= 0, "negative watch cursor {seq}");
        let again = autointel_registry::service::encode_cursor(seq);
        assert_eq!(
            autointel_registry::service::decode_cursor(&again),
            Some(seq),
            "watch cursor round trip"
        );
    }
    // stats: ListSalesFigures page tokens
    if let Some((fingerprint, key)) = autointel_stats::service::decode_token(text) {
        let again = autointel_stats::service::encode_token(&fingerprint, &key);
        assert_eq!(
            autointel_stats::service::decode_token(&again),
            Some((fingerprint, key.clone())),
            "stats page token round trip"
        );
        assert_eq!(
            ListKey::decode(&key.encode()),
            Some(key),
            "ListKey round trip"
        );
    }

    // Tokens built from arbitrary parts round-trip too.
    let mut u = Unstructured::new(data);
    if let (Ok(fp), Ok(rank), Ok(id)) = (
        u64::arbitrary(&mut u),
        i64::arbitrary(&mut u),
        String::arbitrary(&mut u),
    ) {
        let token = autointel_registry::service::encode_page_token(fp, rank, &id);
        assert_eq!(
            autointel_registry::service::decode_page_token(&token),
            Some((fp, rank, id)),
            "registry page token from parts"
        );
        let seq = rank.checked_abs().unwrap_or(0);
        assert_eq!(
            autointel_registry::service::decode_cursor(
                &autointel_registry::service::encode_cursor(seq)
            ),
            Some(seq),
            "watch cursor from parts"
        );
    }
}

// ---------------------------------------------------------------------------------------
// domain_parsers

/// A parsed value's text form parses back to the same value.
fn text_round_trip<T>(s: &str, what: &str)
where
    T: FromStr + ToString + PartialEq + Debug,
{
    if let Ok(v) = s.parse::<T>() {
        let text = v.to_string();
        match text.parse::<T>() {
            Ok(back) => assert_eq!(back, v, "{what}: {s:?} → {text:?} parsed differently"),
            Err(_) => panic!("{what}: {s:?} parsed, but its text {text:?} does not"),
        }
    }
}

/// Every closed vocabulary: accepted tokens are exactly the canonical ones.
macro_rules! enum_tokens {
    ($s:expr, $($enum:ty),+ $(,)?) => {$(
        if let Ok(v) = $s.parse::<$enum>() {
            assert_eq!(v.as_str(), $s, "{}: non-canonical token accepted", stringify!($enum));
            assert!(<$enum>::ALL.contains(&v));
        }
    )+};
}

/// Ids: accepted exactly when `check_resource_id` accepts, kept verbatim.
macro_rules! ids {
    ($s:expr, $($id:ty),+ $(,)?) => {$(
        match <$id>::parse($s) {
            Ok(id) => {
                assert_eq!(id.as_str(), $s, "{}: id changed", stringify!($id));
                assert!(check_resource_id($s).is_ok());
            }
            Err(_) => assert!(check_resource_id($s).is_err(), "{}: rejects a valid id", stringify!($id)),
        }
    )+};
}

fn check_text_parsers(s: &str) {
    text_round_trip::<YearMonth>(s, "YearMonth");
    text_round_trip::<MonthRange>(s, "MonthRange");
    text_round_trip::<Date>(s, "Date");
    text_round_trip::<PartialDate>(s, "PartialDate");
    text_round_trip::<Units>(s, "Units");
    text_round_trip::<Stake>(s, "Stake");
    text_round_trip::<Market>(s, "Market");
    text_round_trip::<CountryCode>(s, "CountryCode");
    text_round_trip::<LanguageTag>(s, "LanguageTag");
    if let Ok(r) = s.parse::<MonthRange>() {
        assert!(
            r.start() <= r.end(),
            "MonthRange {s:?} ends before it starts"
        );
        assert_eq!(r.months().count(), r.len_months() as usize);
    }
    if let Ok(d) = s.parse::<PartialDate>() {
        assert!(d.first_day() <= d.last_day(), "PartialDate {s:?}");
        assert!(d.contains(d.first_day()) && d.contains(d.last_day()));
    }
    if let Ok(units) = Units::from_ten_thousands(s) {
        assert!(units <= Units::MAX, "{s:?} → {units} above 10^12");
        // Exact: the value is the decimal read, scaled by 10^4.
        let (whole, fraction) = s.split_once('.').unwrap_or((s, ""));
        let canonical = format!(
            "{}{:0<4}",
            whole.trim_start_matches('0'),
            fraction.trim_end_matches('0')
        );
        let expected = canonical.trim_start_matches('0');
        let expected = if expected.is_empty() { "0" } else { expected };
        assert_eq!(units.to_string(), expected, "from_ten_thousands({s:?})");
    }
    if let Ok(stake) = Stake::from_percent_str(s) {
        assert!((1..=10_000).contains(&stake.basis_points()), "{s:?}");
        let again = Stake::from_str(&stake.to_string())
            .unwrap_or_else(|e| panic!("Stake {s:?} → {stake}: {e}"));
        assert_eq!(again, stake);
    }
    if let Ok(m) = Market::parse(s) {
        assert_eq!(Market::parse(m.as_str()).ok(), Some(m.clone()));
    }
    ids!(
        s,
        OrganizationId,
        RelationshipId,
        PartnershipId,
        EventId,
        TargetId,
        PersonId,
        SourceId,
        SalesFigureId,
    );
    enum_tokens!(
        s,
        OrganizationKind,
        RelationshipKind,
        PartnershipKind,
        PartnershipStatus,
        EventKind,
        EventStatus,
        SourceKind,
        MeasureBasis,
        Flow,
        VehicleScope,
        Powertrain,
        ReleaseStage,
        DatePrecision,
        Comparator,
        TargetStatus,
    );
}

/// A month range near 2000-01 from two bytes (offset, length), at most ~5 years long.
fn small_range(u: &mut Unstructured<'_>, base: i32) -> Option<MonthRange> {
    let offset = i32::from(u8::arbitrary(u).ok()? % 72);
    let len = i32::from(u8::arbitrary(u).ok()? % 40);
    let start = YearMonth::from_index(base + offset)?;
    let end = YearMonth::from_index(base + offset + len)?;
    MonthRange::new(start, end).ok()
}

fn check_tiling(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Some(base) = YearMonth::new(2000, 1).ok().map(YearMonth::index) else {
        return;
    };
    let Some(request) = small_range(&mut u, base) else {
        return;
    };
    let mut stored = Vec::new();
    while stored.len() < 64 {
        match small_range(&mut u, base) {
            Some(r) => stored.push(r),
            None => break,
        }
    }
    match tile(request, &stored) {
        Tiling::Exact(pieces) => {
            assert!(!pieces.is_empty(), "exact tiling without pieces");
            let mut expected = request.start().index();
            for &i in &pieces {
                let piece = stored[i];
                assert!(request.contains_range(piece), "piece outside the request");
                assert_eq!(
                    piece.start().index(),
                    expected,
                    "pieces not contiguous/disjoint"
                );
                expected = piece.end().index() + 1;
            }
            assert_eq!(expected, request.end().index() + 1, "pieces do not cover");
        }
        Tiling::Incomplete { covered, uncovered } => {
            let usable: Vec<MonthRange> = stored
                .iter()
                .copied()
                .filter(|r| request.contains_range(*r))
                .collect();
            let mut runs: Vec<(MonthRange, bool)> = covered
                .iter()
                .map(|r| (*r, true))
                .chain(uncovered.iter().map(|r| (*r, false)))
                .collect();
            runs.sort_by_key(|(r, _)| r.start());
            let mut expected = request.start().index();
            for (run, is_covered) in &runs {
                assert_eq!(run.start().index(), expected, "runs not a partition");
                for month in run.months() {
                    let by_any = usable.iter().any(|r| r.contains_month(month));
                    assert_eq!(by_any, *is_covered, "month {month} misreported");
                }
                expected = run.end().index() + 1;
            }
            assert_eq!(expected, request.end().index() + 1, "runs do not cover");
            // Maximal runs: neighbours alternate.
            for pair in runs.windows(2) {
                assert_ne!(pair[0].1, pair[1].1, "adjacent runs of the same kind");
            }
        }
    }
}

/// Arbitrary text into every domain `FromStr`/`parse` (accepted values round-trip through
/// their text form and keep their invariants), then the bytes as `tile` input.
pub fn domain_parsers(data: &[u8]) {
    if let Ok(s) = std::str::from_utf8(data) {
        check_text_parsers(s);
    }
    check_tiling(data);
}
