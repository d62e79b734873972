//! Figures, requests and registry records the suites share, and what they read from errors.

use std::path::PathBuf;

use autointel_figure_file::{read_sales_figures, read_sales_figures_file};
use autointel_proto::registry::registry_service_client::RegistryServiceClient;
use autointel_proto::registry::{self as rwire};
use autointel_proto::stats::stats_service_client::StatsServiceClient;
use autointel_proto::stats::{self as wire};
use autointel_proto::types::{self as twire};
use tonic::transport::Channel;
use tonic::{Code, Status};
use tonic_types::StatusExt;

use crate::harness::Stack;

pub(crate) const ARTICLE: &str = "sources/article-nissan-china-exports-2023";
pub(crate) const HEADER: &str = "organization,basis,flow,market,scope,powertrain,period,units,ten_thousand_units,comparable_prior_units,source,stage,as_of_date,note\n";

pub(crate) fn figures(lines: &[&str]) -> Vec<wire::SalesFigure> {
    let text = format!("{HEADER}{}\n", lines.join("\n"));
    read_sales_figures(text.as_bytes()).unwrap()
}

pub(crate) fn seed_figures() -> Vec<wire::SalesFigure> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/seed/sales_figures.csv");
    read_sales_figures_file(&path).unwrap()
}

pub(crate) async fn import(
    client: &mut StatsServiceClient<Channel>,
    request_id: &str,
    batches: Vec<Vec<wire::SalesFigure>>,
) -> Result<wire::ImportSalesFiguresResponse, Status> {
    let requests: Vec<_> = batches
        .into_iter()
        .map(|figures| wire::ImportSalesFiguresRequest {
            request_id: request_id.to_owned(),
            figures,
        })
        .collect();
    client
        .import_sales_figures(tokio_stream::iter(requests))
        .await
        .map(tonic::Response::into_inner)
}

pub(crate) fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

pub(crate) fn ym(year: i32, month: i32) -> twire::YearMonth {
    twire::YearMonth { year, month }
}

pub(crate) fn months(start: (i32, i32), end: (i32, i32)) -> twire::MonthRange {
    twire::MonthRange {
        start: Some(ym(start.0, start.1)),
        end: Some(ym(end.0, end.1)),
    }
}

pub(crate) fn date(year: i32, month: i32, day: i32) -> autointel_proto::google::r#type::Date {
    autointel_proto::google::r#type::Date { year, month, day }
}

pub(crate) fn series(
    organization: &str,
    basis: twire::MeasureBasis,
    powertrain: twire::Powertrain,
) -> twire::SeriesKey {
    twire::SeriesKey {
        organization: organization.to_owned(),
        basis: basis as i32,
        flow: twire::Flow::Total as i32,
        market: "CN".to_owned(),
        scope: twire::VehicleScope::All as i32,
        powertrain: powertrain as i32,
        destination: String::new(),
    }
}

pub(crate) fn nissan_china() -> twire::SeriesKey {
    series(
        "organizations/nissan-china",
        twire::MeasureBasis::CompanyReported,
        twire::Powertrain::All,
    )
}

pub(crate) async fn list_all(client: &mut StatsServiceClient<Channel>) -> Vec<wire::SalesFigure> {
    client
        .list_sales_figures(wire::ListSalesFiguresRequest {
            page_size: 1000,
            include_superseded: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .sales_figures
}

pub(crate) async fn create_org(
    registry: &mut RegistryServiceClient<Channel>,
    id: &str,
    kind: rwire::OrganizationKind,
) {
    registry
        .create_organization(rwire::CreateOrganizationRequest {
            organization: Some(rwire::Organization {
                kind: kind as i32,
                english_name: format!("Test {id}"),
                country_code: "CN".to_owned(),
                ..Default::default()
            }),
            organization_id: id.to_owned(),
            request_id: new_id(),
        })
        .await
        .unwrap();
}

pub(crate) async fn link(registry: &mut RegistryServiceClient<Channel>, parent: &str, child: &str) {
    owns(registry, parent, child, 5000, None, None).await;
}

/// `parent` owns `basis_points` of `child` from `from` to `to` (open when `None`), citing
/// the article.
pub(crate) async fn owns(
    registry: &mut RegistryServiceClient<Channel>,
    parent: &str,
    child: &str,
    basis_points: i32,
    from: Option<twire::PartialDate>,
    to: Option<twire::PartialDate>,
) {
    registry
        .create_relationship(rwire::CreateRelationshipRequest {
            relationship: Some(rwire::Relationship {
                kind: rwire::RelationshipKind::Owns as i32,
                parent: format!("organizations/{parent}"),
                child: format!("organizations/{child}"),
                stake_basis_points: Some(basis_points),
                valid_from_date: from,
                valid_to_date: to,
                sources: vec![ARTICLE.to_owned()],
                ..Default::default()
            }),
            relationship_id: String::new(),
            request_id: new_id(),
        })
        .await
        .unwrap();
}

/// holding ─┬─ group (1 000, includes jv and plant) ─┬─ jv (400)
///          │                                         └─ plant (50)
///          └─ other (70)
pub(crate) async fn build_hierarchy(stack: &mut Stack) {
    use rwire::OrganizationKind as K;
    for (id, kind) in [
        ("test-holding", K::Group),
        ("test-group", K::Group),
        ("test-jv", K::JointVenture),
        ("test-plant", K::Plant),
        ("test-other", K::Automaker),
    ] {
        create_org(&mut stack.registry, id, kind).await;
    }
    link(&mut stack.registry, "test-holding", "test-group").await;
    link(&mut stack.registry, "test-holding", "test-other").await;
    link(&mut stack.registry, "test-group", "test-jv").await;
    link(&mut stack.registry, "test-group", "test-plant").await;
    link(&mut stack.registry, "test-other", "test-jv").await;
    let rows = [
        ("test-group", 1000),
        ("test-jv", 400),
        ("test-plant", 50),
        ("test-other", 70),
    ]
    .map(|(org, units)| {
        format!("{org},wholesale,total,CN,all,all,2023-01..2023-12,{units},,,article-nissan-china-exports-2023,final,2024-01-15,")
    });
    let lines: Vec<&str> = rows.iter().map(String::as_str).collect();
    import(&mut stack.stats, &new_id(), vec![figures(&lines)])
        .await
        .unwrap();
}

pub(crate) fn rollup_request(root: &str) -> wire::ComputeRollupRequest {
    wire::ComputeRollupRequest {
        series: Some(series(
            &format!("organizations/{root}"),
            twire::MeasureBasis::Wholesale,
            twire::Powertrain::All,
        )),
        period: Some(months((2023, 1), (2023, 12))),
        ..Default::default()
    }
}

pub(crate) async fn create_target(stack: &mut Stack) -> String {
    let metric = twire::SeriesKey {
        organization: "organizations/kia-yancheng-plant".to_owned(),
        basis: twire::MeasureBasis::Production as i32,
        flow: twire::Flow::Export as i32,
        market: "CN".to_owned(),
        scope: twire::VehicleScope::All as i32,
        powertrain: twire::Powertrain::All as i32,
        destination: String::new(),
    };
    stack
        .registry
        .create_target(rwire::CreateTargetRequest {
            target: Some(rwire::Target {
                organization: "organizations/kia-yancheng-plant".to_owned(),
                description: "Export over 200,000 units in 2026 (test)".to_owned(),
                metric: Some(metric),
                period: Some(months((2026, 1), (2026, 12))),
                threshold_units: 200_000,
                comparator: rwire::Comparator::GreaterThan as i32,
                status: rwire::TargetStatus::Open as i32,
                sources: vec![ARTICLE.to_owned()],
                ..Default::default()
            }),
            target_id: String::new(),
            request_id: new_id(),
        })
        .await
        .unwrap()
        .into_inner()
        .name
}

pub(crate) fn change_request() -> wire::ComputeChangeRequest {
    wire::ComputeChangeRequest {
        series: Some(nissan_china()),
        period: Some(months((2023, 1), (2023, 11))),
        comparison: wire::Comparison::YearOverYear as i32,
        ..Default::default()
    }
}

// ------------------------------------------------------------------------------------------
// Long revision chains: many revisions of one series and period.

/// `n` revisions of nissan-china's 2023-05 retail figure, a day apart from 2000-01-01 on,
/// units growing by one a revision.
pub(crate) fn chain_figures(n: usize) -> Vec<wire::SalesFigure> {
    let template = figures(&["nissan-china,retail,total,CN,all,all,2023-05,50000,,,article-nissan-china-exports-2023,final,2000-01-01,"])
        .pop()
        .unwrap();
    autointel_testkit::consecutive_days()
        .take(n)
        .enumerate()
        .map(|(i, day)| {
            let mut f = template.clone();
            f.as_of_date = Some(day);
            f.quantity = Some(wire::sales_figure::Quantity::Units(50_000 + i as i64));
            f
        })
        .collect()
}

pub(crate) fn chain_key() -> twire::SeriesKey {
    series(
        "organizations/nissan-china",
        twire::MeasureBasis::Retail,
        twire::Powertrain::All,
    )
}

/// Imports `figures` in batches of 10 000 figures (one import).
pub(crate) async fn import_in_batches(
    client: &mut StatsServiceClient<Channel>,
    figures: Vec<wire::SalesFigure>,
) -> Result<wire::ImportSalesFiguresResponse, Status> {
    let batches = figures.chunks(10_000).map(<[_]>::to_vec).collect();
    import(client, &new_id(), batches).await
}

/// The field names of an INVALID_ARGUMENT status.
pub(crate) fn violated_fields(status: &Status) -> Vec<String> {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    status
        .get_details_bad_request()
        .unwrap()
        .field_violations
        .into_iter()
        .map(|v| v.field)
        .collect()
}
