//! A figure's fields borrowed from the engine, for columnar output (Arrow Flight): what
//! [`Engine::figure`] gives, without building a domain value or allocating a string.

use std::fmt;

use autointel_domain::{
    FigureNature, Flow, Market, MeasureBasis, MonthRange, OrganizationId, Powertrain, ReleaseStage,
    SourceId, VehicleScope,
};

use super::layout::{as_of_to_day_code, enum_value, range_from_codes};
use super::{Engine, FigureRef, date_from_code};
use autointel_domain::Date;

/// A figure's resource name (`salesFigures/f…`, as [`super::figure_id`] names it), written
/// without allocating.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FigureName(pub u128);

impl fmt::Display for FigureName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // 32 lowercase hex digits, as `{:032x}` writes them, without the formatter's
        // generic padding (this runs once a name in a stream of millions).
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut hex = [0u8; 32];
        for (i, digit) in hex.iter_mut().enumerate() {
            *digit = DIGITS[((self.0 >> (124 - 4 * i)) & 0xf) as usize];
        }
        f.write_str("salesFigures/f")?;
        f.write_str(std::str::from_utf8(&hex).map_err(|_| fmt::Error)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_the_one_figure_id_gives() {
        for n in [
            0,
            1,
            0xdead_beef,
            u128::MAX,
            0x0190_0000_0000_7000_8000_0000_0000_0001,
        ] {
            let id = super::super::figure_id(n).map(|id| format!("salesFigures/{}", id.as_str()));
            assert_eq!(Some(FigureName(n).to_string()), id);
        }
    }
}

/// A figure's fields, borrowed.
#[derive(Clone, Copy, Debug)]
pub struct FigureView<'a> {
    /// Its resource name.
    pub name: FigureName,
    /// Organisation; `None` for a whole market.
    pub organization: Option<&'a OrganizationId>,
    /// Measure basis.
    pub basis: MeasureBasis,
    /// Flow.
    pub flow: Flow,
    /// Market.
    pub market: &'a Market,
    /// Vehicle scope.
    pub scope: VehicleScope,
    /// Powertrain.
    pub powertrain: Powertrain,
    /// An export's destination market.
    pub destination: Option<&'a Market>,
    /// Actual or forecast.
    pub nature: FigureNature,
    /// Its months.
    pub period: MonthRange,
    /// Whole vehicles.
    pub units: u64,
    /// The like-for-like base, when stated.
    pub comparable_prior: Option<u64>,
    /// Source.
    pub source: &'a SourceId,
    /// Release stage.
    pub stage: ReleaseStage,
    /// As-of date.
    pub as_of: Date,
    /// The revision of the same source it follows (at the mark asked for).
    pub supersedes: Option<FigureName>,
    /// The revision of the same source that follows it (at the mark asked for).
    pub superseded_by: Option<FigureName>,
    /// The source's remarks.
    pub note: Option<&'a str>,
    /// Import time, microseconds since the Unix epoch.
    pub create_time_micros: i64,
}

/// A listed figure and its place in its series' entries (what
/// [`Engine::list_group_figures`] gives), so that viewing it needs no search for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Listed {
    /// The figure.
    pub figure: FigureRef,
    /// Its position in its series' entries.
    pub(super) at: u32,
}

impl Engine {
    /// A figure's fields as the engine held them at `mark` (its neighbours among the
    /// figures stored up to it; `None`: as it holds them now).
    pub fn view(&self, f: FigureRef, mark: Option<i64>) -> Option<FigureView<'_>> {
        let (list, pos) = self.entry_of(f)?;
        self.view_in(f, list, pos, mark)
    }

    /// A figure with its place in its series' entries.
    pub fn listed(&self, f: FigureRef) -> Option<Listed> {
        let (_, pos) = self.entry_of(f)?;
        let at = u32::try_from(pos).ok()?;
        Some(Listed { figure: f, at })
    }

    /// [`Engine::view`] of a figure listed at `mark` under the same hold of the engine.
    pub fn view_listed(&self, l: Listed, mark: Option<i64>) -> Option<FigureView<'_>> {
        let row = self.rows.get(l.figure.0 as usize)?;
        let list = self.entries.get(row.series as usize)?;
        let pos = l.at as usize;
        (list.get(pos)?.row == l.figure.0).then_some(())?;
        self.view_in(l.figure, list, pos, mark)
    }

    /// The view of figure `f`, entry `pos` of its series' entries `list`.
    fn view_in(
        &self,
        f: FigureRef,
        list: &[super::layout::Entry],
        pos: usize,
        mark: Option<i64>,
    ) -> Option<FigureView<'_>> {
        let row = self.rows.get(f.0 as usize)?;
        let k = self.series_keys.get(row.series as usize)?;
        let entry = list[pos];
        let (previous, next) = self.neighbours_in(list, pos, mark);
        let name = |r: Option<FigureRef>| {
            r.and_then(|r| self.numbers.try_get(r.0 as usize))
                .map(FigureName)
        };
        let (organization, market, destination) = self.key_names(k)?;
        Some(FigureView {
            name: FigureName(self.numbers.try_get(f.0 as usize)?),
            organization,
            basis: enum_value(MeasureBasis::ALL, k.basis)?,
            flow: enum_value(Flow::ALL, k.flow)?,
            market,
            scope: enum_value(VehicleScope::ALL, k.scope)?,
            powertrain: enum_value(Powertrain::ALL, k.powertrain)?,
            destination,
            nature: Self::nature_of(k)?,
            period: range_from_codes(entry.start, entry.end),
            units: row.units(),
            comparable_prior: self.comparable_priors.get(&f.0).copied(),
            source: self.sources.value(row.source)?,
            stage: enum_value(ReleaseStage::ALL, row.stage())?,
            as_of: date_from_code(as_of_to_day_code(row.as_of()))?,
            supersedes: name(previous),
            superseded_by: name(next),
            note: self.notes.get(&f.0).map(|n| &**n),
            create_time_micros: self.create_time_micros(f),
        })
    }
}
