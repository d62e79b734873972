//! The Parquet file read back with the `parquet` crate's own reader.

#![allow(clippy::unwrap_used)]

use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::RowAccessor;

use arrow_array::RecordBatch;
use autointel_domain::{SalesFigure, SalesFigureId};
use autointel_proto::convert::ResourceId;
use autointel_proto::convert::stats::sales_figure_from_wire;
use autointel_stats::engine::Engine;
use autointel_stats::service::{figure_batch, figure_schema};

use super::*;

fn figure(i: u32, note: &str, destination: &str) -> SalesFigure {
    let text = format!(
        "organization,basis,flow,market,scope,powertrain,period,units,ten_thousand_units,comparable_prior_units,source,stage,as_of_date,note,nature,destination\n\
         {},wholesale,export,CN,passenger,bev,2024-01..2024-02,{},,{},cpca,final,2024-03-0{},\"{}\",{},{destination}\n",
        if i.is_multiple_of(2) { "byd" } else { "" },
        1_000_000_000_000u64 - u64::from(i),
        if i.is_multiple_of(3) {
            "5".to_owned()
        } else {
            String::new()
        },
        i % 9 + 1,
        note.replace('"', "\"\""),
        if i.is_multiple_of(4) { "forecast" } else { "" },
    );
    let w = autointel_figure_file::read_sales_figures(text.as_bytes())
        .unwrap()
        .remove(0);
    let id = SalesFigureId::from_resource_name(&format!("salesFigures/f{:032x}", i + 1)).unwrap();
    sales_figure_from_wire(id, &w).unwrap()
}

/// `figures` as the Flight service streams them: held by an engine (which links each
/// series' revisions), then one batch in the given order.
fn batch(figures: &[SalesFigure]) -> RecordBatch {
    let mut engine = Engine::new();
    for (i, f) in figures.iter().enumerate() {
        let micros = (1_700_000_000 + i64::try_from(i).unwrap()) * 1_000_000 + 123_456;
        engine.insert(f, micros).unwrap();
    }
    let refs: Vec<_> = figures
        .iter()
        .map(|f| engine.listed(engine.find(&f.id).unwrap()).unwrap())
        .collect();
    let schema = Arc::new(figure_schema());
    figure_batch(&engine, &refs, i64::MAX, &schema).unwrap()
}

/// The DATE value (days since 1970-01-01) of a row's column.
fn date(row: &parquet::record::Row, column: usize) -> i32 {
    match row.get_column_iter().nth(column).unwrap().1 {
        parquet::record::Field::Date(days) => *days,
        other => panic!("not a date: {other:?}"),
    }
}

#[test]
fn the_file_reads_back_with_the_schema_and_every_value() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("figures.parquet");
    let figures: Vec<SalesFigure> = (0..5)
        .map(|i| {
            figure(
                i,
                if i == 1 { "a note, \"quoted\"" } else { "" },
                if i == 2 { "TH" } else { "" },
            )
        })
        .collect();
    let all = batch(&figures);
    let mut sink = Box::new(ParquetSink::new(File::create(&path).unwrap()).unwrap());
    sink.write(&all.slice(0, 2)).unwrap();
    sink.write(&all.slice(2, 3)).unwrap();
    sink.finish().unwrap();

    let reader = SerializedFileReader::new(File::open(&path).unwrap()).unwrap();
    let meta = reader.metadata().file_metadata();
    assert_eq!(meta.num_rows(), 5);
    let kv = meta.key_value_metadata().unwrap();
    assert!(
        kv.iter()
            .any(|k| k.key == "autointel.schema" && k.value.as_deref() == Some(SCHEMA_NAME))
    );
    let names: Vec<String> = meta
        .schema_descr()
        .columns()
        .iter()
        .map(|c| c.name().to_owned())
        .collect();
    assert_eq!(names.len(), 20);
    assert_eq!(names[11], "units");
    let rows: Vec<parquet::record::Row> = reader
        .get_row_iter(None)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let column = |name: &str| names.iter().position(|n| n == name).unwrap();
    // 2024-01-01 and 2024-02-29 (a leap year), 2024-03-01 + i % 9.
    assert_eq!(date(&rows[0], column("period_start")), 19_723);
    assert_eq!(date(&rows[0], column("period_end")), 19_782);
    assert_eq!(date(&rows[0], column("as_of_date")), 19_783);
    for (i, row) in rows.iter().enumerate() {
        let i32_ = u32::try_from(i).unwrap();
        assert_eq!(
            row.get_string(column("name")).unwrap(),
            &figures[i].id.resource_name()
        );
        assert_eq!(
            row.get_long(column("units")).unwrap(),
            1_000_000_000_000 - i64::from(i32_)
        );
        assert_eq!(
            row.get_long(column("comparable_prior_units")).ok(),
            (i % 3 == 0).then_some(5)
        );
        assert_eq!(
            row.get_string(column("organization"))
                .ok()
                .map(String::as_str),
            (i % 2 == 0).then_some("byd")
        );
        assert_eq!(
            row.get_string(column("nature")).unwrap(),
            if i.is_multiple_of(4) {
                "forecast"
            } else {
                "actual"
            }
        );
        assert_eq!(row.get_string(column("source")).unwrap(), "cpca");
        assert_eq!(row.get_string(column("stage")).unwrap(), "final");
        // Revisions of one series (organisation, nature, destination): 4 revises 0, 3
        // revises 1.
        let name = |j: usize| figures[j].id.resource_name();
        let (supersedes, superseded_by) = match i {
            0 => (None, Some(name(4))),
            1 => (None, Some(name(3))),
            3 => (Some(name(1)), None),
            4 => (Some(name(0)), None),
            _ => (None, None),
        };
        assert_eq!(
            row.get_string(column("supersedes")).ok(),
            supersedes.as_ref()
        );
        assert_eq!(
            row.get_string(column("superseded_by")).ok(),
            superseded_by.as_ref()
        );
        assert_eq!(
            row.get_timestamp_micros(column("create_time")).unwrap(),
            (1_700_000_000 + i64::from(i32_)) * 1_000_000 + 123_456
        );
    }
    assert_eq!(
        rows[1].get_string(column("note")).unwrap(),
        "a note, \"quoted\""
    );
    assert!(rows[0].get_string(column("note")).is_err());
    assert_eq!(rows[2].get_string(column("destination")).unwrap(), "TH");
    assert!(rows[1].get_string(column("destination")).is_err());
}
