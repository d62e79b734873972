//! Series keys: interned into [`CompactKey`]s, looked up without interning, and filtered by
//! their interned dimensions.

use autointel_domain::{
    FigureNature, Flow, Market, MeasureBasis, OrganizationId, Powertrain, SeriesKey, VehicleScope,
};

use super::Engine;
use super::layout::{ACTUAL, CompactKey, Dims, NONE, enum_code, enum_value};

/// A filter on series keys by interned values; `None` matches any value.
#[derive(Copy, Clone, Debug)]
pub(super) struct KeyFilter {
    /// The organisation ([`NONE`] for the whole market).
    pub(super) organization: Option<u32>,
    market: Option<u32>,
    /// The destination ([`NONE`] for none); queries fix none, listings take any.
    destination: Option<u32>,
    basis: Option<u8>,
    flow: Option<u8>,
    scope: Option<u8>,
    powertrain: Option<u8>,
    /// The nature; queries fix [`ACTUAL`], listings take any.
    nature: Option<u8>,
}

impl KeyFilter {
    /// True when `k` has every value the filter fixes.
    pub(super) fn matches(&self, k: &CompactKey) -> bool {
        self.organization.is_none_or(|o| k.organization == o)
            && self.market.is_none_or(|m| k.market == m)
            && self.basis.is_none_or(|b| k.basis == b)
            && self.flow.is_none_or(|f| k.flow == f)
            && self.scope.is_none_or(|s| k.scope == s)
            && self.powertrain.is_none_or(|p| k.powertrain == p)
            && self.destination.is_none_or(|d| k.destination == d)
            && self.nature.is_none_or(|n| k.nature == n)
    }

    /// The dimensions besides the organisation, when the filter fixes every one of them.
    pub(super) fn dims(&self) -> Option<Dims> {
        Some(Dims {
            market: self.market?,
            destination: self.destination?,
            basis: self.basis?,
            flow: self.flow?,
            scope: self.scope?,
            powertrain: self.powertrain?,
            nature: self.nature?,
        })
    }

    /// The filter taking series of any destination and any nature (a listing shows
    /// forecasts and every destination; every other query reads destination-less actuals
    /// unless it names a destination).
    pub(super) fn any_destination_and_nature(self) -> Self {
        Self {
            destination: None,
            nature: None,
            ..self
        }
    }
}

/// The engine's code of a figure nature.
pub(super) fn nature_code(nature: FigureNature) -> u8 {
    enum_code(FigureNature::ALL, nature)
}

impl Engine {
    pub(super) fn intern_key(&mut self, key: &SeriesKey, nature: FigureNature) -> CompactKey {
        CompactKey {
            organization: key
                .organization
                .as_ref()
                .map_or(NONE, |o| self.organizations.intern(o)),
            market: self.markets.intern(&key.market),
            destination: key
                .destination
                .as_ref()
                .map_or(NONE, |d| self.markets.intern(d)),
            basis: enum_code(MeasureBasis::ALL, key.basis),
            flow: enum_code(Flow::ALL, key.flow),
            scope: enum_code(VehicleScope::ALL, key.scope),
            powertrain: enum_code(Powertrain::ALL, key.powertrain),
            nature: nature_code(nature),
        }
    }

    /// Adds a new series `s` to the indexes derived from its key: by organisation, by its
    /// other dimensions and, with a destination, by its origin.
    pub(super) fn index_series(&mut self, key: CompactKey, s: u32) {
        self.by_organization
            .entry(key.organization)
            .or_default()
            .push(s);
        self.by_dims.entry(key.dims()).or_default().push(s);
        if key.destination != NONE {
            let origin = CompactKey {
                destination: NONE,
                ..key
            };
            self.by_origin.entry(origin).or_default().push(s);
        }
    }

    /// The series with a destination whose key without it is `origin`'s (of `nature`).
    pub(super) fn destinations_of(&self, origin: &SeriesKey, nature: u8) -> &[u32] {
        self.lookup_key(origin, nature)
            .and_then(|k| self.by_origin.get(&k))
            .map_or(&[], Vec::as_slice)
    }

    /// The compact key of a series of `nature`, without interning; `None` when nothing
    /// was stored for its organisation, market or destination.
    fn lookup_key(&self, key: &SeriesKey, nature: u8) -> Option<CompactKey> {
        Some(CompactKey {
            organization: match &key.organization {
                Some(o) => self.organizations.get(o)?,
                None => NONE,
            },
            market: self.markets.get(&key.market)?,
            destination: match &key.destination {
                Some(d) => self.markets.get(d)?,
                None => NONE,
            },
            basis: enum_code(MeasureBasis::ALL, key.basis),
            flow: enum_code(Flow::ALL, key.flow),
            scope: enum_code(VehicleScope::ALL, key.scope),
            powertrain: enum_code(Powertrain::ALL, key.powertrain),
            nature,
        })
    }

    /// The series of the actuals of `key`: what every query reads.
    pub(super) fn series_of(&self, key: &SeriesKey) -> Option<u32> {
        self.series_of_nature(key, ACTUAL)
    }

    /// The series of the figures of `key` of one nature.
    pub(super) fn series_of_nature(&self, key: &SeriesKey, nature: u8) -> Option<u32> {
        self.lookup_key(key, nature)
            .and_then(|k| self.series.get(&k).copied())
    }

    pub(super) fn key_of(&self, k: &CompactKey) -> Option<SeriesKey> {
        let (organization, market, destination) = self.key_names(k)?;
        Some(SeriesKey {
            organization: organization.cloned(),
            basis: enum_value(MeasureBasis::ALL, k.basis)?,
            flow: enum_value(Flow::ALL, k.flow)?,
            market: market.clone(),
            scope: enum_value(VehicleScope::ALL, k.scope)?,
            powertrain: enum_value(Powertrain::ALL, k.powertrain)?,
            destination: destination.cloned(),
        })
    }

    /// The interned names of a key, borrowed: organisation (`None` for a whole market),
    /// market and destination.
    #[allow(clippy::type_complexity)]
    pub(super) fn key_names(
        &self,
        k: &CompactKey,
    ) -> Option<(Option<&OrganizationId>, &Market, Option<&Market>)> {
        let organization = if k.organization == NONE {
            None
        } else {
            Some(self.organizations.value(k.organization)?)
        };
        let destination = if k.destination == NONE {
            None
        } else {
            Some(self.markets.value(k.destination)?)
        };
        Some((organization, self.markets.value(k.market)?, destination))
    }

    /// The nature of the figures of a series.
    pub(super) fn nature_of(k: &CompactKey) -> Option<FigureNature> {
        enum_value(FigureNature::ALL, k.nature)
    }

    /// The interned dimensions of the actuals of `dims` (its organisation ignored); `None`
    /// when its market or destination was never stored.
    pub(super) fn lookup_dims(&self, dims: &SeriesKey) -> Option<Dims> {
        Some(Dims {
            market: self.markets.get(&dims.market)?,
            destination: match &dims.destination {
                Some(d) => self.markets.get(d)?,
                None => NONE,
            },
            basis: enum_code(MeasureBasis::ALL, dims.basis),
            flow: enum_code(Flow::ALL, dims.flow),
            scope: enum_code(VehicleScope::ALL, dims.scope),
            powertrain: enum_code(Powertrain::ALL, dims.powertrain),
            nature: ACTUAL,
        })
    }

    /// A filter on series keys: the organisation (`Some(None)` the whole market) and the
    /// other dimensions, each `None` for any value, of destination-less actuals (see
    /// [`KeyFilter::any_destination_and_nature`]). `None` when it fixes an organisation or
    /// market never stored: no series matches.
    pub(super) fn key_filter(
        &self,
        organization: Option<Option<&OrganizationId>>,
        market: Option<&Market>,
        basis: Option<MeasureBasis>,
        flow: Option<Flow>,
        scope: Option<VehicleScope>,
        powertrain: Option<Powertrain>,
    ) -> Option<KeyFilter> {
        Some(KeyFilter {
            organization: match organization {
                None => None,
                Some(None) => Some(NONE),
                Some(Some(o)) => Some(self.organizations.get(o)?),
            },
            market: match market {
                None => None,
                Some(m) => Some(self.markets.get(m)?),
            },
            destination: Some(NONE),
            nature: Some(ACTUAL),
            basis: basis.map(|b| enum_code(MeasureBasis::ALL, b)),
            flow: flow.map(|f| enum_code(Flow::ALL, f)),
            scope: scope.map(|s| enum_code(VehicleScope::ALL, s)),
            powertrain: powertrain.map(|p| enum_code(Powertrain::ALL, p)),
        })
    }
}
