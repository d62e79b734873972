//! The demo data of `autointel up --demo`: the benchmarks' synthetic market at a small size
//! ([`SHAPE`]: 30 organisations in 6 groups, 5 markets, 2022..2024, about 3,000 figures),
//! rendered as the registry's seed file and the importer's CSV, plus synthetic exports by
//! destination ([`EXPORT_DESTINATIONS`]) for the destination queries. Every figure and every
//! link cites one source, [`SOURCE_ID`], whose title says plainly that the data is synthetic.

use std::fmt::Write as _;

use anyhow::Result;

use crate::{Dataset, Shape, generate_shape};

/// Id of the one source every demo record cites.
pub const SOURCE_ID: &str = "synthetic-demo-data";
/// Publisher of the demo source.
pub const SOURCE_PUBLISHER: &str = "autointel";
/// Title of the demo source: what the data is, in plain words.
pub const SOURCE_TITLE: &str = "Synthetic demo data (autointel up --demo): not real sales";

/// The demo market: 30 organisations (6 groups with their joint ventures and brands),
/// 5 markets (CN, US, DE, JP, GB), 36 months (2022-01..2024-12).
pub const SHAPE: Shape = Shape {
    groups: 6,
    organizations: 30,
    markets: 5,
    first_year: 2022,
    months: 36,
};
/// About this many figures: the whole markets, every organisation's Chinese wholesale and
/// the other markets' whole markets (the generator's order of importance).
pub const FIGURES: usize = 3_000;
/// Seed of the demo data (the benchmarks' default seed).
pub const SEED: u64 = 20_240_101;
/// Last year of the demo data, the one example queries ask about.
pub const LAST_YEAR: i32 = 2024;

/// The demo dataset; the same every time.
pub fn dataset() -> Result<Dataset> {
    generate_shape(&SHAPE, FIGURES, SEED)
}

/// The figures in the importer's CSV format (with the `nature` and `destination` columns),
/// every one citing [`SOURCE_ID`]: the generated market, then [`exports_csv`]'s rows.
pub fn figures_csv(data: &Dataset) -> Result<String> {
    let mut out = Vec::new();
    data.write_figures(&mut out, |_| SOURCE_ID)?;
    let generated = String::from_utf8(out)?;
    let mut csv = String::with_capacity(generated.len() + generated.len() / 8 + (64 << 10));
    for (i, line) in generated.lines().enumerate() {
        csv.push_str(line);
        csv.push_str(if i == 0 {
            ",nature,destination\n"
        } else {
            ",,\n"
        });
    }
    csv.push_str(&exports_csv());
    Ok(csv)
}

/// Destinations of the synthetic exports and each one's share of an exporter's monthly
/// total, in per mille: six countries (74% together, so 26% is stated by no country) and
/// the region `EU`, which contains `BE` and other members not listed on their own (so it is
/// never added to the countries).
pub const EXPORT_DESTINATIONS: [(&str, u64); 7] = [
    ("RU", 240),
    ("MX", 160),
    ("BE", 120),
    ("AU", 90),
    ("SA", 70),
    ("GB", 60),
    ("EU", 200),
];
/// Months of the synthetic exports: 2023-01..2024-12.
const EXPORT_YEARS: [i32; 2] = [2023, 2024];
/// Exporting groups: the first of the demo's groups.
const EXPORTERS: usize = 6;
/// The whole market exports this many per mille of what the exporting groups do.
const MARKET_PER_MILLE: u64 = 1_250;

/// Synthetic wholesale passenger exports from CN by month, 2023..2024, as CSV rows (no
/// header; the columns of [`figures_csv`]): for each of the six groups and for the whole
/// market, the total for all destinations and one figure per destination of
/// [`EXPORT_DESTINATIONS`], deterministic. One figure is left out on purpose: `group-02`'s
/// exports to `AU` in 2024-07 (a destination missing a month has no total, never zero).
pub fn exports_csv() -> String {
    let mut csv = String::new();
    let row = |csv: &mut String, org: &str, year: i32, month: u8, units: u64, to: &str| {
        let (ay, am) = if month == 12 {
            (year + 1, 1)
        } else {
            (year, month + 1)
        };
        let _ = writeln!(
            csv,
            "{org},wholesale,export,CN,passenger,all,{year:04}-{month:02},{units},,,{SOURCE_ID},final,{ay:04}-{am:02}-15,,,{to}"
        );
    };
    for (y, &year) in EXPORT_YEARS.iter().enumerate() {
        for month in 1..=12u8 {
            let t = (y as u64) * 12 + u64::from(month) - 1;
            let mut market_total = 0u64;
            let mut market_to = [0u64; EXPORT_DESTINATIONS.len()];
            for g in 0..EXPORTERS {
                let org = format!("group-{g:02}");
                let base = 24_000 / (g as u64 + 1);
                // Growth of 2% a month and a jitter of up to 10%, the same every run.
                let total = base * (100 + 2 * t) / 100 + crate::hash2(g as u64, t) % (base / 10);
                market_total += total;
                row(&mut csv, &org, year, month, total, "");
                for (d, &(to, per_mille)) in EXPORT_DESTINATIONS.iter().enumerate() {
                    // Up to 3% either way around the destination's share.
                    let jitter = crate::hash2(g as u64 * 31 + d as u64, t) % 61;
                    let units = total * per_mille * (970 + jitter) / 1_000_000;
                    market_to[d] += units;
                    if (g, to, year, month) == (2, "AU", 2024, 7) {
                        continue;
                    }
                    row(&mut csv, &org, year, month, units, to);
                }
            }
            let market = |units: u64| units * MARKET_PER_MILLE / 1_000;
            row(&mut csv, "", year, month, market(market_total), "");
            for (d, &(to, _)) in EXPORT_DESTINATIONS.iter().enumerate() {
                row(&mut csv, "", year, month, market(market_to[d]), to);
            }
        }
    }
    csv
}

/// "Synthetic Group 00 JV 03" for `group-00-jv-03`.
pub fn english_name(id: &str) -> String {
    let words: Vec<String> = id
        .split('-')
        .map(|w| match w {
            "group" => "Group".to_owned(),
            "jv" => "JV".to_owned(),
            "brand" => "Brand".to_owned(),
            other => other.to_owned(),
        })
        .collect();
    format!("Synthetic {}", words.join(" "))
}

/// The synthetic stake of a group in each of its joint ventures: half (the other half is
/// held by partners the demo does not model, so equity-share rollups have a remainder).
const JOINT_VENTURE_STAKE_BASIS_POINTS: u16 = 5_000;

/// The link from organisation `i` to its parent, if it has one (id, kind, parent, child):
/// `joint_venture_partner` for a joint venture (with [`JOINT_VENTURE_STAKE_BASIS_POINTS`]),
/// `brand_of` for a brand (no stake: wholly held).
fn link(data: &Dataset, i: usize) -> Option<(String, &'static str, &str, &str)> {
    let parent = data.orgs[data.parents[i]?].as_str();
    let child = data.orgs[i].as_str();
    Some(match data.kind(i) {
        autointel_domain::OrganizationKind::JointVenture => (
            format!("{parent}-in-{child}"),
            "joint_venture_partner",
            parent,
            child,
        ),
        _ => (
            format!("{child}-brand-of-{parent}"),
            "brand_of",
            parent,
            child,
        ),
    })
}

/// The hierarchy of `data` as the registry holds it (the links [`registry_toml`] writes):
/// what the benchmarks' rankings of groups roll up over.
pub fn relationships(data: &Dataset) -> Result<Vec<autointel_domain::Relationship>> {
    use autointel_domain::{RelationshipId, RelationshipKind, SourceId, Stake};
    let err = |e: autointel_domain::ValueError| anyhow::anyhow!("{e}");
    (0..data.orgs.len())
        .filter_map(|i| link(data, i))
        .map(|(id, kind, parent, child)| {
            let joint_venture = kind == "joint_venture_partner";
            Ok(autointel_domain::Relationship {
                id: RelationshipId::parse(&id).map_err(err)?,
                kind: if joint_venture {
                    RelationshipKind::JointVenturePartner
                } else {
                    RelationshipKind::BrandOf
                },
                parent: autointel_domain::OrganizationId::parse(parent).map_err(err)?,
                child: autointel_domain::OrganizationId::parse(child).map_err(err)?,
                stake: if joint_venture {
                    Some(
                        Stake::from_basis_points(u32::from(JOINT_VENTURE_STAKE_BASIS_POINTS))
                            .map_err(err)?,
                    )
                } else {
                    None
                },
                valid_from_date: None,
                valid_to_date: None,
                sources: vec![SourceId::parse(SOURCE_ID).map_err(err)?],
                controls: false,
            })
        })
        .collect()
}

/// The source, organisations and hierarchy in the format of the registry's seed file
/// (`data/seed/registry.toml`), for `autointel_registry::seed::load_str`.
pub fn registry_toml(data: &Dataset) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "# {SOURCE_TITLE}: generated by autointel-dataset, seed {SEED}.\n"
    );
    let _ = writeln!(
        t,
        "[[sources]]\nid = \"{SOURCE_ID}\"\nkind = \"other\"\npublisher = \"{SOURCE_PUBLISHER}\"\ntitle = \"{SOURCE_TITLE}\"\n"
    );
    for (i, o) in data.orgs.iter().enumerate() {
        let _ = writeln!(
            t,
            "[[organizations]]\nid = \"{}\"\nkind = \"{}\"\nenglish_name = \"{}\"\n",
            o.as_str(),
            data.kind(i).as_str(),
            english_name(o.as_str()),
        );
    }
    for i in 0..data.orgs.len() {
        if let Some((id, kind, parent, child)) = link(data, i) {
            let stake = if kind == "joint_venture_partner" {
                format!(
                    "stake_percent = \"{}\"\n",
                    JOINT_VENTURE_STAKE_BASIS_POINTS / 100
                )
            } else {
                String::new()
            };
            let _ = writeln!(
                t,
                "[[relationships]]\nid = \"{id}\"\nkind = \"{kind}\"\nparent = \"{parent}\"\nchild = \"{child}\"\n{stake}sources = [\"{SOURCE_ID}\"]\n"
            );
        }
    }
    t
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_demo_is_small_deterministic_and_cites_only_the_synthetic_source() {
        let data = dataset().unwrap();
        assert_eq!(data.orgs.len(), 30);
        assert_eq!(data.parents.iter().filter(|p| p.is_none()).count(), 6);
        assert!(
            (FIGURES..FIGURES + 200).contains(&data.figures.len()),
            "{}",
            data.figures.len()
        );
        let csv = figures_csv(&data).unwrap();
        assert_eq!(csv, figures_csv(&dataset().unwrap()).unwrap());
        let rows: Vec<&str> = csv.lines().skip(1).collect();
        // 24 months × 7 exporters × (1 + 7 destinations), less the one left out.
        let exports = 24 * 7 * 8 - 1;
        assert_eq!(rows.len(), data.figures.len() + exports);
        assert_eq!(
            rows.iter().filter(|r| r.contains(",export,")).count(),
            exports,
            "the generated market has no exports of its own"
        );
        assert!(rows.iter().all(|r| r.contains(",synthetic-demo-data,")));
        // Five markets, 2022..2024 only.
        for market in ["CN", "US", "DE", "JP", "GB"] {
            assert!(rows.iter().any(|r| r.contains(&format!(",{market},"))));
        }
        assert!(
            rows.iter()
                .all(|r| ["2022-", "2023-", "2024-"].iter().any(|y| r.contains(y)))
        );
        assert!(
            !rows
                .iter()
                .any(|r| r.contains(",FR,") || r.contains("2021-"))
        );
    }

    #[test]
    fn the_demo_exports_state_most_destinations_and_leave_one_month_out() {
        let csv = exports_csv();
        let units = |line: &str| line.split(',').nth(7).unwrap().parse::<u64>().unwrap();
        // group-00 in 2024-01: the countries add up to less than the total.
        let month: Vec<&str> = csv
            .lines()
            .filter(|l| l.starts_with("group-00,") && l.contains(",2024-01,"))
            .collect();
        assert_eq!(month.len(), 8);
        let total = units(month[0]);
        assert!(month[0].ends_with(",,,"));
        let countries: u64 = month[1..7].iter().map(|l| units(l)).sum();
        assert!(
            countries < total && countries * 100 > total * 70,
            "{countries} of {total}"
        );
        assert!(month[7].ends_with(",EU"));
        let group_02_july = |to: &str| {
            csv.lines().any(|l| {
                l.starts_with("group-02,")
                    && l.contains(",2024-07,")
                    && l.ends_with(&format!(",{to}"))
            })
        };
        assert!(group_02_july("RU") && !group_02_july("AU"));
    }

    #[test]
    fn the_registry_file_names_every_organisation_and_link() {
        let data = dataset().unwrap();
        let toml = registry_toml(&data);
        assert_eq!(toml.matches("[[sources]]").count(), 1);
        assert!(toml.contains(SOURCE_TITLE));
        assert_eq!(toml.matches("[[organizations]]").count(), 30);
        assert_eq!(toml.matches("[[relationships]]").count(), 24);
        assert!(toml.contains(
            "id = \"group-00-in-group-00-jv-00\"\nkind = \"joint_venture_partner\"\nparent = \"group-00\"\nchild = \"group-00-jv-00\""
        ));
        assert!(toml.contains(
            "kind = \"brand_of\"\nparent = \"group-00-jv-00\"\nchild = \"group-00-brand-01\""
        ));
        assert!(toml.contains("english_name = \"Synthetic Group 00 JV 00\""));
    }
}
