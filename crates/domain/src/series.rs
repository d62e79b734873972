//! Identity of a statistical series: who, what measure, which market and segment.
//!
//! A concept is (measure basis, flow, market, scope, powertrain) for one organisation or the
//! whole market; figures are only ever added up or compared within one series key.

use std::fmt;
use std::str::FromStr;

use crate::enums::{Flow, MeasureBasis, Powertrain, VehicleScope};
use crate::ids::OrganizationId;
use crate::validation::{ValidationError, ValueError, Violations};

/// A market code: 2–16 characters of `A`–`Z`, `0`–`9` and `-`, e.g. `CN`, `EU`, `GLOBAL`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Market(String);

impl Market {
    /// Parses a market code (case-sensitive: codes are uppercase).
    pub fn parse(code: &str) -> Result<Self, ValueError> {
        let valid_chars = code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-');
        if !(2..=16).contains(&code.len()) || !valid_chars {
            return Err(ValueError(format!(
                "market must be 2-16 characters of A-Z, 0-9 and '-' (got {})",
                crate::validation::Shown(code)
            )));
        }
        Ok(Self(code.to_owned()))
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True for a region code rather than one country: every code but two letters
    /// (`GLOBAL`, `ASEAN`, `G20`), and the two-letter codes ISO 3166-1 reserves for unions
    /// (`EU`, `EZ`, `UN`). A region may contain countries stated beside it, so a region's
    /// units are never added to countries' (the engine keeps no membership lists).
    pub fn is_region(&self) -> bool {
        let two_letters = self.0.len() == 2 && self.0.bytes().all(|b| b.is_ascii_uppercase());
        !two_letters || matches!(self.0.as_str(), "EU" | "EZ" | "UN")
    }
}

impl fmt::Display for Market {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Market {
    type Err = ValueError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// The dimensions that identify one statistical series.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeriesKey {
    /// The organisation the figures are about; `None` is the whole market as published by an
    /// association.
    pub organization: Option<OrganizationId>,
    /// What is counted (retail, wholesale, production, …).
    pub basis: MeasureBasis,
    /// Domestic, export or both.
    pub flow: Flow,
    /// Which market.
    pub market: Market,
    /// Which vehicle segment.
    pub scope: VehicleScope,
    /// Which powertrain.
    pub powertrain: Powertrain,
    /// Where an export goes (same code rules as `market`); `None` for all destinations or
    /// not stated. Only flow `export` has one. A destination makes a series of its own:
    /// destinations are never added up into the destination-less series.
    pub destination: Option<Market>,
}

impl SeriesKey {
    /// Checks cross-field invariants: only an export names a destination.
    pub fn validate(&self) -> Result<(), ValidationError> {
        let mut v = Violations::new();
        if self.destination.is_some() && self.flow != Flow::Export {
            v.push(
                "destination",
                format!(
                    "only flow export may name a destination (flow is {})",
                    self.flow
                ),
            );
        }
        v.finish()
    }
}

impl fmt::Display for SeriesKey {
    /// `nissan-china/company_reported/total/CN/all/all`; `*` for the whole market; an
    /// export's destination follows as `>DE`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let organization = self.organization.as_ref().map_or("*", |o| o.as_str());
        write!(
            f,
            "{organization}/{}/{}/{}/{}/{}",
            self.basis, self.flow, self.market, self.scope, self.powertrain
        )?;
        if let Some(destination) = &self.destination {
            write!(f, ">{destination}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn market_accepts_uppercase_codes_only() {
        for ok in ["CN", "EU", "GLOBAL", "CN-EXPORT", "G20"] {
            assert_eq!(Market::parse(ok).unwrap().as_str(), ok);
        }
        for bad in ["C", "cn", "Cn", "CN ", "", "ABCDEFGHIJKLMNOPQ", "中国"] {
            assert!(Market::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn regions_are_codes_other_than_two_letters_and_the_reserved_unions() {
        for region in [
            "EU",
            "EZ",
            "UN",
            "GLOBAL",
            "ASEAN",
            "G20",
            "CN-EXPORT",
            "X1",
        ] {
            assert!(Market::parse(region).unwrap().is_region(), "{region}");
        }
        for country in ["DE", "BR", "GB", "CN", "AU"] {
            assert!(!Market::parse(country).unwrap().is_region(), "{country}");
        }
    }

    #[test]
    fn series_key_displays_every_dimension() {
        let key = SeriesKey {
            organization: Some(OrganizationId::parse("nissan-china").unwrap()),
            basis: MeasureBasis::CompanyReported,
            flow: Flow::Total,
            market: Market::parse("CN").unwrap(),
            scope: VehicleScope::All,
            powertrain: Powertrain::All,
            destination: None,
        };
        assert_eq!(
            key.to_string(),
            "nissan-china/company_reported/total/CN/all/all"
        );
    }

    #[test]
    fn only_an_export_names_a_destination() {
        let mut key = SeriesKey {
            organization: None,
            basis: MeasureBasis::Wholesale,
            flow: Flow::Export,
            market: Market::parse("CN").unwrap(),
            scope: VehicleScope::Passenger,
            powertrain: Powertrain::All,
            destination: Some(Market::parse("DE").unwrap()),
        };
        assert_eq!(key.validate(), Ok(()));
        assert_eq!(key.to_string(), "*/wholesale/export/CN/passenger/all>DE");
        key.flow = Flow::Domestic;
        assert_eq!(key.validate().unwrap_err().fields(), ["destination"]);
        key.destination = None;
        assert_eq!(key.validate(), Ok(()));
    }
}
