//! `autointel export` through the real binaries: figures (superseded ones, forecasts,
//! several sources and organisations) exported as CSV with the registry's records, then
//! applied and imported into an empty stack, answer every query as the first stack does,
//! apart from the figure names the service assigns; revision chains re-link as they were.
//! JSON Lines and Parquet exports hold the same figures.

use std::collections::HashMap;
use std::path::Path;

use autointel_proto::stats as swire;
use serde_json::Value;

use crate::harness::{Backend, Cli, Stack, on_each_backend};

on_each_backend!(exported_figures_and_records_rebuild_the_answers_in_an_empty_stack,);

const HEADER: &str = "organization,basis,flow,market,scope,powertrain,period,units,ten_thousand_units,comparable_prior_units,source,stage,as_of_date,note,nature,destination\n";

/// The first import: estimates of three organisations and the market by two sources, a
/// forecast, an export with its destination, a multi-month figure (synthetic numbers).
const FIRST: &str = "\
byd,wholesale,domestic,CN,passenger,nev,2024-01,200000,,180000,article-nissan-china-exports-2023,estimate,2024-02-01,,,
byd,wholesale,domestic,CN,passenger,nev,2024-02,150000,,,article-nissan-china-exports-2023,estimate,2024-03-01,,,
byd,wholesale,domestic,CN,passenger,nev,2024-01,201000,,,nissan-dongfeng-jv-structure,estimate,2024-02-03,A second source's chain,,
tesla,wholesale,domestic,CN,passenger,nev,2024-01,60000,,,article-nissan-china-exports-2023,estimate,2024-02-01,,,
tesla,wholesale,domestic,CN,passenger,nev,2024-02,,3.5,,article-nissan-china-exports-2023,estimate,2024-03-01,,,
great-wall-motors,wholesale,domestic,CN,passenger,ice,2024-01..2024-02,90000,,,article-nissan-china-exports-2023,final,2024-03-05,\"Cumulative, January and February\",,
,wholesale,domestic,CN,passenger,all,2024-01,1500000,,,article-nissan-china-exports-2023,estimate,2024-02-01,,,
,wholesale,domestic,CN,passenger,all,2024-02,1100000,,,article-nissan-china-exports-2023,estimate,2024-03-01,,,
,wholesale,domestic,CN,passenger,nev,2024-01,600000,,,article-nissan-china-exports-2023,estimate,2024-02-01,,,
,wholesale,domestic,CN,passenger,nev,2024-02,450000,,,article-nissan-china-exports-2023,estimate,2024-03-01,,,
byd,wholesale,domestic,CN,passenger,nev,2024-01..2024-12,3000000,,,nissan-dongfeng-jv-structure,estimate,2024-01-05,Annual plan,forecast,
byd,wholesale,export,CN,passenger,nev,2024-01,30000,,,article-nissan-china-exports-2023,final,2024-02-10,,,TH
";

/// Revisions in a second import: a preliminary and a final of the same chain, a tie in
/// stage and as-of date with a figure already stored (the later import wins), the second
/// source's revision, a revised forecast and a revised market total.
const SECOND: &str = "\
byd,wholesale,domestic,CN,passenger,nev,2024-01,205000,,,article-nissan-china-exports-2023,preliminary,2024-02-10,,,
byd,wholesale,domestic,CN,passenger,nev,2024-01,207000,,,article-nissan-china-exports-2023,final,2024-03-15,Final,,
tesla,wholesale,domestic,CN,passenger,nev,2024-01,61000,,,article-nissan-china-exports-2023,estimate,2024-02-01,Same stage and date: the later import wins,,
byd,wholesale,domestic,CN,passenger,nev,2024-01,202000,,,nissan-dongfeng-jv-structure,final,2024-03-20,,,
byd,wholesale,domestic,CN,passenger,nev,2024-01..2024-12,3200000,,,nissan-dongfeng-jv-structure,estimate,2024-04-01,Raised plan,forecast,
,wholesale,domestic,CN,passenger,all,2024-01,1510000,,,article-nissan-china-exports-2023,final,2024-03-15,,,
";

/// A third import: one more revision of a chain the second import revised.
const THIRD: &str = "\
byd,wholesale,domestic,CN,passenger,nev,2024-02,151000,,,article-nissan-china-exports-2023,final,2024-04-01,,,
";

fn import(cli: &Cli, dir: &Path, name: &str, rows: &str) {
    let path = dir.join(name);
    std::fs::write(&path, format!("{HEADER}{rows}")).expect("a figure file");
    cli.table(&["import", &path.to_string_lossy()]);
}

/// A listing without what the service assigns: names become their place in `all` (every
/// figure of the stack, so `supersedes` and `superseded_by` compare as links), import
/// times are dropped.
fn comparable(
    figures: &[swire::SalesFigure],
    all: &[swire::SalesFigure],
) -> Vec<swire::SalesFigure> {
    let places: HashMap<&str, usize> = all
        .iter()
        .enumerate()
        .map(|(i, f)| (f.name.as_str(), i))
        .collect();
    let place = |name: &str| match name {
        "" => String::new(),
        name => places.get(name).map_or_else(
            || format!("outside the listing: {name}"),
            |i| format!("#{i}"),
        ),
    };
    figures
        .iter()
        .map(|f| swire::SalesFigure {
            name: place(&f.name),
            supersedes: place(&f.supersedes),
            superseded_by: place(&f.superseded_by),
            create_time: None,
            ..f.clone()
        })
        .collect()
}

/// A JSON answer with every figure name replaced by a placeholder and import times
/// removed (answers cite the figures they used).
fn scrubbed(value: Value) -> Value {
    match value {
        Value::String(s) if s.starts_with("salesFigures/") => {
            Value::String("salesFigures/…".into())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(scrubbed).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(k, _)| k != "createTime")
                .map(|(k, v)| (k, scrubbed(v)))
                .collect(),
        ),
        other => other,
    }
}

/// The queries compared, as CLI arguments.
fn queries() -> Vec<Vec<&'static str>> {
    let key = [
        "--basis",
        "wholesale",
        "--flow",
        "domestic",
        "--scope",
        "passenger",
    ];
    let with = |rest: &[&'static str]| -> Vec<&'static str> {
        let mut args = rest[..1].to_vec();
        args.extend(key);
        args.extend(&rest[1..]);
        args
    };
    vec![
        with(&[
            "total",
            "--org",
            "byd",
            "--powertrain",
            "nev",
            "--period",
            "2024-01..2024-02",
        ]),
        with(&[
            "total",
            "--org",
            "byd",
            "--powertrain",
            "nev",
            "--period",
            "2024-01",
            "--as-of-date",
            "2024-02-20",
        ]),
        with(&[
            "total",
            "--org",
            "great-wall-motors",
            "--powertrain",
            "ice",
            "--period",
            "2024-01..2024-02",
        ]),
        with(&[
            "total",
            "--org",
            "tesla",
            "--powertrain",
            "nev",
            "--period",
            "2024-01..2024-02",
        ]),
        with(&[
            "series",
            "--org",
            "byd",
            "--powertrain",
            "nev",
            "--period",
            "2024-01..2024-03",
        ]),
        with(&[
            "series",
            "--powertrain",
            "all",
            "--period",
            "2024-01..2024-02",
            "--granularity",
            "quarter",
        ]),
        with(&[
            "rank",
            "--powertrain",
            "nev",
            "--period",
            "2024-01..2024-02",
        ]),
        with(&[
            "rank",
            "--powertrain",
            "nev",
            "--period",
            "2024-01",
            "--as-of-date",
            "2024-02-05",
        ]),
        with(&[
            "share",
            "--powertrain",
            "all",
            "--numerator",
            "powertrain=nev",
            "--period",
            "2024-01..2024-02",
        ]),
        with(&[
            "breakdown",
            "--powertrain",
            "all",
            "--group-by",
            "organization",
            "--period",
            "2024-01..2024-02",
        ]),
        with(&[
            "breakdown",
            "--powertrain",
            "all",
            "--group-by",
            "powertrain",
            "--period",
            "2024-01",
        ]),
        with(&[
            "revisions",
            "--org",
            "byd",
            "--powertrain",
            "nev",
            "--period",
            "2024-01",
        ]),
    ]
}

/// Every listing compared: all figures, the latest only, and as known on a date.
fn listings() -> Vec<swire::ListSalesFiguresRequest> {
    let all = swire::ListSalesFiguresRequest {
        include_superseded: true,
        ..Default::default()
    };
    vec![
        all.clone(),
        swire::ListSalesFiguresRequest::default(),
        swire::ListSalesFiguresRequest {
            as_of_date: Some(autointel_proto::google::r#type::Date {
                year: 2024,
                month: 2,
                day: 20,
            }),
            ..all
        },
    ]
}

async fn listing(
    stack: &Stack,
    request: &swire::ListSalesFiguresRequest,
) -> Vec<swire::SalesFigure> {
    let mut client = stack.stats_client().await;
    let mut request = swire::ListSalesFiguresRequest {
        page_size: 4,
        ..request.clone()
    };
    let mut figures = Vec::new();
    loop {
        let page = client
            .list_sales_figures(request.clone())
            .await
            .expect("ListSalesFigures")
            .into_inner();
        figures.extend(page.sales_figures);
        if page.next_page_token.is_empty() {
            return figures;
        }
        request.page_token = page.next_page_token;
    }
}

async fn exported_figures_and_records_rebuild_the_answers_in_an_empty_stack(backend: Backend) {
    let first = Stack::start(&backend, true).await;
    let dir = first.dir.path().to_path_buf();
    let cli = first.cli();
    import(&cli, &dir, "first.csv", FIRST);
    import(&cli, &dir, "second.csv", SECOND);
    import(&cli, &dir, "third.csv", THIRD);
    let stored = first.all_figures().await;
    assert_eq!(stored.len(), 2 + 12 + 6 + 1);
    assert!(stored.iter().any(|f| !f.superseded_by.is_empty()));

    let figures_csv = dir.join("figures.csv");
    let out = cli.run(&[
        "export",
        "--include-superseded",
        "-f",
        &figures_csv.to_string_lossy(),
    ]);
    out.assert_success();
    assert!(!dir.join("figures.csv.partial").exists());
    let records = dir.join("registry.toml");
    cli.table(&["records", "export", "-f", &records.to_string_lossy()]);

    // JSON Lines on stdout and Parquet hold the same figures.
    let jsonl = cli.table(&["export", "--format", "jsonl", "--include-superseded"]);
    let lines: Vec<Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(lines.len(), stored.len());
    for (line, figure) in lines.iter().zip(&stored) {
        assert_eq!(line["name"], figure.name.as_str());
        assert_eq!(line["supersedes"].as_str().unwrap_or(""), figure.supersedes);
    }
    let parquet = dir.join("figures.parquet");
    let out = cli.run(&[
        "export",
        "--format",
        "parquet",
        "--include-superseded",
        "-f",
        &parquet.to_string_lossy(),
    ]);
    out.assert_success();
    let bytes = std::fs::read(&parquet).expect("the Parquet file");
    assert!(bytes.starts_with(b"PAR1") && bytes.ends_with(b"PAR1"));
    let refused = cli.run(&["export", "--format", "parquet"]);
    assert_eq!(refused.code, 3, "{refused}");
    // Filters narrow the export.
    let byd = cli.table(&[
        "export",
        "--org",
        "byd",
        "--powertrain",
        "nev",
        "--flow",
        "domestic",
    ]);
    assert_eq!(byd.lines().count(), 1 + 3 + 1, "{byd}");

    let second = Stack::start(&backend, false).await;
    let empty = second.cli();
    let out = empty.run(&["apply", "-f", &records.to_string_lossy()]);
    out.assert_success();
    empty.table(&["import", &figures_csv.to_string_lossy()]);

    let (all_a, all_b) = (first.all_figures().await, second.all_figures().await);
    for request in listings() {
        let (a, b) = (
            listing(&first, &request).await,
            listing(&second, &request).await,
        );
        assert_eq!(
            comparable(&a, &all_a),
            comparable(&b, &all_b),
            "{request:?}"
        );
    }
    for args in queries() {
        let (a, b) = (cli.json(&args), empty.json(&args));
        assert_eq!(scrubbed(a), scrubbed(b), "{}", args.join(" "));
    }
    // Exporting the rebuilt stack gives the same file.
    let again = second.dir.path().join("figures.csv");
    empty.table(&[
        "export",
        "--include-superseded",
        "-f",
        &again.to_string_lossy(),
    ]);
    assert_eq!(
        std::fs::read_to_string(&again).expect("the second export"),
        std::fs::read_to_string(&figures_csv).expect("the first export")
    );
}
