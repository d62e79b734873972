//! The figure-file format's tests: every accepted spelling, every refusal with its line
//! and column.

use super::*;

const HEADER: &str = "organization,basis,flow,market,scope,powertrain,period,units,ten_thousand_units,comparable_prior_units,source,stage,as_of_date,note\n";

#[test]
fn reads_the_seed_file() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/seed/sales_figures.csv");
    let figures = read_sales_figures_file(&path).unwrap();
    assert_eq!(figures.len(), 2);
    assert_eq!(
        figures[0].series.as_ref().unwrap().organization,
        "organizations/nissan-china"
    );
    assert_eq!(
        figures[0].quantity,
        Some(sales_figure::Quantity::Units(694_900))
    );
    assert_eq!(
        figures[0].source,
        "sources/article-nissan-china-exports-2023"
    );
}

#[test]
fn reads_ten_thousands_and_single_months() {
    let text = format!(
        "{HEADER},retail,domestic,CN,passenger,nev,2023-10,,76.7,,cpca,final,2023-11-09,\n"
    );
    let figures = read_sales_figures(text.as_bytes()).unwrap();
    assert_eq!(
        figures[0].quantity,
        Some(sales_figure::Quantity::TenThousandUnits("76.7".to_owned()))
    );
    assert_eq!(figures[0].series.as_ref().unwrap().organization, "");
}

#[test]
fn a_cell_spanning_lines_does_not_shift_later_record_numbers() {
    // Found by the import_json fuzz target: a JSON note with a newline becomes a quoted
    // multi-line CSV cell, and later records were numbered from their line.
    let text = format!(
        "{HEADER},retail,domestic,CN,passenger,nev,2023-10,,76.7,,cpca,final,2023-11-09,\"two\nlines\"\n\
         ,retail,domestic,CN,passenger,nev,2023-10,x,,,cpca,final,2023-11-09,\n"
    );
    let err = read_sales_figures(text.as_bytes()).unwrap_err();
    let located: Vec<_> = err
        .problems
        .iter()
        .map(|p| (p.line, p.record, p.column.as_str()))
        .collect();
    assert_eq!(located, vec![(4, 2, "units")]);
}

#[test]
fn an_unknown_column_is_reported_not_ignored() {
    let text = format!(
        "{}notes\n,retail,domestic,CN,passenger,nev,2023-10,,76.7,,cpca,final,2023-11-09,,x\n",
        HEADER.trim_end_matches('\n').to_owned() + ","
    );
    let err = read_sales_figures(text.as_bytes()).unwrap_err();
    let located: Vec<_> = err
        .problems
        .iter()
        .map(|p| (p.line, p.column.as_str()))
        .collect();
    assert_eq!(located, vec![(1, "notes")]);
}

#[test]
fn an_unclosed_quote_is_reported_instead_of_swallowing_later_rows() {
    // The csv crate reads an unclosed quoted cell to the end of the file: without the
    // check, the rows after line 2 vanished into its note and the import succeeded.
    let row = ",retail,domestic,CN,passenger,nev,2023-10,,76.7,,cpca,final,2023-11-09,";
    let text = format!("{HEADER}{row}\"unclosed note\n{row}\n{row}\n");
    let err = read_sales_figures(text.as_bytes()).unwrap_err();
    let located: Vec<_> = err.problems.iter().map(|p| p.line).collect();
    assert_eq!(located, vec![2], "{err}");
    assert!(err.problems[0].description.contains("never closed"));
    // Quotes that are closed, and doubled quotes inside them, are fine.
    let fine = format!("{HEADER}{row}\"a \"\"quoted\"\" note\nover two lines\"\n{row}\n");
    assert_eq!(read_sales_figures(fine.as_bytes()).unwrap().len(), 2);
}

#[test]
fn a_note_the_service_would_reject_is_reported_with_its_line() {
    // Found by the import_csv fuzz target (fuzz/regressions/import_csv/): a control
    // character in the note passed the local check and was rejected by the service.
    let text = format!(
        "{HEADER},retail,domestic,CN,passenger,nev,2023-10,,76.7,,cpca,final,2023-11-09,a\u{6}b\n"
    );
    let err = read_sales_figures(text.as_bytes()).unwrap_err();
    let located: Vec<_> = err
        .problems
        .iter()
        .map(|p| (p.line, p.column.as_str()))
        .collect();
    assert_eq!(located, vec![(2, "note")]);
}

#[test]
fn json_records_become_csv_records_in_order() {
    let json = br#"[{"organization": "nissan-china", "units": 5, "note": "a\nb"}, {}]"#;
    let csv = json_to_csv(json).unwrap();
    let mut reader = csv::Reader::from_reader(csv.as_slice());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(&rows[0][0], "nissan-china");
    assert_eq!(&rows[0][7], "5");
    assert_eq!(&rows[0][13], "a\nb");
    assert!(rows[1].iter().all(str::is_empty));
    assert_eq!(
        json_to_csv(br#"[{"colour": 1}]"#),
        Err(JsonError::UnknownFields(vec![(1, "colour".to_owned())]))
    );
    assert!(matches!(
        json_to_csv(b"{}"),
        Err(JsonError::NotAnArray { line: 1, .. })
    ));
}

/// The figures of the wire path: the seed reader, then the service's conversion.
fn through_wire(text: &str) -> Result<Vec<autointel_domain::SalesFigure>, Error> {
    let wire = read_sales_figures(text.as_bytes())?;
    Ok(wire
        .iter()
        .enumerate()
        .map(|(i, w)| {
            autointel_proto::convert::stats::sales_figure_from_wire(test_id(i), w).unwrap()
        })
        .collect())
}

fn test_id(i: usize) -> SalesFigureId {
    SalesFigureId::parse(&format!("f{i}")).unwrap()
}

fn direct(text: &str) -> Result<Vec<autointel_domain::SalesFigure>, Error> {
    let mut i = 0;
    read_domain_figures(text.as_bytes(), || {
        i += 1;
        Ok(test_id(i - 1))
    })
}

#[test]
fn domain_figures_are_the_wire_paths_figures() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/seed/sales_figures.csv");
    let seed = std::fs::read_to_string(path).unwrap();
    let rows = [
        ",retail,domestic,CN,passenger,nev,2023-10,,76.7,,cpca,final,2023-11-09,",
        " nissan-china ,company_reported,total,CN,all,all, 2023-01..2023-11 ,694900,,12, article ,preliminary,2023-12-17,  a note  ",
        "nissan-china,wholesale,export,EU,light_commercial,bev,2020-01..2020-03,0,,0,a-b,restated,2020-04-01,\"quoted, \"\"note\"\"\"",
        ",production,total,GLOBAL,commercial,ice,1900-01,,0.0001,,x,estimate,2999-12-31,\u{a0}",
    ];
    for text in [seed, format!("{HEADER}{}\n", rows.join("\n"))] {
        let direct = direct(&text).unwrap();
        assert_eq!(direct, through_wire(&text).unwrap());
        assert!(!direct.is_empty());
    }
}

#[test]
fn domain_figures_report_the_wire_paths_problems() {
    let text = format!(
        "{HEADER}nissan-china,company_reported,total,CN,all,all,2023-01..2023-11,694900,,,article,final,2023-12-17,\n\
         Nissan,sold,total,cn,all,all,2023-13,1,2,,article,final,2023-12-17,\n\
         ,retail,domestic,CN,passenger,nev,2023-10,x,,,cpca,final,2023-11-31,a\u{6}b\n\
         ,retail,domestic,CN,passenger,nev,2023-10,,76.7,,cpca,final,2023-11-09,\"open\n"
    );
    assert_eq!(direct(&text).unwrap_err(), through_wire(&text).unwrap_err());
    let no_id = read_domain_figures(
        format!(
            "{HEADER},retail,domestic,CN,passenger,nev,2023-10,,76.7,,cpca,final,2023-11-09,\n"
        )
        .as_bytes(),
        || Err(ValueError::new("no id")),
    )
    .unwrap_err();
    assert_eq!(no_id.problems.len(), 1);
    assert_eq!(no_id.problems[0].line, 2);
}

#[test]
fn reports_every_bad_cell_with_line_and_column() {
    let text = format!(
        "{HEADER}nissan-china,company_reported,total,CN,all,all,2023-01..2023-11,694900,,,article,final,2023-12-17,\n\
         Nissan,sold,total,cn,all,all,2023-13,1,2,,article,final,2023-12-17,\n"
    );
    let err = read_sales_figures(text.as_bytes()).unwrap_err();
    let cells: Vec<_> = err
        .problems
        .iter()
        .map(|p| (p.line, p.column.as_str()))
        .collect();
    assert_eq!(
        cells,
        vec![
            (3, "organization"),
            (3, "basis"),
            (3, "market"),
            (3, "period"),
            (3, "ten_thousand_units"),
        ]
    );
}

#[test]
fn nature_and_destination_columns_are_optional_and_read_when_present() {
    const WITH: &str = "organization,basis,flow,market,scope,powertrain,period,units,ten_thousand_units,comparable_prior_units,source,stage,as_of_date,note,nature,destination\n";
    let text = format!(
        "{WITH}nissan-china,wholesale,export,CN,passenger,all,2024-01,900,,,article,final,2024-02-10,,,DE\n\
         nissan-china,wholesale,export,CN,passenger,all,2024-01,1000,,,plan,final,2023-12-01,,forecast,\n\
         nissan-china,wholesale,export,CN,passenger,all,2024-01,1100,,,article,final,2024-02-10,,actual,\n"
    );
    let direct = direct(&text).unwrap();
    assert_eq!(direct, through_wire(&text).unwrap());
    let natures: Vec<_> = direct.iter().map(|f| f.nature).collect();
    assert_eq!(
        natures,
        [
            FigureNature::Actual,
            FigureNature::Forecast,
            FigureNature::Actual
        ]
    );
    assert_eq!(
        direct[0].key.destination.as_ref().map(Market::as_str),
        Some("DE")
    );
    assert_eq!(direct[1].key.destination, None);
    // an actual goes on the wire as proto3's zero, as before the column existed
    let wire = read_sales_figures(text.as_bytes()).unwrap();
    assert_eq!(wire[0].nature, 0);
    assert_eq!(wire[2].nature, 0);
    // a file without the columns reads exactly as before
    let old = format!(
        "{HEADER}nissan-china,wholesale,export,CN,passenger,all,2024-01,900,,,article,final,2024-02-10,\n"
    );
    let old = direct_of(&old);
    assert_eq!(old[0].nature, FigureNature::Actual);
    assert_eq!(old[0].key.destination, None);
    // JSON takes them too
    let json = br#"[{"organization":"nissan-china","basis":"wholesale","flow":"export","market":"CN","scope":"passenger","powertrain":"all","period":"2024-01","units":5,"source":"plan","stage":"final","as_of_date":"2023-12-01","nature":"forecast","destination":"DE"}]"#;
    let csv = json_to_csv(json).unwrap();
    let figures = direct_of(std::str::from_utf8(&csv).unwrap());
    assert_eq!(figures[0].nature, FigureNature::Forecast);
    assert_eq!(
        figures[0].key.destination.as_ref().map(Market::as_str),
        Some("DE")
    );
}

fn direct_of(text: &str) -> Vec<autointel_domain::SalesFigure> {
    direct(text).unwrap()
}

#[test]
fn bad_nature_and_destination_cells_are_reported_with_line_and_column() {
    const WITH: &str = "organization,basis,flow,market,scope,powertrain,period,units,ten_thousand_units,comparable_prior_units,source,stage,as_of_date,note,nature,destination\n";
    let text = format!(
        "{WITH}nissan-china,wholesale,export,CN,passenger,all,2024-01,900,,,article,final,2024-02-10,,plan,de\n\
         nissan-china,wholesale,domestic,CN,passenger,all,2024-01,900,,,article,final,2024-02-10,,,DE\n"
    );
    let err = read_sales_figures(text.as_bytes()).unwrap_err();
    let cells: Vec<_> = err
        .problems
        .iter()
        .map(|p| (p.line, p.column.as_str()))
        .collect();
    assert_eq!(
        cells,
        vec![(2, "nature"), (2, "destination"), (3, "destination")]
    );
    assert!(err.problems[2].description.contains("only flow export"));
    assert_eq!(direct(&text).unwrap_err(), err);
}

/// Every column and spelling the format has: whole-market and organisation rows, units and
/// ten-thousands, comparable priors, notes with commas, quotes, line breaks and non-ASCII
/// text, forecasts, export destinations, multi-month periods.
const EVERY_SPELLING: &str = "organization,basis,flow,market,scope,powertrain,period,units,ten_thousand_units,comparable_prior_units,source,stage,as_of_date,note,nature,destination
nissan-china,company_reported,total,CN,all,all,2023-01..2023-11,694900,,974700,article-one,final,2023-12-17,\"Cumulative, January to November\",,
,retail,domestic,CN,passenger,nev,2023-10,,76.7,,cpca,preliminary,2023-11-09,,,
,retail,domestic,CN,passenger,nev,2023-10,767000,,,cpca,final,2023-11-20,\"A \"\"quoted\"\" note
over two lines, 日产中国\",,
byd,wholesale,export,CN,passenger,bev,2024-01..2024-12,3000000,,,byd-plan,estimate,2024-01-05,Annual plan,forecast,
byd,wholesale,export,CN,passenger,bev,2023-07,12000,,,cpca,final,2023-08-10,,actual,TH
";

#[test]
fn written_figures_read_back_as_the_same_figures() {
    let figures = read_sales_figures(EVERY_SPELLING.as_bytes()).unwrap();
    assert_eq!(figures.len(), 5);
    let written = write_sales_figures(Vec::new(), &figures).unwrap();
    let again = read_sales_figures(written.as_slice()).unwrap();
    assert_eq!(again, figures);
    // Writing what was read back gives the same bytes: one spelling per figure.
    assert_eq!(write_sales_figures(Vec::new(), &again).unwrap(), written);
    let text = String::from_utf8(written).unwrap();
    assert!(text.starts_with(&COLUMNS.join(",")), "{text}");
}

#[test]
fn a_figure_the_format_cannot_hold_is_refused_with_its_index() {
    let mut figures = read_sales_figures(EVERY_SPELLING.as_bytes()).unwrap();
    figures[1].source = "not a source".to_owned();
    let err = write_sales_figures(Vec::new(), &figures).unwrap_err();
    assert!(
        matches!(&err, WriteError::Invalid(1, why) if why.contains("source")),
        "{err}"
    );
}

#[test]
fn service_output_fields_are_not_written() {
    let mut figures = read_sales_figures(EVERY_SPELLING.as_bytes()).unwrap();
    let plain = write_sales_figures(Vec::new(), &figures).unwrap();
    figures[0].name = "salesFigures/f0123".to_owned();
    figures[0].supersedes = "salesFigures/f0122".to_owned();
    figures[0].nature = autointel_proto::stats::FigureNature::Actual as i32;
    assert_eq!(write_sales_figures(Vec::new(), &figures).unwrap(), plain);
}
