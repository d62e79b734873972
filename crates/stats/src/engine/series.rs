//! Series keys: interned into [`CompactKey`]s, looked up without interning, and filtered by
//! their interned dimensions.

use autointel_domain::{
    Flow, Market, MeasureBasis, OrganizationId, Powertrain, SeriesKey, VehicleScope,
};

use super::Engine;
use super::layout::{CompactKey, Dims, NONE, enum_code, enum_value};

/// A filter on series keys by interned values; `None` matches any value.
#[derive(Copy, Clone, Debug)]
pub(super) struct KeyFilter {
    /// The organisation ([`NONE`] for the whole market).
    pub(super) organization: Option<u32>,
    market: Option<u32>,
    basis: Option<u8>,
    flow: Option<u8>,
    scope: Option<u8>,
    powertrain: Option<u8>,
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
    }

    /// The dimensions besides the organisation, when the filter fixes every one of them.
    pub(super) fn dims(&self) -> Option<Dims> {
        Some(Dims {
            market: self.market?,
            basis: self.basis?,
            flow: self.flow?,
            scope: self.scope?,
            powertrain: self.powertrain?,
        })
    }
}

impl Engine {
    pub(super) fn intern_key(&mut self, key: &SeriesKey) -> CompactKey {
        CompactKey {
            organization: key
                .organization
                .as_ref()
                .map_or(NONE, |o| self.organizations.intern(o)),
            market: self.markets.intern(&key.market),
            basis: enum_code(MeasureBasis::ALL, key.basis),
            flow: enum_code(Flow::ALL, key.flow),
            scope: enum_code(VehicleScope::ALL, key.scope),
            powertrain: enum_code(Powertrain::ALL, key.powertrain),
        }
    }

    /// The compact key of a series, without interning; `None` when nothing was stored for
    /// its organisation or market.
    fn lookup_key(&self, key: &SeriesKey) -> Option<CompactKey> {
        Some(CompactKey {
            organization: match &key.organization {
                Some(o) => self.organizations.get(o)?,
                None => NONE,
            },
            market: self.markets.get(&key.market)?,
            basis: enum_code(MeasureBasis::ALL, key.basis),
            flow: enum_code(Flow::ALL, key.flow),
            scope: enum_code(VehicleScope::ALL, key.scope),
            powertrain: enum_code(Powertrain::ALL, key.powertrain),
        })
    }

    pub(super) fn series_of(&self, key: &SeriesKey) -> Option<u32> {
        self.lookup_key(key)
            .and_then(|k| self.series.get(&k).copied())
    }

    pub(super) fn key_of(&self, k: &CompactKey) -> Option<SeriesKey> {
        Some(SeriesKey {
            organization: if k.organization == NONE {
                None
            } else {
                Some(self.organizations.value(k.organization)?.clone())
            },
            basis: enum_value(MeasureBasis::ALL, k.basis)?,
            flow: enum_value(Flow::ALL, k.flow)?,
            market: self.markets.value(k.market)?.clone(),
            scope: enum_value(VehicleScope::ALL, k.scope)?,
            powertrain: enum_value(Powertrain::ALL, k.powertrain)?,
        })
    }

    /// The interned dimensions of `dims` (its organisation ignored); `None` when its market
    /// was never stored.
    pub(super) fn lookup_dims(&self, dims: &SeriesKey) -> Option<Dims> {
        Some(Dims {
            market: self.markets.get(&dims.market)?,
            basis: enum_code(MeasureBasis::ALL, dims.basis),
            flow: enum_code(Flow::ALL, dims.flow),
            scope: enum_code(VehicleScope::ALL, dims.scope),
            powertrain: enum_code(Powertrain::ALL, dims.powertrain),
        })
    }

    /// A filter on series keys: the organisation (`Some(None)` the whole market) and the
    /// other dimensions, each `None` for any value. `None` when it fixes an organisation or
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
            basis: basis.map(|b| enum_code(MeasureBasis::ALL, b)),
            flow: flow.map(|f| enum_code(Flow::ALL, f)),
            scope: scope.map(|s| enum_code(VehicleScope::ALL, s)),
            powertrain: powertrain.map(|p| enum_code(Powertrain::ALL, p)),
        })
    }
}
