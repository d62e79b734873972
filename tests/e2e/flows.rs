//! Flows across both services: a hierarchy made in the registry and figures imported with
//! `autointel import` roll up; a target made in the registry is measured against imported
//! figures; a series is annotated with the registry's events; exports imported with
//! destinations are broken down, put in a month matrix and ranked by supplier through
//! `autointel destinations`.

use autointel_proto::registry as rwire;
use autointel_proto::registry::event_participant::Participant;
use autointel_proto::types as twire;
use serde_json::Value;

use crate::harness::{Backend, Stack, on_each_backend};

pub const SOURCE: &str = "sources/article-nissan-china-exports-2023";
pub const HEADER: &str = "organization,basis,flow,market,scope,powertrain,period,units,ten_thousand_units,comparable_prior_units,source,stage,as_of_date,note\n";

on_each_backend!(
    rollup_over_a_new_hierarchy_counts_each_figure_once,
    target_progress_measures_imported_figures,
    series_is_annotated_with_registry_events,
    exports_by_destination_through_the_cli,
    vintages_and_sources_through_the_cli,
);

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn months(start: (i32, i32), end: (i32, i32)) -> twire::MonthRange {
    twire::MonthRange {
        start: Some(twire::YearMonth {
            year: start.0,
            month: start.1,
        }),
        end: Some(twire::YearMonth {
            year: end.0,
            month: end.1,
        }),
    }
}

/// Creates an organisation through the API.
pub async fn create_org(stack: &Stack, id: &str, kind: rwire::OrganizationKind) {
    stack
        .registry_client()
        .await
        .create_organization(rwire::CreateOrganizationRequest {
            organization: Some(rwire::Organization {
                kind: kind as i32,
                english_name: format!("E2E {id}"),
                country_code: "CN".to_owned(),
                ..Default::default()
            }),
            organization_id: id.to_owned(),
            request_id: new_id(),
        })
        .await
        .unwrap_or_else(|e| panic!("create {id}: {e}"));
}

/// `parent` owns `stake` basis points of `child`.
pub async fn link(stack: &Stack, parent: &str, child: &str) {
    stack
        .registry_client()
        .await
        .create_relationship(rwire::CreateRelationshipRequest {
            relationship: Some(rwire::Relationship {
                kind: rwire::RelationshipKind::Owns as i32,
                parent: format!("organizations/{parent}"),
                child: format!("organizations/{child}"),
                stake_basis_points: Some(5000),
                sources: vec![SOURCE.to_owned()],
                ..Default::default()
            }),
            relationship_id: String::new(),
            request_id: new_id(),
        })
        .await
        .unwrap_or_else(|e| panic!("link {parent} -> {child}: {e}"));
}

/// Writes `rows` under the import header to `<stack dir>/<name>` and imports it with the
/// CLI; returns the CLI's stdout.
pub fn import_rows(stack: &Stack, name: &str, rows: &[String]) -> String {
    let path = stack.dir.path().join(name);
    std::fs::write(&path, format!("{HEADER}{}\n", rows.join("\n"))).expect("write CSV");
    let out = stack.cli().run(&["import", &path.to_string_lossy()]);
    out.assert_success();
    out.stdout
}

fn units(value: &Value) -> Option<i64> {
    match value {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_i64(),
        _ => None,
    }
}

async fn rollup_over_a_new_hierarchy_counts_each_figure_once(backend: Backend) {
    use rwire::OrganizationKind as K;
    let stack = Stack::start(&backend, true).await;
    // holding ─┬─ group (1 000, includes jv and plant) ─┬─ jv (400)
    //          │                                         └─ plant (50)
    //          └─ other (70) ─ jv
    for (id, kind) in [
        ("e2e-holding", K::Group),
        ("e2e-group", K::Group),
        ("e2e-jv", K::JointVenture),
        ("e2e-plant", K::Plant),
        ("e2e-other", K::Automaker),
    ] {
        create_org(&stack, id, kind).await;
    }
    for (parent, child) in [
        ("e2e-holding", "e2e-group"),
        ("e2e-holding", "e2e-other"),
        ("e2e-group", "e2e-jv"),
        ("e2e-group", "e2e-plant"),
        ("e2e-other", "e2e-jv"),
    ] {
        link(&stack, parent, child).await;
    }
    let rows: Vec<String> = [
        ("e2e-group", 1000),
        ("e2e-jv", 400),
        ("e2e-plant", 50),
        ("e2e-other", 70),
    ]
    .iter()
    .map(|(org, units)| {
        format!("{org},wholesale,total,CN,all,all,2023-01..2023-12,{units},,,article-nissan-china-exports-2023,final,2024-01-15,")
    })
    .collect();
    let imported = import_rows(&stack, "hierarchy.csv", &rows);
    assert!(imported.contains("Imported 4 figures"), "{imported}");

    let cli = stack.cli();
    let descendants = cli.json(&["organizations", "descendants", "e2e-holding"]);
    assert!(
        descendants.to_string().contains("organizations/e2e-jv"),
        "{descendants:#}"
    );

    let args = [
        "rollup",
        "--org",
        "e2e-holding",
        "--basis",
        "wholesale",
        "--period",
        "2023-01..2023-12",
    ];
    let json = cli.json(&args);
    assert_eq!(units(&json["total"]["units"]), Some(1_070), "{json:#}");
    let mut counted: Vec<(String, bool)> = json["contributions"]
        .as_array()
        .expect("contributions")
        .iter()
        .map(|c| {
            (
                c["organization"].as_str().unwrap_or_default().to_owned(),
                c["counted"].as_bool().unwrap_or(false),
            )
        })
        .collect();
    counted.sort();
    assert_eq!(
        counted,
        [
            ("organizations/e2e-group".to_owned(), true),
            ("organizations/e2e-holding".to_owned(), false),
            ("organizations/e2e-jv".to_owned(), false),
            ("organizations/e2e-other".to_owned(), true),
            ("organizations/e2e-plant".to_owned(), false),
        ]
    );
    let table = cli.table(&args);
    assert!(table.contains("Rollup: 1,070"), "{table}");

    // The group alone: its own figure, nothing below it added again.
    let json = cli.json(&[
        "rollup",
        "--org",
        "e2e-group",
        "--basis",
        "wholesale",
        "--period",
        "2023-01..2023-12",
    ]);
    assert_eq!(units(&json["total"]["units"]), Some(1_000), "{json:#}");
}

async fn target_progress_measures_imported_figures(backend: Backend) {
    let stack = Stack::start(&backend, true).await;
    create_org(&stack, "e2e-export-plant", rwire::OrganizationKind::Plant).await;
    let target = stack
        .registry_client()
        .await
        .create_target(rwire::CreateTargetRequest {
            target: Some(rwire::Target {
                organization: "organizations/e2e-export-plant".to_owned(),
                description: "Export over 1,000 units in 2023 (e2e)".to_owned(),
                metric: Some(twire::SeriesKey {
                    organization: "organizations/e2e-export-plant".to_owned(),
                    basis: twire::MeasureBasis::Production as i32,
                    flow: twire::Flow::Export as i32,
                    market: "CN".to_owned(),
                    scope: twire::VehicleScope::All as i32,
                    powertrain: twire::Powertrain::All as i32,
                    destination: String::new(),
                }),
                period: Some(months((2023, 1), (2023, 12))),
                threshold_units: 1_000,
                comparator: rwire::Comparator::GreaterThan as i32,
                status: rwire::TargetStatus::Open as i32,
                sources: vec![SOURCE.to_owned()],
                ..Default::default()
            }),
            target_id: "e2e-export-target".to_owned(),
            request_id: new_id(),
        })
        .await
        .expect("CreateTarget")
        .into_inner();
    assert_eq!(target.name, "targets/e2e-export-target");

    let cli = stack.cli();
    let before = cli.json(&["target-progress", "e2e-export-target"]);
    assert_eq!(
        before["status"], "TARGET_PROGRESS_STATUS_NOT_YET_MEASURABLE",
        "{before:#}"
    );

    // Three months of 300: 900 in a quarter → 3 600 pro rata, on track.
    let rows: Vec<String> = (1..=3)
        .map(|m| format!("e2e-export-plant,production,export,CN,all,all,2023-{m:02},300,,,article-nissan-china-exports-2023,final,2023-{:02}-10,", m + 1))
        .collect();
    import_rows(&stack, "q1.csv", &rows);
    let partial = cli.json(&["target-progress", "e2e-export-target"]);
    assert_eq!(
        partial["status"], "TARGET_PROGRESS_STATUS_ON_TRACK",
        "{partial:#}"
    );
    assert_eq!(units(&partial["actual"]["units"]), Some(900), "{partial:#}");
    assert_eq!(partial["progress"]["percent"], "90.0", "{partial:#}");

    // The rest of the year: 900 + 9 × 20 = 1 080 > 1 000, met.
    let rows: Vec<String> = (4..=12)
        .map(|m| format!("e2e-export-plant,production,export,CN,all,all,2023-{m:02},20,,,article-nissan-china-exports-2023,final,2024-01-10,"))
        .collect();
    import_rows(&stack, "rest.csv", &rows);
    let met = cli.json(&["target-progress", "e2e-export-target"]);
    assert_eq!(met["status"], "TARGET_PROGRESS_STATUS_MET", "{met:#}");
    assert_eq!(units(&met["actual"]["units"]), Some(1_080), "{met:#}");
    let table = cli.table(&["target-progress", "e2e-export-target"]);
    for needle in ["e2e-export-target", "1,080", "1,000"] {
        assert!(table.contains(needle), "missing {needle:?} in\n{table}");
    }

    // Two forecasts of the year, scored against the 1 080 actual: +20 (1.9%) ranks above
    // −80 (−7.4%).
    let path = stack.dir.path().join("forecasts.csv");
    std::fs::write(
        &path,
        format!(
            "{},nature\n\
             e2e-export-plant,production,export,CN,all,all,2023-01..2023-12,1000,,,article-nissan-china-exports-2023,estimate,2023-02-01,,forecast\n\
             e2e-export-plant,production,export,CN,all,all,2023-01..2023-12,1100,,,article-nissan-china-exports-2023,estimate,2023-09-01,,forecast\n",
            HEADER.trim_end()
        ),
    )
    .expect("write CSV");
    cli.run(&["import", &path.to_string_lossy()])
        .assert_success();
    let flags = [
        "forecast-accuracy",
        "--organization",
        "e2e-export-plant",
        "--basis",
        "production",
        "--flow",
        "export",
        "--period",
        "2023-01..2023-12",
        "--source",
        "article-nissan-china-exports-2023",
    ];
    let accuracy = cli.json(&flags);
    assert_eq!(
        units(&accuracy["actual"]["units"]),
        Some(1_080),
        "{accuracy:#}"
    );
    let forecasts = &accuracy["forecasts"];
    assert_eq!(units(&forecasts[0]["units"]), Some(1_100), "{accuracy:#}");
    assert_eq!(forecasts[0]["error"]["percent"], "1.9", "{accuracy:#}");
    assert_eq!(units(&forecasts[1]["units"]), Some(1_000), "{accuracy:#}");
    assert_eq!(forecasts[1]["error"]["percent"], "-7.4", "{accuracy:#}");
    let table = cli.table(&flags);
    for needle in ["2023-09-01", "+20", "1.9%", "-80", "-7.4%", "1,080"] {
        assert!(table.contains(needle), "missing {needle:?} in\n{table}");
    }
}

async fn series_is_annotated_with_registry_events(backend: Backend) {
    let stack = Stack::start(&backend, true).await;
    create_org(&stack, "e2e-brand", rwire::OrganizationKind::Brand).await;
    stack
        .registry_client()
        .await
        .create_event(rwire::CreateEventRequest {
            event: Some(rwire::Event {
                kind: rwire::EventKind::Other as i32,
                title: "E2E brand launches its first EV".to_owned(),
                participants: vec![rwire::EventParticipant {
                    participant: Some(Participant::Organization(
                        "organizations/e2e-brand".to_owned(),
                    )),
                    role: "launcher".to_owned(),
                }],
                occurred_date: Some(twire::PartialDate {
                    precision: twire::DatePrecision::Month as i32,
                    year: 2023,
                    month: 3,
                    ..Default::default()
                }),
                status: rwire::EventStatus::Reported as i32,
                sources: vec![SOURCE.to_owned()],
                ..Default::default()
            }),
            event_id: "e2e-brand-ev-launch".to_owned(),
            request_id: new_id(),
        })
        .await
        .expect("CreateEvent");
    let rows: Vec<String> = (1..=6)
        .map(|m| format!("e2e-brand,retail,total,CN,all,all,2023-{m:02},{},,,article-nissan-china-exports-2023,final,2023-07-10,", 100 * m))
        .collect();
    import_rows(&stack, "brand.csv", &rows);

    let args = [
        "series",
        "--org",
        "e2e-brand",
        "--basis",
        "retail",
        "--period",
        "2023-01..2023-06",
        "--events",
    ];
    let json = stack.cli().json(&args);
    let points: Vec<Option<i64>> = json["points"]
        .as_array()
        .expect("points")
        .iter()
        .map(|p| units(&p["units"]))
        .collect();
    assert_eq!(
        points,
        [
            Some(100),
            Some(200),
            Some(300),
            Some(400),
            Some(500),
            Some(600)
        ]
    );
    let events: Vec<&str> = json["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["name"].as_str())
        .collect();
    assert_eq!(events, ["events/e2e-brand-ev-launch"], "{json:#}");

    let table = stack.cli().table(&args);
    assert!(
        table.contains(
            "Event: 2023-03 — E2E brand launches its first EV [events/e2e-brand-ev-launch]"
        ),
        "{table}"
    );
    // Without --events, no events.
    let plain = stack.cli().json(&args[..args.len() - 1]);
    assert!(
        plain["events"].as_array().is_none_or(Vec::is_empty),
        "{plain:#}"
    );
}

async fn exports_by_destination_through_the_cli(backend: Backend) {
    let stack = Stack::start(&backend, true).await;
    let row = |org: &str, period: &str, units: u32, to: &str| {
        format!(
            "{org},wholesale,export,CN,all,all,{period},{units},,,article-nissan-china-exports-2023,final,2024-03-10,,,{to}"
        )
    };
    let rows = [
        row("byd", "2023-01", 20, "DE"),
        row("byd", "2024-01", 40, "DE"),
        row("byd", "2024-02", 44, "DE"),
        row("byd", "2024-01", 30, "BR"),
        row("byd", "2024-01", 50, "EU"),
        row("byd", "2024-01", 100, ""),
        row("great-wall-motors", "2024-01", 60, "DE"),
    ];
    let path = stack.dir.path().join("destinations.csv");
    std::fs::write(
        &path,
        format!(
            "{}nature,destination\n{}\n",
            HEADER.trim_end().to_owned() + ",",
            rows.join("\n")
        ),
    )
    .expect("write CSV");
    stack
        .cli()
        .run(&["import", &path.to_string_lossy()])
        .assert_success();

    let origin = ["--organization", "byd", "--basis", "wholesale"];
    let january = [&["destinations"][..], &origin, &["--period", "2024-01"]].concat();
    let json = stack.cli().json(&january);
    let listed: Vec<(&str, Option<i64>)> = json["destinations"]
        .as_array()
        .expect("destinations")
        .iter()
        .map(|d| {
            (
                d["destination"].as_str().unwrap_or_default(),
                units(&d["total"]["units"]),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [("EU", Some(50)), ("DE", Some(40)), ("BR", Some(30))],
        "{json:#}"
    );
    assert_eq!(units(&json["statedUnits"]), Some(70));
    assert_eq!(units(&json["notStatedUnits"]), Some(30));
    assert!(
        json["inconsistent"].as_bool().is_none_or(|b| !b),
        "{json:#}"
    );
    assert_eq!(json["destinations"][1]["yearOverYear"]["priorUnits"], "20");
    let table = stack.cli().table(&january);
    for needle in [
        "EU (region)",
        "(not summed)",
        "57.1%",
        "100.0%",
        "Not stated: 30",
    ] {
        assert!(table.contains(needle), "missing {needle:?} in\n{table}");
    }

    // The matrix: BR has no February figure, shown as missing, not zero.
    let matrix = stack.cli().table(
        &[
            &["destinations"][..],
            &origin,
            &["--period", "2024-01..2024-02", "--matrix"],
        ]
        .concat(),
    );
    let br = matrix
        .lines()
        .find(|l| l.starts_with("BR "))
        .unwrap_or_else(|| panic!("no BR row in\n{matrix}"));
    assert_eq!(
        br.split_whitespace().collect::<Vec<_>>(),
        ["BR", "30", "-", "-"]
    );
    assert!(matrix.contains("2024-01  2024-02"), "{matrix}");

    // DE's suppliers, ranked.
    let suppliers = stack.cli().json(&[
        "destinations",
        "--to",
        "DE",
        "--basis",
        "wholesale",
        "--period",
        "2024-01",
    ]);
    let ranked: Vec<&str> = suppliers["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["organization"].as_str())
        .collect();
    assert_eq!(
        ranked,
        ["organizations/great-wall-motors", "organizations/byd"],
        "{suppliers:#}"
    );

    // A supplier ranking is of every organisation: it takes no origin organisation.
    let out = stack.cli().run(
        &[
            &["destinations", "--to", "DE"][..],
            &origin,
            &["--period", "2024-01"],
        ]
        .concat(),
    );
    assert!(
        out.code != 0 && out.stderr.contains("cannot be used with"),
        "{out}"
    );
}

/// Vintages and sources side by side through the CLI: two sources publish one month, the
/// release log, a diff across a revision, measures with their divergence, `--source`, and
/// a watch of everything stored.
async fn vintages_and_sources_through_the_cli(backend: Backend) {
    let stack = Stack::start(&backend, true).await;
    let jv = "nissan-dongfeng-jv-structure";
    let article = SOURCE.trim_start_matches("sources/");
    let row = |units: u32, source: &str, stage: &str, as_of: &str| {
        format!(
            "nissan-china,wholesale,domestic,CN,passenger,all,2024-01,{units},,,{source},{stage},{as_of},"
        )
    };
    for (name, rows) in [
        (
            "february.csv",
            vec![
                row(100, article, "preliminary", "2024-02-01"),
                row(120, jv, "final", "2024-02-10"),
            ],
        ),
        ("march.csv", vec![row(105, article, "final", "2024-03-01")]),
    ] {
        let path = stack.dir.path().join(name);
        std::fs::write(&path, format!("{HEADER}{}\n", rows.join("\n"))).expect("write CSV");
        stack
            .cli()
            .run(&["import", &path.to_string_lossy()])
            .assert_success();
    }

    let releases = stack.cli().json(&["releases", "--from", "2024-02-01"]);
    let listed: Vec<(&str, &str)> = releases["releases"]
        .as_array()
        .expect("releases")
        .iter()
        .map(|r| {
            (
                r["source"].as_str().unwrap_or_default(),
                r["figureCount"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            (SOURCE, "1"),
            (&format!("sources/{jv}")[..], "1"),
            (SOURCE, "1")
        ],
        "{releases:#}"
    );

    let diff = stack
        .cli()
        .json(&["diff", "--from", "2024-02-15", "--to", "2024-03-31"]);
    assert_eq!(
        diff["changes"][0]["kind"], "VINTAGE_CHANGE_KIND_REVISED",
        "{diff:#}"
    );
    assert_eq!(diff["changes"][0]["deltaUnits"], "5", "{diff:#}");
    let table = stack
        .cli()
        .table(&["diff", "--from", "2024-02-15", "--to", "2024-03-31"]);
    assert!(table.contains("revised") && table.contains("+5"), "{table}");

    let measures = [
        "measures",
        "--organization",
        "nissan-china",
        "--scope",
        "passenger",
        "--period",
        "2024-01",
    ];
    let json = stack.cli().json(&measures);
    assert_eq!(
        json["measures"].as_array().map(Vec::len),
        Some(2),
        "{json:#}"
    );
    assert_eq!(
        json["divergences"][0]["ratio"]["percent"], "87.5",
        "{json:#}"
    );
    let table = stack.cli().table(&measures);
    assert!(table.contains("same basis, different sources"), "{table}");
    assert!(table.contains("past the threshold"), "{table}");

    let total = |source: Option<&str>| {
        let mut args = vec![
            "total",
            "--organization",
            "nissan-china",
            "--basis",
            "wholesale",
            "--scope",
            "passenger",
            "--flow",
            "domestic",
            "--period",
            "2024-01",
        ];
        if let Some(s) = source {
            args.extend(["--source", s]);
        }
        units(&stack.cli().json(&args)["total"]["units"])
    };
    assert_eq!(total(Some(jv)), Some(120));
    assert_eq!(total(Some(article)), Some(105));

    // every figure stored, the seed's two first, then the three imported in order
    let out = stack
        .cli()
        .table(&["watch", "--from-start", "--count", "5"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 5, "{out}");
    assert!(
        lines[2].contains("100") && lines[2].contains("new"),
        "{out}"
    );
    assert!(lines[4].contains("105") && lines[4].contains("+5"), "{out}");
}
