//! Every fact of the seed article, through the CLI (JSON and table) and through the API.

use autointel_proto::registry as rwire;
use autointel_proto::stats as swire;
use autointel_proto::types as twire;
use serde_json::Value;

use crate::harness::{Backend, Cli, Stack, on_each_backend};

const ARTICLE: &str = "sources/article-nissan-china-exports-2023";

on_each_backend!(seed_facts_through_the_cli, seed_facts_through_the_api);

/// `value[path…]` as a string (numbers in proto3 JSON int64 are strings).
fn text(value: &Value, path: &[&str]) -> String {
    let mut v = value;
    for key in path {
        v = &v[*key];
    }
    match v {
        Value::String(s) => s.clone(),
        Value::Null => panic!("no {path:?} in {value:#}"),
        other => other.to_string(),
    }
}

fn names(list: &Value, key: &str) -> Vec<String> {
    list[key]
        .as_array()
        .unwrap_or_else(|| panic!("no array {key} in {list:#}"))
        .iter()
        .map(|item| text(item, &["name"]))
        .collect()
}

async fn seed_facts_through_the_cli(backend: Backend) {
    let stack = Stack::start(&backend, true).await;
    let cli = stack.cli();
    nissan_china_yoy_cli(&cli);
    gaps_say_what_is_true_cli(&cli);
    research_centre_cli(&cli);
    export_moves_cli(&cli);
    kia_target_cli(&cli);
    hierarchy_and_lookup_cli(&cli);
    people_and_quotes_cli(&cli);
}

/// A month inside the seed's January–November figure is "covered by" it, not "no figures";
/// a month outside it has none; a share without its denominator says what would answer it.
fn gaps_say_what_is_true_cli(cli: &Cli) {
    let series = cli.table(&[
        "series",
        "--organization",
        "nissan-china",
        "--basis",
        "company_reported",
        "--granularity",
        "month",
        "--period",
        "2023-10..2023-12",
    ]);
    let lines: Vec<&str> = series.lines().collect();
    assert!(
        lines.iter().any(|l| l.starts_with("2023-10")
            && l.contains("covered by 2023-01..2023-11, which cannot be split")),
        "{series}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("2023-12") && l.contains("no figures for 2023-12")),
        "{series}"
    );
    let share = cli.table(&[
        "share",
        "--numerator",
        "organization=nissan-china",
        "--basis",
        "company_reported",
        "--granularity",
        "year",
        "--period",
        "2023-01..2023-11",
    ]);
    assert!(
        share.contains("Only a figure of */company_reported/total/CN/all/all itself answers"),
        "{share}"
    );
}

fn nissan_china_yoy_cli(cli: &Cli) {
    let args = [
        "compare",
        "--org",
        "nissan-china",
        "--basis",
        "company_reported",
        "--period",
        "2023-01..2023-11",
    ];
    let json = cli.json(&args);
    assert_eq!(text(&json, &["change", "currentUnits"]), "694900");
    assert_eq!(text(&json, &["change", "priorUnits"]), "974700");
    assert_eq!(text(&json, &["change", "absoluteChange"]), "-279800");
    assert_eq!(
        text(&json, &["change", "relativeChange", "percent"]),
        "-28.7"
    );
    let sources: Vec<String> = json["provenance"]["sources"]
        .as_array()
        .expect("provenance.sources")
        .iter()
        .map(|s| text(s, &["name"]))
        .collect();
    assert_eq!(sources, [ARTICLE]);

    let table = cli.table(&args);
    for needle in [
        "694,900",
        "974,700",
        "-279,800",
        "-28.7%",
        "article-nissan-china-exports-2023",
    ] {
        assert!(table.contains(needle), "missing {needle:?} in\n{table}");
    }
}

fn research_centre_cli(cli: &Cli) {
    let centre = cli.json(&[
        "partnerships",
        "get",
        "nissan-tsinghua-research-centre-2023",
    ]);
    assert_eq!(
        text(&centre, &["kind"]),
        "PARTNERSHIP_KIND_JOINT_RESEARCH_CENTRE"
    );
    assert_eq!(
        (
            text(&centre, &["announcedDate", "year"]),
            text(&centre, &["announcedDate", "month"]),
            text(&centre, &["announcedDate", "day"]),
        ),
        ("2023".to_owned(), "12".to_owned(), "17".to_owned())
    );
    assert_eq!(
        centre["focusAreas"],
        serde_json::json!([
            "EV development",
            "charging infrastructure",
            "battery recycling"
        ])
    );
    assert_eq!(
        text(&centre, &["predecessor"]),
        "partnerships/nissan-tsinghua-collaboration-2016"
    );
    assert_eq!(centre["sources"], serde_json::json!([ARTICLE]));
    let parties: Vec<String> = centre["parties"]
        .as_array()
        .expect("parties")
        .iter()
        .map(|p| text(p, &["organization"]))
        .collect();
    assert_eq!(
        parties,
        [
            "organizations/nissan-china",
            "organizations/tsinghua-university"
        ]
    );

    let predecessor = cli.json(&["partnerships", "get", "nissan-tsinghua-collaboration-2016"]);
    assert_eq!(text(&predecessor, &["startedDate", "year"]), "2016");
    assert_eq!(
        text(&predecessor, &["startedDate", "precision"]),
        "DATE_PRECISION_YEAR"
    );
    let focus = predecessor["focusAreas"].to_string();
    assert!(focus.contains("autonomous driving"), "{focus}");
    assert_eq!(
        predecessor["successors"],
        serde_json::json!(["partnerships/nissan-tsinghua-research-centre-2023"]),
        "visible from both ends"
    );
    assert!(
        centre["successors"].as_array().is_none_or(Vec::is_empty),
        "none: {centre:#}"
    );
    let table = cli.table(&["partnerships", "get", "nissan-tsinghua-collaboration-2016"]);
    assert!(
        table.contains("nissan-tsinghua-research-centre-2023"),
        "{table}"
    );

    let list = cli.json(&["partnerships", "list", "--org", "tsinghua-university"]);
    assert_eq!(
        names(&list, "partnerships"),
        [
            "partnerships/nissan-tsinghua-research-centre-2023",
            "partnerships/nissan-tsinghua-collaboration-2016"
        ]
    );
    let table = cli.table(&["partnerships", "list", "--org", "tsinghua-university"]);
    for needle in [
        "nissan-tsinghua-research-centre-2023",
        "joint_research_centre",
        "2023-12-17",
        "nissan-tsinghua-collaboration-2016",
        "2016",
    ] {
        assert!(table.contains(needle), "missing {needle:?} in\n{table}");
    }
    let table = cli.table(&[
        "partnerships",
        "get",
        "nissan-tsinghua-research-centre-2023",
    ]);
    for needle in [
        "Focus: EV development, charging infrastructure, battery recycling",
        "Continues: nissan-tsinghua-collaboration-2016",
    ] {
        assert!(table.contains(needle), "missing {needle:?} in\n{table}");
    }
}

fn export_moves_cli(cli: &Cli) {
    // DPCA becomes Stellantis' export base (October 2023).
    let dpca = cli.json(&["events", "get", "dpca-export-base-announced"]);
    assert_eq!(text(&dpca, &["kind"]), "EVENT_KIND_EXPORT_BASE_DESIGNATED");
    assert_eq!(
        (
            text(&dpca, &["occurredDate", "year"]),
            text(&dpca, &["occurredDate", "month"])
        ),
        ("2023".to_owned(), "10".to_owned())
    );
    assert!(text(&dpca, &["summary"]).contains("Stellantis"));
    assert_eq!(dpca["sources"], serde_json::json!([ARTICLE]));

    // Dongfeng Nissan's export division, on its timeline.
    let timeline = cli.json(&["timeline", "dongfeng-nissan"]);
    assert_eq!(
        names(&timeline, "events"),
        ["events/dongfeng-nissan-export-division"]
    );
    assert_eq!(
        text(&timeline["events"][0], &["kind"]),
        "EVENT_KIND_ORGANIZATION_CHANGE"
    );
    let table = cli.table(&["timeline", "dongfeng-nissan"]);
    for needle in [
        "2023-10",
        "dongfeng-nissan-export-division",
        "Dongfeng Nissan establishes an export division",
    ] {
        assert!(table.contains(needle), "missing {needle:?} in\n{table}");
    }

    // Dongfeng's EV platform for Nissan (August 2023).
    let platform = cli.json(&[
        "partnerships",
        "get",
        "dongfeng-ev-platform-for-nissan-2023",
    ]);
    assert_eq!(
        text(&platform, &["kind"]),
        "PARTNERSHIP_KIND_PLATFORM_SHARING"
    );
    assert_eq!(text(&platform, &["announcedDate", "month"]), "8");
    let partners = cli.table(&["partnerships", "partners", "nissan"]);
    assert!(
        partners.contains("dongfeng-motor-group")
            && partners.contains("dongfeng-ev-platform-for-nissan-2023"),
        "{partners}"
    );
    let event = cli.json(&["events", "get", "dongfeng-ev-platform-for-nissan-announced"]);
    assert_eq!(
        text(&event, &["partnership"]),
        "partnerships/dongfeng-ev-platform-for-nissan-2023"
    );
}

fn kia_target_cli(cli: &Cli) {
    let target = cli.json(&["targets", "get", "kia-yancheng-exports-2026"]);
    assert_eq!(text(&target, &["thresholdUnits"]), "200000");
    assert_eq!(text(&target, &["comparator"]), "COMPARATOR_GREATER_THAN");
    assert_eq!(text(&target, &["metric", "flow"]), "FLOW_EXPORT");
    assert_eq!(
        text(&target, &["organization"]),
        "organizations/kia-yancheng-plant"
    );
    assert_eq!(text(&target, &["deadline", "year"]), "2026");
    assert_eq!(text(&target, &["event"]), "events/kia-yancheng-export-base");

    let progress = cli.json(&["target-progress", "kia-yancheng-exports-2026"]);
    assert_eq!(
        text(&progress, &["target", "name"]),
        "targets/kia-yancheng-exports-2026"
    );
    let table = cli.table(&["target-progress", "kia-yancheng-exports-2026"]);
    for needle in ["kia-yancheng-exports-2026", "200,000", "not yet measurable"] {
        assert!(table.contains(needle), "missing {needle:?} in\n{table}");
    }
}

fn hierarchy_and_lookup_cli(cli: &Cli) {
    let ancestors = cli.json(&[
        "organizations",
        "ancestors",
        "dongfeng-nissan",
        "--as-of",
        "2023-06-01",
    ]);
    let mut found: Vec<(String, String)> = ancestors["ancestors"]
        .as_array()
        .expect("ancestors")
        .iter()
        .map(|a| {
            (
                text(a, &["organization"]),
                text(a, &["relationship", "stakeBasisPoints"]),
            )
        })
        .collect();
    found.sort();
    assert_eq!(
        found,
        [
            (
                "organizations/dongfeng-motor-group".to_owned(),
                "5000".to_owned()
            ),
            ("organizations/nissan".to_owned(), "5000".to_owned()),
        ]
    );
    let table = cli.table(&[
        "organizations",
        "ancestors",
        "dongfeng-nissan",
        "--as-of",
        "2023-06-01",
    ]);
    assert_eq!(table.matches("50%").count(), 2, "{table}");

    let lookup = cli.json(&["organizations", "lookup", "东风日产"]);
    assert_eq!(
        names(&lookup, "organizations"),
        ["organizations/dongfeng-nissan"]
    );
    // traditional spellings find the simplified names of the seed
    for (query, found) in [
        ("東風日產", "organizations/dongfeng-nissan"),
        ("日產中國", "organizations/nissan-china"),
        ("ＤＰＣＡ", "organizations/dpca"),
    ] {
        let lookup = cli.json(&["organizations", "lookup", query]);
        assert_eq!(names(&lookup, "organizations"), [found], "{query}");
    }
    let table = cli.table(&["organizations", "lookup", "东风日产"]);
    assert!(
        table.contains("dongfeng-nissan") && table.contains("东风日产"),
        "{table}"
    );
}

fn people_and_quotes_cli(cli: &Cli) {
    let event = cli.json(&["events", "get", "nissan-tsinghua-research-centre-announced"]);
    let quote = &event["quotes"][0];
    assert_eq!(text(quote, &["speaker"]), "people/makoto-uchida");
    assert!(
        text(quote, &["text"]).contains("deepen the company's understanding of the Chinese market")
    );
    assert_eq!(text(quote, &["source"]), ARTICLE);

    let event = cli.json(&["events", "get", "nissan-considers-exports-from-china"]);
    let quote = &event["quotes"][0];
    assert_eq!(text(quote, &["speaker"]), "people/masashi-matsumura");
    assert!(
        text(quote, &["speakerTitle"]).contains("President of Nissan China"),
        "{quote:#}"
    );
    let table = cli.table(&["events", "get", "nissan-tsinghua-research-centre-announced"]);
    assert!(
        table.contains("Quote: makoto-uchida (President and CEO, Nissan)"),
        "{table}"
    );
}

// ------------------------------------------------------------------ the API

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

async fn seed_facts_through_the_api(backend: Backend) {
    let stack = Stack::start(&backend, true).await;
    let mut stats = stack.stats_client().await;
    let mut registry = stack.registry_client().await;

    let answer = stats
        .compute_change(swire::ComputeChangeRequest {
            series: Some(twire::SeriesKey {
                organization: "organizations/nissan-china".to_owned(),
                basis: twire::MeasureBasis::CompanyReported as i32,
                flow: twire::Flow::Total as i32,
                market: "CN".to_owned(),
                scope: twire::VehicleScope::All as i32,
                powertrain: twire::Powertrain::All as i32,
                destination: String::new(),
            }),
            period: Some(months((2023, 1), (2023, 11))),
            comparison: swire::Comparison::YearOverYear as i32,
            ..Default::default()
        })
        .await
        .expect("ComputeChange")
        .into_inner();
    let change = answer.change.expect("change");
    assert_eq!(
        (
            change.current_units,
            change.prior_units,
            change.absolute_change
        ),
        (694_900, 974_700, -279_800)
    );
    assert_eq!(change.relative_change.expect("percent").percent, "-28.7");
    let provenance = answer.provenance.expect("provenance");
    assert_eq!(provenance.figures.len(), 2);
    assert!(provenance.figures.iter().all(|f| f.source == ARTICLE));

    let centre = registry
        .get_partnership(rwire::GetPartnershipRequest {
            name: "partnerships/nissan-tsinghua-research-centre-2023".to_owned(),
        })
        .await
        .expect("GetPartnership")
        .into_inner();
    let announced = centre.announced_date.expect("announced");
    assert_eq!(
        (announced.year, announced.month, announced.day),
        (2023, 12, 17)
    );
    assert_eq!(
        centre.focus_areas,
        [
            "EV development",
            "charging infrastructure",
            "battery recycling"
        ]
    );
    assert_eq!(
        centre.predecessor,
        "partnerships/nissan-tsinghua-collaboration-2016"
    );
    let predecessor = registry
        .get_partnership(rwire::GetPartnershipRequest {
            name: centre.predecessor.clone(),
        })
        .await
        .expect("predecessor")
        .into_inner();
    assert_eq!(predecessor.started_date.expect("started").year, 2016);

    for (event, kind) in [
        (
            "events/dpca-export-base-announced",
            rwire::EventKind::ExportBaseDesignated,
        ),
        (
            "events/dongfeng-nissan-export-division",
            rwire::EventKind::OrganizationChange,
        ),
        (
            "events/dongfeng-ev-platform-for-nissan-announced",
            rwire::EventKind::PartnershipAnnounced,
        ),
        (
            "events/kia-yancheng-export-base",
            rwire::EventKind::ExportBaseDesignated,
        ),
    ] {
        let found = registry
            .get_event(rwire::GetEventRequest {
                name: event.to_owned(),
            })
            .await
            .unwrap_or_else(|e| panic!("{event}: {e}"))
            .into_inner();
        assert_eq!(found.kind, kind as i32, "{event}");
        assert_eq!(found.sources, [ARTICLE], "{event}");
    }

    let target = registry
        .get_target(rwire::GetTargetRequest {
            name: "targets/kia-yancheng-exports-2026".to_owned(),
        })
        .await
        .expect("GetTarget")
        .into_inner();
    assert_eq!(target.threshold_units, 200_000);
    assert_eq!(target.comparator, rwire::Comparator::GreaterThan as i32);
    assert_eq!(target.period, Some(months((2026, 1), (2026, 12))));

    let ancestors = registry
        .list_ancestors(rwire::ListAncestorsRequest {
            organization: "organizations/dongfeng-nissan".to_owned(),
            ..Default::default()
        })
        .await
        .expect("ListAncestors")
        .into_inner();
    let mut stakes: Vec<(String, Option<i32>)> = ancestors
        .ancestors
        .iter()
        .map(|a| {
            (
                a.organization.clone(),
                a.relationship.as_ref().and_then(|r| r.stake_basis_points),
            )
        })
        .collect();
    stakes.sort();
    assert_eq!(
        stakes,
        [
            ("organizations/dongfeng-motor-group".to_owned(), Some(5000)),
            ("organizations/nissan".to_owned(), Some(5000)),
        ]
    );

    let found = registry
        .lookup_organizations(rwire::LookupOrganizationsRequest {
            query: "东风日产".to_owned(),
        })
        .await
        .expect("LookupOrganizations")
        .into_inner();
    let ids: Vec<&str> = found
        .organizations
        .iter()
        .map(|o| o.name.as_str())
        .collect();
    assert_eq!(ids, ["organizations/dongfeng-nissan"]);

    for (person, title) in [
        ("people/makoto-uchida", "President and CEO"),
        (
            "people/masashi-matsumura",
            "Vice President of Nissan and President of Nissan China",
        ),
    ] {
        let found = registry
            .get_person(rwire::GetPersonRequest {
                name: person.to_owned(),
            })
            .await
            .unwrap_or_else(|e| panic!("{person}: {e}"))
            .into_inner();
        assert_eq!(found.title, title);
    }
    let event = registry
        .get_event(rwire::GetEventRequest {
            name: "events/nissan-considers-exports-from-china".to_owned(),
        })
        .await
        .expect("statement")
        .into_inner();
    assert_eq!(event.quotes.len(), 1);
    assert_eq!(event.quotes[0].speaker, "people/masashi-matsumura");
    assert!(
        event.quotes[0]
            .text
            .contains("exporting existing internal combustion engine vehicles")
    );
}
