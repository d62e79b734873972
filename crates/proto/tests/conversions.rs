//! Wire ↔ domain conversions: round trips keep every field, and bad wire
//! input is rejected with every violation and its path.
#![allow(clippy::unwrap_used)]

use autointel_domain::{
    Event, MonthRange, Organization, Partnership, Person, Relationship, SalesFigure, SalesFigureId,
    Source, Target, ValidationError,
};
use autointel_proto::convert::stats::{sales_figure_from_wire, sales_figure_to_wire};
use autointel_proto::convert::types::{
    month_range_from_wire, month_range_to_wire, partial_date_from_wire, partial_date_to_wire,
    percent_decimals_from_wire,
};
use autointel_proto::convert::{ResourceId, WireEnum};
use autointel_proto::google::r#type::Date as WireDate;
use autointel_proto::registry as wire;
use autointel_proto::stats as swire;
use autointel_proto::types as twire;

fn fields(err: &ValidationError) -> Vec<&str> {
    err.violations().iter().map(|v| v.field.as_str()).collect()
}

fn partial(
    precision: twire::DatePrecision,
    year: i32,
    quarter: i32,
    month: i32,
    day: i32,
) -> twire::PartialDate {
    twire::PartialDate {
        precision: precision as i32,
        year,
        quarter,
        month,
        day,
    }
}

fn ym(year: i32, month: i32) -> Option<twire::YearMonth> {
    Some(twire::YearMonth { year, month })
}

fn organization() -> wire::Organization {
    wire::Organization {
        name: "organizations/dongfeng-nissan".into(),
        kind: wire::OrganizationKind::JointVenture as i32,
        english_name: "Dongfeng Nissan".into(),
        chinese_name: "东风日产".into(),
        aliases: vec!["Dongfeng Nissan Passenger Vehicle Company".into()],
        country_code: "CN".into(),
        ..Default::default()
    }
}

fn event() -> wire::Event {
    use wire::event_participant::Participant as P;
    wire::Event {
        name: "events/nissan-tsinghua-research-centre-announced".into(),
        kind: wire::EventKind::PartnershipAnnounced as i32,
        title: "Nissan China and Tsinghua University announce a joint research centre".into(),
        summary: "A joint research centre for EV development.".into(),
        participants: vec![
            wire::EventParticipant {
                participant: Some(P::Organization("organizations/nissan-china".into())),
                role: "announcer".into(),
            },
            wire::EventParticipant {
                participant: Some(P::Person("people/makoto-uchida".into())),
                role: "speaker".into(),
            },
        ],
        occurred_date: Some(partial(twire::DatePrecision::Day, 2023, 0, 12, 17)),
        announced_date: Some(partial(twire::DatePrecision::Month, 2023, 0, 12, 0)),
        status: wire::EventStatus::Confirmed as i32,
        supersedes: "events/an-earlier-report".into(),
        superseded_by: String::new(),
        partnership: "partnerships/nissan-tsinghua-research-centre-2023".into(),
        quotes: vec![wire::Quote {
            speaker: "people/makoto-uchida".into(),
            speaker_title: "President and CEO".into(),
            text:
                "This partnership would deepen the company's understanding of the Chinese market."
                    .into(),
            language_code: "en".into(),
            source: "sources/article".into(),
        }],
        targets: vec!["targets/kia-yancheng-exports-2026".into()],
        sources: vec!["sources/article".into()],
        ..Default::default()
    }
}

fn partnership() -> wire::Partnership {
    wire::Partnership {
        name: "partnerships/nissan-tsinghua-research-centre-2023".into(),
        kind: wire::PartnershipKind::JointResearchCentre as i32,
        title: "Nissan China–Tsinghua University joint research centre".into(),
        description: "EV development.".into(),
        parties: vec![
            wire::PartnershipParty {
                organization: "organizations/nissan-china".into(),
                role: "founder".into(),
            },
            wire::PartnershipParty {
                organization: "organizations/tsinghua-university".into(),
                role: String::new(),
            },
        ],
        focus_areas: vec![
            "EV development".into(),
            "charging infrastructure".into(),
            "battery recycling".into(),
        ],
        status: wire::PartnershipStatus::Announced as i32,
        announced_date: Some(partial(twire::DatePrecision::Day, 2023, 0, 12, 17)),
        started_date: None,
        ended_date: None,
        predecessor: "partnerships/nissan-tsinghua-collaboration-2016".into(),
        sources: vec!["sources/article".into()],
        ..Default::default()
    }
}

fn relationship() -> wire::Relationship {
    wire::Relationship {
        name: "relationships/nissan-in-dongfeng-nissan".into(),
        kind: wire::RelationshipKind::JointVenturePartner as i32,
        parent: "organizations/nissan".into(),
        child: "organizations/dongfeng-nissan".into(),
        stake_basis_points: Some(5000),
        valid_from_date: Some(partial(twire::DatePrecision::Year, 2003, 0, 0, 0)),
        valid_to_date: Some(partial(twire::DatePrecision::Quarter, 2030, 4, 0, 0)),
        sources: vec!["sources/jv-structure".into()],
        ..Default::default()
    }
}

fn series(org: &str) -> twire::SeriesKey {
    twire::SeriesKey {
        organization: org.into(),
        basis: twire::MeasureBasis::CompanyReported as i32,
        flow: twire::Flow::Export as i32,
        market: "CN".into(),
        scope: twire::VehicleScope::All as i32,
        powertrain: twire::Powertrain::All as i32,
        destination: String::new(),
    }
}

fn target() -> wire::Target {
    wire::Target {
        name: "targets/kia-yancheng-exports-2026".into(),
        organization: "organizations/kia-yancheng-plant".into(),
        event: "events/kia-yancheng-export-base".into(),
        description: "Over 200,000 exports a year by 2026.".into(),
        metric: Some(series("organizations/kia-yancheng-plant")),
        period: Some(twire::MonthRange {
            start: ym(2026, 1),
            end: ym(2026, 12),
        }),
        deadline: Some(partial(twire::DatePrecision::Year, 2026, 0, 0, 0)),
        threshold_units: 200_000,
        comparator: wire::Comparator::GreaterThan as i32,
        status: wire::TargetStatus::Open as i32,
        sources: vec!["sources/article".into()],
        ..Default::default()
    }
}

fn figure() -> swire::SalesFigure {
    swire::SalesFigure {
        series: Some(series("organizations/nissan-china")),
        period: Some(twire::MonthRange {
            start: ym(2023, 1),
            end: ym(2023, 11),
        }),
        quantity: Some(swire::sales_figure::Quantity::Units(694_900)),
        comparable_prior_units: Some(974_700),
        source: "sources/article".into(),
        stage: swire::ReleaseStage::Final as i32,
        as_of_date: Some(WireDate {
            year: 2023,
            month: 12,
            day: 17,
        }),
        note: "Passenger and light commercial vehicles".into(),
        nature: swire::FigureNature::Actual as i32,
        ..Default::default()
    }
}

/// Converts wire → domain → wire and checks nothing was lost.
macro_rules! assert_round_trip {
    ($domain:ty, $wire:expr) => {{
        let original = $wire;
        let domain = <$domain>::try_from(&original).unwrap();
        let back = (&domain).into();
        assert_eq!(original, back);
        domain
    }};
}

#[test]
fn organization_round_trips() {
    let org = assert_round_trip!(Organization, organization());
    assert_eq!(org.id.resource_name(), "organizations/dongfeng-nissan");
    assert!(org.matches_name("东风日产"));
}

#[test]
fn person_and_source_round_trip() {
    assert_round_trip!(
        Person,
        wire::Person {
            name: "people/makoto-uchida".into(),
            display_name: "Makoto Uchida".into(),
            chinese_name: "内田诚".into(),
            title: "President and CEO".into(),
            organization: "organizations/nissan".into(),
            ..Default::default()
        }
    );
    assert_round_trip!(
        Source,
        wire::Source {
            name: "sources/article".into(),
            kind: wire::SourceKind::News as i32,
            publisher: "Automotive trade press".into(),
            title: "Nissan joins joint-venture brands using China as an export base".into(),
            uri: "https://example.com/article".into(),
            published_date: Some(WireDate {
                year: 2023,
                month: 12,
                day: 18
            }),
            ..Default::default()
        }
    );
}

#[test]
fn relationship_with_stake_and_dated_validity_round_trips() {
    let rel = assert_round_trip!(Relationship, relationship());
    assert_eq!(rel.stake.map(|s| s.basis_points()), Some(5000));
}

#[test]
fn partnership_round_trips_with_predecessor_and_unstated_role() {
    let p = assert_round_trip!(Partnership, partnership());
    assert_eq!(
        p.predecessor.map(|id| id.resource_name()).as_deref(),
        Some("partnerships/nissan-tsinghua-collaboration-2016")
    );
}

#[test]
fn event_round_trips_with_participants_quotes_and_dates_of_different_precision() {
    assert_round_trip!(Event, event());
}

#[test]
fn target_round_trips_with_its_metric() {
    assert_round_trip!(Target, target());
}

#[test]
fn sales_figure_round_trips_and_output_carries_units() {
    let id = SalesFigureId::parse("f1").unwrap();
    let domain = sales_figure_from_wire(id.clone(), &figure()).unwrap();
    let back = sales_figure_to_wire(&domain, None);
    let mut expected = figure();
    expected.name = "salesFigures/f1".into();
    assert_eq!(back, expected);
    let again: SalesFigure = sales_figure_from_wire(id, &back).unwrap();
    assert_eq!(again, domain);
}

#[test]
fn nature_and_destination_round_trip_and_unset_nature_is_actual() {
    use autointel_domain::FigureNature;
    let id = SalesFigureId::parse("f1").unwrap();
    let mut w = figure();
    w.nature = swire::FigureNature::Forecast as i32;
    w.series.as_mut().unwrap().destination = "DE".into();
    let domain = sales_figure_from_wire(id.clone(), &w).unwrap();
    assert_eq!(domain.nature, FigureNature::Forecast);
    assert_eq!(domain.key.destination.as_ref().unwrap().as_str(), "DE");
    let back = sales_figure_to_wire(&domain, None);
    w.name = "salesFigures/f1".into();
    assert_eq!(back, w);
    assert_eq!(sales_figure_from_wire(id.clone(), &back).unwrap(), domain);

    // proto3's zero (every import written before the field) is an actual, shown as one
    w.nature = swire::FigureNature::Unspecified as i32;
    let domain = sales_figure_from_wire(id.clone(), &w).unwrap();
    assert_eq!(domain.nature, FigureNature::Actual);
    assert_eq!(
        sales_figure_to_wire(&domain, None).nature,
        swire::FigureNature::Actual as i32
    );

    w.nature = 7;
    let err = sales_figure_from_wire(id.clone(), &w).unwrap_err();
    assert_eq!(fields(&err), ["nature"]);
}

#[test]
fn a_destination_needs_flow_export_and_a_market_code() {
    let id = SalesFigureId::parse("f1").unwrap();
    let mut w = figure();
    w.series.as_mut().unwrap().destination = "de".into();
    let err = sales_figure_from_wire(id.clone(), &w).unwrap_err();
    assert_eq!(fields(&err), ["series.destination"]);
    let series = w.series.as_mut().unwrap();
    series.destination = "DE".into();
    series.flow = twire::Flow::Domestic as i32;
    let err = sales_figure_from_wire(id, &w).unwrap_err();
    assert_eq!(fields(&err), ["series.destination"]);
}

#[test]
fn ten_thousand_units_are_converted_exactly_on_input() {
    let mut w = figure();
    w.quantity = Some(swire::sales_figure::Quantity::TenThousandUnits(
        "69.49".into(),
    ));
    let domain = sales_figure_from_wire(SalesFigureId::parse("f1").unwrap(), &w).unwrap();
    assert_eq!(domain.units.get(), 694_900);

    w.quantity = Some(swire::sales_figure::Quantity::TenThousandUnits(
        "69.490001".into(),
    ));
    let err = sales_figure_from_wire(SalesFigureId::parse("f1").unwrap(), &w).unwrap_err();
    assert_eq!(fields(&err), ["ten_thousand_units"]);
}

#[test]
fn every_bad_sales_figure_field_is_reported_with_its_path() {
    let w = swire::SalesFigure {
        series: Some(twire::SeriesKey {
            basis: 0,
            flow: 42,
            market: "cn".into(),
            ..series("nissan-china")
        }),
        period: Some(twire::MonthRange {
            start: ym(2023, 11),
            end: ym(2023, 13),
        }),
        quantity: Some(swire::sales_figure::Quantity::Units(-5)),
        comparable_prior_units: Some(-1),
        source: String::new(),
        stage: 0,
        as_of_date: None,
        ..Default::default()
    };
    let err = sales_figure_from_wire(SalesFigureId::parse("f1").unwrap(), &w).unwrap_err();
    assert_eq!(
        fields(&err),
        [
            "series.organization",
            "series.basis",
            "series.flow",
            "series.market",
            "period.end.month",
            "units",
            "comparable_prior_units",
            "source",
            "stage",
            "as_of_date",
        ]
    );
}

#[test]
fn inverted_month_range_is_rejected_on_its_end() {
    let err = month_range_from_wire(&twire::MonthRange {
        start: ym(2023, 11),
        end: ym(2023, 1),
    })
    .unwrap_err();
    assert_eq!(fields(&err), ["end"]);
    let err = month_range_from_wire(&twire::MonthRange {
        start: None,
        end: None,
    })
    .unwrap_err();
    assert_eq!(fields(&err), ["start", "end"]);
    let range = MonthRange::year(2023).unwrap();
    assert_eq!(
        month_range_from_wire(&month_range_to_wire(range)).unwrap(),
        range
    );
}

#[test]
fn partial_dates_accept_only_the_fields_their_precision_needs() {
    for w in [
        partial(twire::DatePrecision::Day, 2024, 0, 2, 29),
        partial(twire::DatePrecision::Month, 2023, 0, 8, 0),
        partial(twire::DatePrecision::Quarter, 2023, 4, 0, 0),
        partial(twire::DatePrecision::Year, 2016, 0, 0, 0),
    ] {
        let d = partial_date_from_wire(&w).unwrap();
        assert_eq!(partial_date_to_wire(&d), w);
    }
    let err =
        partial_date_from_wire(&partial(twire::DatePrecision::Year, 2016, 0, 3, 0)).unwrap_err();
    assert_eq!(fields(&err), ["month"]);
    let err =
        partial_date_from_wire(&partial(twire::DatePrecision::Quarter, 1850, 5, 0, 0)).unwrap_err();
    assert_eq!(fields(&err), ["year", "quarter"]);
    let err =
        partial_date_from_wire(&partial(twire::DatePrecision::Day, 2023, 0, 2, 29)).unwrap_err();
    assert_eq!(fields(&err), ["day"]);
    let err = partial_date_from_wire(&partial(twire::DatePrecision::Unspecified, 2023, 0, 0, 0))
        .unwrap_err();
    assert_eq!(fields(&err), ["precision"]);
}

#[test]
fn every_bad_organization_field_is_reported_together() {
    let w = wire::Organization {
        name: "organizations/Not_A_Slug".into(),
        kind: 0,
        english_name: "  ".into(),
        aliases: vec!["DPCA".into(), "bad\u{7}alias".into()],
        country_code: "china".into(),
        ..Default::default()
    };
    let err = Organization::try_from(&w).unwrap_err();
    assert_eq!(
        fields(&err),
        ["name", "kind", "english_name", "aliases[1]", "country_code"]
    );
}

#[test]
fn unknown_enum_numbers_are_rejected_and_filters_accept_unspecified_as_any() {
    let mut w = organization();
    w.kind = 99;
    let err = Organization::try_from(&w).unwrap_err();
    assert_eq!(fields(&err), ["kind"]);
    assert!(err.violations()[0].description.contains("99"));

    assert_eq!(
        autointel_domain::OrganizationKind::from_wire_filter(0).unwrap(),
        None
    );
    assert!(autointel_domain::OrganizationKind::from_wire_filter(99).is_err());
}

#[test]
fn nested_violations_carry_list_indexes() {
    let mut w = event();
    w.participants.push(wire::EventParticipant {
        participant: None,
        role: String::new(),
    });
    w.quotes[0].language_code = "not a language".into();
    w.sources.push("articles/wrong-collection".into());
    let err = Event::try_from(&w).unwrap_err();
    assert_eq!(
        fields(&err),
        [
            "participants[2].participant",
            "quotes[0].language_code",
            "sources[1]"
        ]
    );
}

#[test]
fn cross_field_rules_are_reported_with_wire_paths() {
    let mut w = relationship();
    w.kind = wire::RelationshipKind::BrandOf as i32;
    w.child = w.parent.clone();
    w.valid_to_date = Some(partial(twire::DatePrecision::Year, 2001, 0, 0, 0));
    w.sources.clear();
    let err = Relationship::try_from(&w).unwrap_err();
    assert_eq!(
        fields(&err),
        ["child", "stake_basis_points", "valid_to_date", "sources"]
    );

    let mut w = partnership();
    w.parties.truncate(1);
    let err = Partnership::try_from(&w).unwrap_err();
    assert_eq!(fields(&err), ["parties"]);
}

#[test]
fn resource_names_must_name_the_right_collection() {
    assert!(autointel_domain::OrganizationId::from_resource_name("organizations/nissan").is_ok());
    for bad in [
        "",
        "nissan",
        "organizations/",
        "people/nissan",
        "organizations/nissan/extra",
    ] {
        assert!(
            autointel_domain::OrganizationId::from_resource_name(bad).is_err(),
            "{bad:?}"
        );
    }
}

#[test]
fn percent_decimals_default_to_one_and_stay_within_six() {
    assert_eq!(percent_decimals_from_wire(None).unwrap(), 1);
    assert_eq!(percent_decimals_from_wire(Some(0)).unwrap(), 0);
    assert!(percent_decimals_from_wire(Some(7)).is_err());
    assert!(percent_decimals_from_wire(Some(-1)).is_err());
}

#[test]
fn descriptor_set_describes_both_services() {
    use prost::Message;
    let set = prost_types::FileDescriptorSet::decode(autointel_proto::FILE_DESCRIPTOR_SET).unwrap();
    let services: Vec<String> = set
        .file
        .iter()
        .flat_map(|f| {
            f.service
                .iter()
                .map(move |s| format!("{}.{}", f.package(), s.name()))
        })
        .collect();
    assert!(services.contains(&"autointel.registry.v1.RegistryService".to_owned()));
    assert!(services.contains(&"autointel.stats.v1.StatsService".to_owned()));
}
