//! JSON Lines: one figure a line, as the proto3 JSON mapping of `SalesFigure` (the field
//! names `--output json` prints: `asOfDate`, `comparablePriorUnits`, …).

use std::io::Write;

use anyhow::Context;
use autointel_proto::stats as wire;
use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor};

use arrow_array::RecordBatch;

use super::Sink;

const SALES_FIGURE: &str = "autointel.stats.v1.SalesFigure";

/// Figures as proto3 JSON objects, one a line.
pub(super) struct JsonLinesSink<W: Write> {
    out: W,
    descriptor: MessageDescriptor,
}

impl<W: Write> JsonLinesSink<W> {
    pub(super) fn new(out: W) -> anyhow::Result<Self> {
        let pool = DescriptorPool::decode(autointel_proto::FILE_DESCRIPTOR_SET)
            .context("the built-in descriptor set does not decode")?;
        let descriptor = pool
            .get_message_by_name(SALES_FIGURE)
            .with_context(|| format!("no message {SALES_FIGURE} in the descriptor set"))?;
        Ok(Self { out, descriptor })
    }
}

/// One figure's JSON line (without its line feed).
fn line(descriptor: &MessageDescriptor, figure: &wire::SalesFigure) -> anyhow::Result<String> {
    let dynamic = DynamicMessage::decode(descriptor.clone(), figure.encode_to_vec().as_slice())?;
    Ok(serde_json::to_string(&dynamic)?)
}

impl<W: Write> Sink for JsonLinesSink<W> {
    fn write(&mut self, batch: &RecordBatch) -> anyhow::Result<()> {
        for figure in &super::rows::figures(batch)? {
            let text = line(&self.descriptor, figure)?;
            self.out.write_all(text.as_bytes())?;
            self.out.write_all(b"\n")?;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> anyhow::Result<()> {
        self.out.flush()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_line_is_the_proto3_json_of_the_figure() {
        let figure = wire::SalesFigure {
            name: "salesFigures/f0123".to_owned(),
            quantity: Some(wire::sales_figure::Quantity::Units(694_900)),
            comparable_prior_units: Some(974_700),
            as_of_date: Some(autointel_proto::google::r#type::Date {
                year: 2023,
                month: 12,
                day: 17,
            }),
            ..Default::default()
        };
        let sink = JsonLinesSink::new(Vec::new()).unwrap();
        let text = line(&sink.descriptor, &figure).unwrap();
        assert!(!text.contains('\n'));
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["name"], "salesFigures/f0123");
        assert_eq!(value["units"], "694900");
        assert_eq!(value["comparablePriorUnits"], "974700");
        assert_eq!(value["asOfDate"]["year"], 2023);
    }
}
