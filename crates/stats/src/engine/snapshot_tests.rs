//! Snapshot round trips and refusals: an engine read back from its snapshot, then given
//! the figures that came after it, is the engine that took every figure in turn; a damaged
//! or foreign snapshot is refused, never read as a different engine.

use proptest::prelude::*;

use super::proptests::{SERIES, Spec, build, day, key, month, spec};
use super::*;
use autointel_domain::MonthRange;

/// Asserts that two engines hold the same figures, indexes and links, field by field.
fn assert_same(a: &Engine, b: &Engine) {
    assert_eq!(a.organizations.values(), b.organizations.values());
    assert_eq!(a.markets.values(), b.markets.values());
    assert_eq!(a.sources.values(), b.sources.values());
    let words = |e: &Engine| e.rows.iter().map(Row::words).collect::<Vec<_>>();
    assert_eq!(words(a), words(b));
    assert_eq!(a.numbers.parts(), b.numbers.parts());
    assert_eq!(a.ids, b.ids);
    assert_eq!(a.create_runs, b.create_runs);
    assert_eq!(a.seq_runs, b.seq_runs);
    assert_eq!(a.max_row_seq, b.max_row_seq);
    assert_eq!(a.notes, b.notes);
    assert_eq!(a.comparable_priors, b.comparable_priors);
    assert_eq!(a.supersedes, b.supersedes);
    assert_eq!(a.series, b.series);
    assert_eq!(a.series_keys, b.series_keys);
    assert_eq!(a.entries, b.entries);
    assert_eq!(a.by_organization, b.by_organization);
    assert_eq!(a.by_dims, b.by_dims);
    assert_eq!(a.by_origin, b.by_origin);
    assert_eq!(a.long_series, b.long_series);
    assert_eq!(a.irregular, b.irregular);
    assert_eq!(a.last_seq, b.last_seq);
}

fn snapshot_bytes(engine: &Engine) -> Vec<u8> {
    let mut bytes = Vec::new();
    let (header, written) = engine
        .write_snapshot(&mut bytes, Some("f0123"), 1_700_000_000_000_000)
        .unwrap();
    assert_eq!(written, bytes.len() as u64);
    assert_eq!(header.figures, engine.len() as u64);
    bytes
}

fn read(bytes: &[u8]) -> Result<(Engine, SnapshotHeader), SnapshotError> {
    Engine::read_snapshot(bytes, bytes.len() as u64)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(100))]

    /// A start from a snapshot plus the figures after it answers exactly as an engine that
    /// took every figure: compared field by field and by answers with and without as-of.
    #[test]
    fn a_snapshot_plus_later_figures_is_the_full_engine(
        specs in prop::collection::vec(spec(), 1..150),
        cut in 0usize..150,
        queries in prop::collection::vec((0u8..SERIES, 0u16..30, 1u16..25, prop::option::of(0u16..1300)), 1..10),
    ) {
        let (_, figures) = build(&specs);
        // Store sequence numbers in runs of three, with gaps between runs.
        let stored = |i: usize| {
            let i = i64::try_from(i).unwrap();
            (&figures[usize::try_from(i).unwrap()], i / 4, 1 + i + i / 3)
        };
        let mut full = Engine::new();
        full.insert_stored((0..figures.len()).map(stored)).unwrap();
        let cut = cut.min(figures.len());
        let mut before = Engine::new();
        for i in 0..cut {
            before.insert_stored([stored(i)]).unwrap();
        }
        before.set_last_seq(i64::try_from(cut).unwrap());
        let (mut loaded, header) = read(&snapshot_bytes(&before)).unwrap();
        prop_assert_eq!(header.last_seq, i64::try_from(cut).unwrap());
        prop_assert_eq!(header.anchor.as_deref(), Some("f0123"));
        assert_same(&before, &loaded);
        loaded.insert_stored((cut..figures.len()).map(stored)).unwrap();
        for (i, figure) in figures.iter().enumerate() {
            let f = loaded.find(&figure.id).unwrap();
            prop_assert_eq!(loaded.seq_of(f), stored(i).2);
        }
        full.set_last_seq(i64::try_from(cut).unwrap());
        assert_same(&full, &loaded);
        for f in &figures {
            let (a, b) = (full.find(&f.id).unwrap(), loaded.find(&f.id).unwrap());
            prop_assert_eq!(full.figure(a), loaded.figure(b));
        }
        for (series, start, len, as_of) in queries {
            let key = key(series);
            let period = MonthRange::new(month(start), month(start + len - 1)).unwrap();
            let as_of = as_of.map(day);
            prop_assert_eq!(full.total(&key, period, as_of), loaded.total(&key, period, as_of));
            prop_assert_eq!(
                full.ranking(&key, period, 100, as_of),
                loaded.ranking(&key, period, 100, as_of)
            );
            // the as-of zone map, rebuilt by the read, finds the same changes
            if let Some(to) = as_of {
                let q = autointel_domain::VintageDiffQuery {
                    filter: ListFilter::default(),
                    source: None,
                    from: day(start * 20),
                    to,
                };
                let ids = |e: &Engine| {
                    e.vintage_diff(&q, None, usize::MAX)
                        .0
                        .iter()
                        .map(|c| e.figure_id(c.figure))
                        .collect::<Vec<_>>()
                };
                prop_assert_eq!(ids(&full), ids(&loaded));
            }
        }
    }

    /// Any truncation and any single flipped bit is refused.
    #[test]
    fn a_truncated_or_bit_flipped_snapshot_is_refused(
        specs in prop::collection::vec(spec(), 0..40),
        at in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let (engine, _) = build(&specs);
        let bytes = snapshot_bytes(&engine);
        let at = at.index(bytes.len());
        prop_assert!(read(&bytes[..at]).is_err(), "truncated at {} of {}", at, bytes.len());
        let mut flipped = bytes.clone();
        flipped[at] ^= 1 << bit;
        prop_assert!(read(&flipped).is_err(), "bit {} of byte {} flipped", bit, at);
        // Told a smaller size than it has, the reader stops at that size.
        prop_assert!(Engine::read_snapshot(&bytes[..], bytes.len() as u64 - 1).is_err());
    }
}

#[test]
fn an_empty_engine_round_trips() {
    let (engine, header) = read(&snapshot_bytes(&Engine::new())).unwrap();
    assert!(engine.is_empty());
    assert_eq!(header.figures, 0);
    assert_eq!(header.format, SNAPSHOT_FORMAT);
}

#[test]
fn another_format_or_code_table_or_file_is_named() {
    let specs: Vec<Spec> = (0..20)
        .map(|i| (i % SERIES, u16::from(i), 1, 0, 10, 1_000))
        .collect();
    let (engine, _) = build(&specs);
    let bytes = snapshot_bytes(&engine);
    let mut older = bytes.clone();
    older[8..12].copy_from_slice(&(SNAPSHOT_FORMAT - 1).to_le_bytes());
    assert!(matches!(read(&older), Err(SnapshotError::Format(f)) if f == SNAPSHOT_FORMAT - 1));
    let mut codes = bytes.clone();
    codes[12] ^= 0xff;
    assert!(matches!(read(&codes), Err(SnapshotError::Codes)));
    assert!(matches!(
        read(b"PK\x03\x04 not a snapshot"),
        Err(SnapshotError::NotASnapshot)
    ));
    assert!(matches!(read(b""), Err(SnapshotError::NotASnapshot)));
    let mut tail = bytes.clone();
    let last = tail.len() - 1;
    tail[last] ^= 1;
    assert!(matches!(read(&tail), Err(SnapshotError::Checksum)));
}
