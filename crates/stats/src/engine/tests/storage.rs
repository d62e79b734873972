//! Listing order, ids, the row layout and the id index.

use super::*;

#[test]
fn list_orders_by_series_then_period_and_hides_superseded() {
    let mut f = Fixture::new();
    let k = key(Some("byd"), all());
    f.add(&k, "2023-02", 2);
    let old = f.add_full(
        &k,
        "2023-01",
        1,
        ReleaseStage::Preliminary,
        "2023-02-01",
        None,
    );
    let new = f.add(&k, "2023-01", 11);
    f.add(&key(Some("alpha"), all()), "2023-05", 5);
    let listed = f.engine.list(&ListFilter::default());
    assert_eq!(listed.len(), 3);
    assert_eq!(
        f.engine.figure(listed[0].1).unwrap().key.organization,
        Some(org("alpha"))
    );
    assert_eq!(listed[1].1, new);
    let with_old = f.engine.list(&ListFilter {
        include_superseded: true,
        ..ListFilter::default()
    });
    assert_eq!(with_old.len(), 4);
    assert_eq!(with_old[1].1, old);
    let cursor = ListKey::decode(&with_old[1].0.encode()).unwrap();
    assert_eq!(cursor, with_old[1].0);
    let then = f.engine.list(&ListFilter {
        as_of: Some(date("2023-03-01")),
        ..ListFilter::default()
    });
    assert_eq!(then.len(), 1);
    assert_eq!(then[0].1, old);
}

#[test]
fn rejects_duplicate_and_foreign_ids() {
    let mut f = Fixture::new();
    let k = key(Some("byd"), all());
    let r = f.add(&k, "2023-02", 2);
    let mut figure = f.engine.figure(r).unwrap();
    assert!(matches!(
        f.engine.insert(&figure, 0),
        Err(EngineError::Duplicate(_))
    ));
    figure.id = SalesFigureId::parse("not-ours").unwrap();
    assert!(matches!(
        f.engine.insert(&figure, 0),
        Err(EngineError::ForeignId(_))
    ));
}

#[test]
fn grain_periods_are_clipped() {
    assert_eq!(
        grain_periods(range("2023-11..2024-02"), Granularity::Year),
        vec![range("2023-11..2023-12"), range("2024-01..2024-02")]
    );
    assert_eq!(
        grain_periods(range("2023-05..2023-05"), Granularity::Quarter),
        vec![range("2023-05")]
    );
}

#[test]
fn row_is_compact() {
    assert_eq!(size_of::<Row>(), 16);
    assert_eq!(size_of::<Entry>(), 8);
    assert_eq!(size_of::<CompactKey>(), 20);
}

#[test]
fn the_id_index_finds_every_number_in_order_or_not() {
    // numbers shaped like UUIDv7 values: a clock-like high half, a low half of a counter
    // and random bits, ascending as one clock mints them
    let minted = |clock: u64, i: u64| {
        let low = (i << 24) | (i.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 40);
        (u128::from(clock + i / 7) << 64) | u128::from(low)
    };
    // two replicas' imports committed out of step: a run numbered on a clock behind the
    // one before it, then that clock's next import, then the first again
    let numbers: Vec<u128> = (0..20_000u64)
        .map(|i| minted(1_700_000_100_000, i))
        .chain((0..5_000u64).map(|i| minted(1_700_000_000_000, i)))
        .chain((20_000..30_000u64).map(|i| minted(1_700_000_100_000, i)))
        .collect();
    let absent: Vec<u128> = (30_000..31_000u64)
        .map(|i| minted(1_700_000_100_000, i))
        .chain((5_000..6_000u64).map(|i| minted(1_700_000_000_000, i)))
        .collect();
    let mut index = IdIndex::default();
    let mut present = Numbers::default();
    for (row, number) in numbers.iter().enumerate() {
        present.push(*number);
        index.insert(u32::try_from(row).unwrap(), &present);
    }
    for (row, number) in numbers.iter().enumerate() {
        assert_eq!(present.get(row), *number);
        assert_eq!(
            index.find(*number, &present),
            Some(u32::try_from(row).unwrap())
        );
    }
    for number in &absent {
        assert_eq!(index.find(*number, &present), None);
    }
    // same low half, other high half: not the same figure
    assert_eq!(index.find(numbers[0] ^ (1 << 100), &present), None);
    assert_eq!(index.len(), numbers.len());
    assert!(
        index.ranges == [(0, 20_000), (25_000, 35_000)],
        "{:?}",
        &index.ranges[..2]
    );
    assert_eq!(
        index.others.len(),
        5_000,
        "only the run behind is held apart"
    );
    assert_eq!(IdIndex::rebuild(&present), index);
    assert_eq!(present.iter().collect::<Vec<_>>(), numbers);
}
