//! Closed vocabularies of the domain.
//!
//! Every enum has a stable snake_case token (`as_str`, `FromStr`, `Display`) used for SQL
//! storage and the CLI; the token of a variant never changes once released. There is no
//! "unspecified" variant: the wire's `*_UNSPECIFIED = 0` is rejected at the edge.

use crate::validation::ValueError;

macro_rules! domain_enum {
    (
        $(#[$doc:meta])*
        $name:ident {
            $( $(#[$vdoc:meta])* $variant:ident => $token:literal ),+ $(,)?
        }
    ) => {
        $(#[$doc])*
        #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vdoc])* $variant ),+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [Self] = &[ $( Self::$variant ),+ ];

            /// The stable snake_case token of this variant.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( Self::$variant => $token ),+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = ValueError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $( $token => Ok(Self::$variant), )+
                    _ => Err(ValueError(format!(
                        concat!("unknown ", stringify!($name), " {}; expected one of: {}"),
                        $crate::validation::Shown(s),
                        Self::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
                    ))),
                }
            }
        }
    };
}
pub(crate) use domain_enum;

domain_enum!(
    /// What kind of entity an organisation is.
    OrganizationKind {
        /// A group holding several companies (e.g. Dongfeng Motor Group).
        Group => "group",
        /// A vehicle manufacturer.
        Automaker => "automaker",
        /// A joint-venture company (e.g. Dongfeng Nissan).
        JointVenture => "joint_venture",
        /// A vehicle brand (e.g. Venucia).
        Brand => "brand",
        /// A production plant.
        Plant => "plant",
        /// A university or research institution.
        University => "university",
        /// A government body or agency.
        Government => "government",
        /// A parts or technology supplier.
        Supplier => "supplier",
        /// Anything else.
        Other => "other",
    }
);

domain_enum!(
    /// A typed, directed link from a parent organisation to a child organisation.
    RelationshipKind {
        /// The parent owns (a stake in) the child.
        Owns => "owns",
        /// The child is a subsidiary of the parent.
        SubsidiaryOf => "subsidiary_of",
        /// The child is a brand of the parent.
        BrandOf => "brand_of",
        /// The parent operates the child plant.
        OperatesPlant => "operates_plant",
        /// The parent is a partner (shareholder) of the joint venture child.
        JointVenturePartner => "joint_venture_partner",
    }
);

impl RelationshipKind {
    /// True when this kind of relationship may carry an ownership stake.
    pub fn carries_stake(self) -> bool {
        matches!(self, Self::Owns | Self::JointVenturePartner)
    }
}

domain_enum!(
    /// What kind of collaboration a partnership is.
    PartnershipKind {
        /// A jointly owned company.
        JointVenture => "joint_venture",
        /// A joint research centre (e.g. Nissan–Tsinghua).
        JointResearchCentre => "joint_research_centre",
        /// Sharing of a vehicle platform or architecture.
        PlatformSharing => "platform_sharing",
        /// A plant designated as an export base for a partner.
        ExportBase => "export_base",
        /// Licensing of technology.
        TechnologyLicensing => "technology_licensing",
        /// A supply agreement.
        Supply => "supply",
        /// A memorandum of understanding.
        MemorandumOfUnderstanding => "memorandum_of_understanding",
        /// Anything else.
        Other => "other",
    }
);

domain_enum!(
    /// Life-cycle status of a partnership.
    PartnershipStatus {
        /// Announced but not yet in effect.
        Announced => "announced",
        /// In effect.
        Active => "active",
        /// Ran its course and ended.
        Ended => "ended",
        /// Called off.
        Cancelled => "cancelled",
    }
);

impl PartnershipStatus {
    /// True when a partnership may move from `self` to `next` (staying put is allowed).
    pub fn can_transition_to(self, next: Self) -> bool {
        use PartnershipStatus::*;
        self == next
            || matches!(
                (self, next),
                (Announced, Active | Cancelled | Ended) | (Active, Ended | Cancelled)
            )
    }

    /// True for `Ended` and `Cancelled`, from which no other status is reachable.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Ended | Self::Cancelled)
    }
}

domain_enum!(
    /// What kind of thing happened.
    EventKind {
        /// A partnership was announced.
        PartnershipAnnounced => "partnership_announced",
        /// A plant was designated an export base.
        ExportBaseDesignated => "export_base_designated",
        /// An organisational change (new division, merger, renaming).
        OrganizationChange => "organization_change",
        /// A quantitative target was announced.
        TargetAnnounced => "target_announced",
        /// A statement by an executive or official.
        Statement => "statement",
        /// Sales figures were reported.
        SalesReport => "sales_report",
        /// A product was launched.
        ProductLaunch => "product_launch",
        /// An investment was made or announced.
        Investment => "investment",
        /// Anything else.
        Other => "other",
        /// A market imposed, changed or lifted a tariff on imported vehicles.
        Tariff => "tariff",
        /// A market set or changed an import quota.
        Quota => "quota",
        /// A market banned or restricted imports (or a country its exports).
        TradeBan => "trade_ban",
        /// A plant opened or started series production.
        PlantOpening => "plant_opening",
    }
);

domain_enum!(
    /// How reliable an event report currently is.
    EventStatus {
        /// Reported, not yet confirmed.
        Reported => "reported",
        /// Confirmed by a party or an official source.
        Confirmed => "confirmed",
        /// Clarified: the parties corrected part of the report.
        Clarified => "clarified",
        /// Did not happen or was called off.
        Cancelled => "cancelled",
        /// Replaced by a corrected event (see `superseded_by`).
        Superseded => "superseded",
    }
);

domain_enum!(
    /// Who published a source.
    SourceKind {
        /// An industry association (CAAM, CPCA).
        Association => "association",
        /// Customs statistics.
        Customs => "customs",
        /// A company press release.
        CompanyRelease => "company_release",
        /// A stock-exchange filing.
        ExchangeFiling => "exchange_filing",
        /// A news article.
        News => "news",
        /// Anything else.
        Other => "other",
    }
);

domain_enum!(
    /// What a sales figure counts.
    MeasureBasis {
        /// Dealer to customer sales.
        Retail => "retail",
        /// Factory to dealer shipments.
        Wholesale => "wholesale",
        /// Vehicles produced.
        Production => "production",
        /// Vehicle registrations (insurance or licence).
        Registrations => "registrations",
        /// Deliveries to customers as reported by the maker.
        Deliveries => "deliveries",
        /// The company's own headline figure, possibly mixing bases.
        CompanyReported => "company_reported",
    }
);

domain_enum!(
    /// Which direction of trade a figure covers.
    Flow {
        /// Sold in the market itself.
        Domestic => "domestic",
        /// Exported from the market.
        Export => "export",
        /// Domestic and export together.
        Total => "total",
    }
);

domain_enum!(
    /// Which vehicle segment a figure covers.
    VehicleScope {
        /// Passenger vehicles.
        Passenger => "passenger",
        /// Light commercial vehicles.
        LightCommercial => "light_commercial",
        /// Commercial vehicles.
        Commercial => "commercial",
        /// All vehicles.
        All => "all",
    }
);

domain_enum!(
    /// Which powertrain a figure covers.
    Powertrain {
        /// Internal combustion engine.
        Ice => "ice",
        /// Battery electric.
        Bev => "bev",
        /// Plug-in hybrid.
        Phev => "phev",
        /// Extended-range electric.
        Erev => "erev",
        /// Non-plug-in hybrid.
        Hev => "hev",
        /// Fuel-cell electric.
        Fcev => "fcev",
        /// New-energy vehicles (Chinese category: BEV + PHEV/EREV + FCEV).
        Nev => "nev",
        /// All powertrains.
        All => "all",
    }
);

domain_enum!(
    /// Release stage of a figure; declaration order is revision order (later supersedes).
    ReleaseStage {
        /// An estimate (e.g. CPCA's month-end estimate).
        Estimate => "estimate",
        /// A preliminary figure.
        Preliminary => "preliminary",
        /// The final figure.
        Final => "final",
        /// A restatement of a final figure.
        Restated => "restated",
    }
);

domain_enum!(
    /// Whether a figure counts what happened or states what is expected. Every query
    /// answers from actuals; forecasts are stored and listed, and a forecast never revises
    /// an actual nor an actual a forecast.
    FigureNature {
        /// A count of what happened (the default).
        Actual => "actual",
        /// A forecast, plan or target stated as a figure; its source and as-of date say
        /// who made it and when.
        Forecast => "forecast",
    }
);

domain_enum!(
    /// How precisely a date is known; declared finest first.
    DatePrecision {
        /// A calendar day.
        Day => "day",
        /// A calendar month.
        Month => "month",
        /// A calendar quarter.
        Quarter => "quarter",
        /// A calendar year.
        Year => "year",
    }
);

domain_enum!(
    /// How an actual value is compared with a target threshold.
    Comparator {
        /// Actual > threshold.
        GreaterThan => "greater_than",
        /// Actual ≥ threshold.
        GreaterOrEqual => "greater_or_equal",
        /// Actual < threshold.
        LessThan => "less_than",
        /// Actual ≤ threshold.
        LessOrEqual => "less_or_equal",
    }
);

impl Comparator {
    /// True when `actual` satisfies this comparison against `threshold`.
    pub fn holds(self, actual: u64, threshold: u64) -> bool {
        match self {
            Self::GreaterThan => actual > threshold,
            Self::GreaterOrEqual => actual >= threshold,
            Self::LessThan => actual < threshold,
            Self::LessOrEqual => actual <= threshold,
        }
    }
}

domain_enum!(
    /// Whether a target has been reached.
    TargetStatus {
        /// Not yet decided.
        Open => "open",
        /// Reached.
        Met => "met",
        /// Not reached by its deadline.
        Missed => "missed",
        /// Abandoned by its owner.
        Withdrawn => "withdrawn",
    }
);

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::str::FromStr;

    fn tokens_round_trip<T>(all: &[T])
    where
        T: Copy + std::fmt::Display + FromStr<Err = ValueError> + PartialEq + std::fmt::Debug,
    {
        let mut seen = HashSet::new();
        for v in all {
            let token = v.to_string();
            assert!(seen.insert(token.clone()), "duplicate token {token}");
            assert!(
                token
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit()),
                "{token} is not snake_case"
            );
            assert_eq!(T::from_str(&token).unwrap(), *v);
        }
    }

    #[test]
    fn every_enum_token_is_unique_snake_case_and_round_trips() {
        tokens_round_trip(OrganizationKind::ALL);
        tokens_round_trip(RelationshipKind::ALL);
        tokens_round_trip(PartnershipKind::ALL);
        tokens_round_trip(PartnershipStatus::ALL);
        tokens_round_trip(EventKind::ALL);
        tokens_round_trip(EventStatus::ALL);
        tokens_round_trip(SourceKind::ALL);
        tokens_round_trip(MeasureBasis::ALL);
        tokens_round_trip(Flow::ALL);
        tokens_round_trip(VehicleScope::ALL);
        tokens_round_trip(Powertrain::ALL);
        tokens_round_trip(ReleaseStage::ALL);
        tokens_round_trip(FigureNature::ALL);
        tokens_round_trip(DatePrecision::ALL);
        tokens_round_trip(Comparator::ALL);
        tokens_round_trip(TargetStatus::ALL);
    }

    #[test]
    fn enum_parsing_rejects_unknown_and_differently_cased_tokens() {
        assert!("JointVenture".parse::<OrganizationKind>().is_err());
        assert!("Joint_Venture".parse::<OrganizationKind>().is_err());
        assert!("".parse::<Flow>().is_err());
        assert!("unspecified".parse::<Flow>().is_err());
        assert_eq!(
            "joint_venture".parse::<OrganizationKind>().unwrap(),
            OrganizationKind::JointVenture
        );
    }

    #[test]
    fn only_ownership_and_jv_partner_relationships_carry_stakes() {
        let carrying: Vec<_> = RelationshipKind::ALL
            .iter()
            .filter(|k| k.carries_stake())
            .copied()
            .collect();
        assert_eq!(
            carrying,
            vec![
                RelationshipKind::Owns,
                RelationshipKind::JointVenturePartner
            ]
        );
    }

    #[test]
    fn partnership_status_moves_forward_only() {
        use PartnershipStatus::*;
        assert!(Announced.can_transition_to(Active));
        assert!(Announced.can_transition_to(Cancelled));
        assert!(Announced.can_transition_to(Ended));
        assert!(Active.can_transition_to(Ended));
        assert!(Active.can_transition_to(Cancelled));
        assert!(!Active.can_transition_to(Announced));
        assert!(!Ended.can_transition_to(Active));
        assert!(!Cancelled.can_transition_to(Ended));
        for s in PartnershipStatus::ALL {
            assert!(s.can_transition_to(*s), "{s} to itself");
        }
    }

    #[test]
    fn release_stage_order_is_revision_order() {
        assert!(ReleaseStage::Estimate < ReleaseStage::Preliminary);
        assert!(ReleaseStage::Preliminary < ReleaseStage::Final);
        assert!(ReleaseStage::Final < ReleaseStage::Restated);
    }

    #[test]
    fn comparator_holds_at_and_around_threshold() {
        assert!(Comparator::GreaterOrEqual.holds(200_000, 200_000));
        assert!(!Comparator::GreaterThan.holds(200_000, 200_000));
        assert!(Comparator::GreaterThan.holds(200_001, 200_000));
        assert!(Comparator::LessOrEqual.holds(5, 5));
        assert!(!Comparator::LessThan.holds(5, 5));
        assert!(Comparator::LessThan.holds(4, 5));
    }
}
