//! `autointel.stats.v1` ↔ domain values: sales figures here, queries in [`query`].

pub mod query;
pub mod vintage;

use autointel_domain::{
    FigureNature, Provenance, ReleaseStage, SalesFigure, SalesFigureId, SourceId, TEXT_MAX_CHARS,
    Units, ValidationError, ValueError, Violations, optional_long_text,
};

use super::types::{
    date_from_wire, date_to_wire, month_range_from_wire, month_range_to_wire, series_key_from_wire,
    series_key_to_wire,
};
use super::{
    ResourceId, WireEnum, optional_resource_name, rejected, required, units_from_wire,
    units_to_wire, wire_enum,
};
use crate::stats as wire;

wire_enum!(ReleaseStage, wire::ReleaseStage, {
    Estimate => Estimate, Preliminary => Preliminary, Final => Final, Restated => Restated,
});
wire_enum!(FigureNature, wire::FigureNature, { Actual => Actual, Forecast => Forecast });

/// Reads a figure's nature: `FIGURE_NATURE_UNSPECIFIED` (proto3's zero, what every import
/// written before the field sends) is an actual; unknown numbers are rejected.
pub fn figure_nature_from_wire(value: i32) -> Result<FigureNature, ValueError> {
    if value == wire::FigureNature::Unspecified as i32 {
        Ok(FigureNature::Actual)
    } else {
        FigureNature::from_wire(value)
    }
}

fn quantity_from_wire(q: Option<&wire::sales_figure::Quantity>) -> Result<Units, ValueError> {
    use wire::sales_figure::Quantity;
    match q {
        Some(Quantity::Units(units)) => units_from_wire(*units),
        Some(Quantity::TenThousandUnits(text)) => Units::from_ten_thousands(text),
        None => Err(ValueError::new(
            "is required: set units or ten_thousand_units",
        )),
    }
}

/// Converts an imported figure under the id the service assigned. `name`,
/// `supersedes`, `superseded_by` and `create_time` are output only and
/// ignored; the quantity may be given in units or in ten-thousands.
pub fn sales_figure_from_wire(
    id: SalesFigureId,
    w: &wire::SalesFigure,
) -> Result<SalesFigure, ValidationError> {
    let mut v = Violations::new();
    let key = required(&mut v, "series", w.series.as_ref(), series_key_from_wire);
    let period = required(&mut v, "period", w.period.as_ref(), month_range_from_wire);
    let field = match &w.quantity {
        Some(wire::sales_figure::Quantity::TenThousandUnits(_)) => "ten_thousand_units",
        _ => "units",
    };
    let units = v.check(field, quantity_from_wire(w.quantity.as_ref()));
    let comparable_prior = v.check(
        "comparable_prior_units",
        w.comparable_prior_units.map(units_from_wire).transpose(),
    );
    let source = v.check("source", SourceId::from_resource_name(&w.source));
    let stage = v.check("stage", ReleaseStage::from_wire(w.stage));
    let as_of = required(&mut v, "as_of_date", w.as_of_date.as_ref(), date_from_wire);
    let note = v.check("note", optional_long_text(&w.note, TEXT_MAX_CHARS));
    let nature = v.check("nature", figure_nature_from_wire(w.nature));
    let (
        Some(key),
        Some(period),
        Some(units),
        Some(comparable_prior),
        Some(source),
        Some(stage),
        Some(as_of),
        Some(note),
        Some(nature),
    ) = (
        key,
        period,
        units,
        comparable_prior,
        source,
        stage,
        as_of,
        note,
        nature,
    )
    else {
        return Err(rejected(v));
    };
    let figure = SalesFigure {
        id,
        key,
        period,
        units,
        nature,
        comparable_prior,
        provenance: Provenance {
            source,
            stage,
            as_of,
            supersedes: None,
        },
        note,
    };
    figure.validate()?;
    Ok(figure)
}

/// Converts a stored figure; `superseded_by` is the later revision, if any.
pub fn sales_figure_to_wire(
    d: &SalesFigure,
    superseded_by: Option<&SalesFigureId>,
) -> wire::SalesFigure {
    wire::SalesFigure {
        name: d.id.resource_name(),
        series: Some(series_key_to_wire(&d.key)),
        period: Some(month_range_to_wire(d.period)),
        quantity: Some(wire::sales_figure::Quantity::Units(units_to_wire(d.units))),
        comparable_prior_units: d.comparable_prior.map(units_to_wire),
        source: d.provenance.source.resource_name(),
        stage: d.provenance.stage.to_wire(),
        as_of_date: Some(date_to_wire(d.provenance.as_of)),
        supersedes: optional_resource_name(d.provenance.supersedes.as_ref()),
        superseded_by: optional_resource_name(superseded_by),
        note: d.note.clone().unwrap_or_default(),
        create_time: None,
        nature: d.nature.to_wire(),
    }
}
