//! Which fields of a record differ between the file and the registry, compared by name
//! through the descriptor set, so every field of every kind is compared without a list to
//! keep in step with the proto.

use std::sync::OnceLock;

use anyhow::Context;
use prost_reflect::{DescriptorPool, DynamicMessage, ReflectMessage};

use super::kinds::Kind;

fn pool() -> anyhow::Result<&'static DescriptorPool> {
    static POOL: OnceLock<Option<DescriptorPool>> = OnceLock::new();
    POOL.get_or_init(|| DescriptorPool::decode(autointel_proto::FILE_DESCRIPTOR_SET).ok())
        .as_ref()
        .context("the built-in descriptor set does not decode")
}

fn dynamic<M: prost::Message>(message: &M, full_name: &str) -> anyhow::Result<DynamicMessage> {
    let descriptor = pool()?
        .get_message_by_name(full_name)
        .with_context(|| format!("no message {full_name} in the descriptor set"))?;
    Ok(DynamicMessage::decode(
        descriptor,
        message.encode_to_vec().as_slice(),
    )?)
}

/// The fields (top-level, in field-number order) whose values differ between `wanted` and
/// `stored`, leaving out output-only fields and those the service owns for `stored`.
pub(crate) fn changed_fields<K: Kind>(
    wanted: &K::Wire,
    stored: &K::Wire,
) -> anyhow::Result<Vec<String>> {
    let a = dynamic(wanted, K::MESSAGE)?;
    let b = dynamic(stored, K::MESSAGE)?;
    let skipped = K::service_owned(stored);
    Ok(a.descriptor()
        .fields()
        .filter(|f| !K::OUTPUT_ONLY.contains(&f.name()) && !skipped.contains(&f.name()))
        .filter(|f| a.has_field(f) != b.has_field(f) || a.get_field(f) != b.get_field(f))
        .map(|f| f.name().to_owned())
        .collect())
}

#[cfg(test)]
mod tests {
    use autointel_proto::registry as wire;

    use super::*;
    use crate::records::kinds::{Events, Organizations, Relationships};

    #[test]
    fn only_fields_that_differ_are_named_and_output_only_ones_never() {
        let stored = wire::Organization {
            name: "organizations/acme".to_owned(),
            kind: 1,
            english_name: "Acme".to_owned(),
            aliases: vec!["A".to_owned()],
            etag: "W/\"3\"".to_owned(),
            ..Default::default()
        };
        let mut wanted = wire::Organization {
            etag: String::new(),
            ..stored.clone()
        };
        assert_eq!(
            changed_fields::<Organizations>(&wanted, &stored).ok(),
            Some(vec![])
        );
        wanted.aliases.push("B".to_owned());
        wanted.country_code = "CN".to_owned();
        assert_eq!(
            changed_fields::<Organizations>(&wanted, &stored).ok(),
            Some(vec!["aliases".to_owned(), "country_code".to_owned()])
        );
    }

    #[test]
    fn an_optional_field_set_to_its_default_differs_from_unset() {
        let stored = wire::Relationship::default();
        let wanted = wire::Relationship {
            stake_basis_points: Some(0),
            ..Default::default()
        };
        assert_eq!(
            changed_fields::<Relationships>(&wanted, &stored).ok(),
            Some(vec!["stake_basis_points".to_owned()])
        );
    }

    #[test]
    fn a_superseded_events_status_is_the_services() {
        let stored = wire::Event {
            status: wire::EventStatus::Superseded as i32,
            superseded_by: "events/fix".to_owned(),
            targets: vec!["targets/t".to_owned()],
            ..Default::default()
        };
        let wanted = wire::Event {
            status: wire::EventStatus::Reported as i32,
            ..Default::default()
        };
        assert_eq!(
            changed_fields::<Events>(&wanted, &stored).ok(),
            Some(vec![])
        );
    }
}
