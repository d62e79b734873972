//! What `apply` does to each record, decided from one read of the registry: create what is
//! missing, update what changed (the changed fields become the update mask, the etag read
//! guards it), leave the rest, and delete (with `--prune`) or report what only the
//! registry has. A change to a field no update may change is refused before anything is
//! written.

use std::collections::{HashMap, HashSet};

use anyhow::bail;
use autointel_registry::record_file::Dataset;

use super::diff::changed_fields;
use super::kinds::{
    Events, Kind, Organizations, Partnerships, People, Relationships, Sources, Targets,
};
use crate::client::Registry;
use crate::registry::collect_pages;

/// What happens to one record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Action {
    /// In the file, not in the registry.
    Create,
    /// In both, with fields that differ.
    Update,
    /// In both, alike.
    Unchanged,
    /// In both, differing in fields no update may change.
    Refused,
    /// In the registry only, deleted (`--prune`).
    Delete,
    /// In the registry only, kept (no `--prune`).
    NotInFile,
}

impl Action {
    /// The word the output uses.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Update => "update",
            Self::Unchanged => "unchanged",
            Self::Refused => "refused",
            Self::Delete => "delete",
            Self::NotInFile => "not_in_file",
        }
    }
}

/// The change to one record, with what writing it needs.
#[derive(Debug)]
pub(crate) enum Change<W> {
    /// Create it as the file has it.
    Create(W),
    /// Update `fields` to the file's values, guarded by the etag of `stored`.
    Update {
        /// The record as the file has it.
        wanted: W,
        /// The record as it was read.
        stored: W,
        /// The changed fields: the update mask.
        fields: Vec<String>,
    },
    /// Nothing to do.
    Unchanged,
    /// `fields` differ and cannot be updated.
    Refused {
        /// The fields no update may change.
        fields: Vec<String>,
    },
    /// Delete the record as it was read.
    Delete(W),
    /// Report it, keep it.
    NotInFile,
}

/// One record's step.
#[derive(Debug)]
pub(crate) struct Step<W> {
    /// Its resource name.
    pub name: String,
    /// What happens to it.
    pub change: Change<W>,
}

impl<W> Step<W> {
    /// The step as a row of the output.
    pub(crate) fn row(&self) -> Row {
        let (action, fields) = match &self.change {
            Change::Create(_) => (Action::Create, Vec::new()),
            Change::Update { fields, .. } => (Action::Update, fields.clone()),
            Change::Unchanged => (Action::Unchanged, Vec::new()),
            Change::Refused { fields } => (Action::Refused, fields.clone()),
            Change::Delete(_) => (Action::Delete, Vec::new()),
            Change::NotInFile => (Action::NotInFile, Vec::new()),
        };
        Row {
            action,
            name: self.name.clone(),
            fields,
        }
    }
}

/// One line of the output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Row {
    /// What happens (or happened).
    pub action: Action,
    /// The record's resource name.
    pub name: String,
    /// The fields updated or refused.
    pub fields: Vec<String>,
}

/// The steps of one kind: creates and updates (in the order they are written), and the
/// records only the registry has (dependents before what they depend on).
#[derive(Debug)]
pub(crate) struct KindPlan<K: Kind> {
    /// Creates, updates, unchanged and refused records.
    pub writes: Vec<Step<K::Wire>>,
    /// Deletes or reports.
    pub removals: Vec<Step<K::Wire>>,
}

/// `items` with each after the record of its kind it depends on (among `items`), otherwise
/// in the order given.
fn in_chain_order<K: Kind>(items: Vec<K::Wire>) -> Vec<K::Wire> {
    let index: HashMap<&str, usize> = items
        .iter()
        .enumerate()
        .map(|(i, w)| (K::name(w), i))
        .collect();
    let depth = |mut at: usize| {
        let mut depth = 0;
        // At most one step per record: a loop (which the service refuses) ends too.
        while depth < items.len()
            && let Some(&next) = K::depends_on(&items[at]).and_then(|n| index.get(n))
        {
            depth += 1;
            at = next;
        }
        depth
    };
    let depths: Vec<usize> = (0..items.len()).map(depth).collect();
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by_key(|&i| depths[i]);
    let mut slots: Vec<Option<K::Wire>> = items.into_iter().map(Some).collect();
    order.into_iter().filter_map(|i| slots[i].take()).collect()
}

/// Plans one kind: the file's records against the registry's.
pub(crate) fn plan_kind<K: Kind>(
    wanted: &[K::Domain],
    stored: Vec<K::Wire>,
    prune: bool,
) -> anyhow::Result<KindPlan<K>> {
    let wanted = in_chain_order::<K>(wanted.iter().map(K::to_wire).collect());
    let mut seen = HashSet::new();
    for w in &wanted {
        if !seen.insert(K::name(w)) {
            bail!("the file has {} more than once", K::name(w));
        }
    }
    let mut by_name: HashMap<String, K::Wire> = stored
        .into_iter()
        .map(|w| (K::name(&w).to_owned(), w))
        .collect();
    let mut creates = Vec::new();
    let mut others = Vec::new();
    for w in wanted {
        let name = K::name(&w).to_owned();
        let Some(stored) = by_name.remove(&name) else {
            creates.push(Step {
                name,
                change: Change::Create(w),
            });
            continue;
        };
        let fields = changed_fields::<K>(&w, &stored)?;
        let fixed: Vec<String> = fields
            .iter()
            .filter(|f| !K::UPDATABLE.contains(&f.as_str()))
            .cloned()
            .collect();
        let change = if !fixed.is_empty() {
            Change::Refused { fields: fixed }
        } else if fields.is_empty() {
            Change::Unchanged
        } else {
            Change::Update {
                wanted: w,
                stored,
                fields,
            }
        };
        others.push(Step { name, change });
    }
    let writes = if K::UPDATES_FIRST {
        others.into_iter().chain(creates).collect()
    } else {
        creates.into_iter().chain(others).collect()
    };
    let mut extra: Vec<K::Wire> = by_name.into_values().collect();
    extra.sort_by(|a, b| K::name(a).cmp(K::name(b)));
    let removals = in_chain_order::<K>(extra)
        .into_iter()
        .rev()
        .map(|w| Step {
            name: K::name(&w).to_owned(),
            change: if prune {
                Change::Delete(w)
            } else {
                Change::NotInFile
            },
        })
        .collect();
    Ok(KindPlan { writes, removals })
}

/// Every record of a kind the registry holds, page by page.
pub(crate) async fn list_all<K: Kind>(c: &mut Registry) -> anyhow::Result<Vec<K::Wire>> {
    collect_pages(None, |token, size| {
        let mut c = c.clone();
        async move { K::list(&mut c, token, size).await }
    })
    .await
}

/// The plan of every kind.
#[derive(Debug)]
pub(crate) struct Plan {
    pub sources: KindPlan<Sources>,
    pub organizations: KindPlan<Organizations>,
    pub relationships: KindPlan<Relationships>,
    pub people: KindPlan<People>,
    pub partnerships: KindPlan<Partnerships>,
    pub events: KindPlan<Events>,
    pub targets: KindPlan<Targets>,
}

impl Plan {
    /// Reads the registry and plans `data` against it.
    pub(crate) async fn read(
        c: &mut Registry,
        data: &Dataset,
        prune: bool,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            sources: plan_kind(&data.sources, list_all::<Sources>(c).await?, prune)?,
            organizations: plan_kind(
                &data.organizations,
                list_all::<Organizations>(c).await?,
                prune,
            )?,
            relationships: plan_kind(
                &data.relationships,
                list_all::<Relationships>(c).await?,
                prune,
            )?,
            people: plan_kind(&data.people, list_all::<People>(c).await?, prune)?,
            partnerships: plan_kind(
                &data.partnerships,
                list_all::<Partnerships>(c).await?,
                prune,
            )?,
            events: plan_kind(&data.events, list_all::<Events>(c).await?, prune)?,
            targets: plan_kind(&data.targets, list_all::<Targets>(c).await?, prune)?,
        })
    }

    /// Every step as a row, in the order they are written: creates and updates kind by kind
    /// (sources first, targets last), then the records only the registry has, in the
    /// reverse order.
    pub(crate) fn rows(&self) -> Vec<Row> {
        fn rows<W>(steps: &[Step<W>]) -> impl Iterator<Item = Row> + '_ {
            steps.iter().map(Step::row)
        }
        rows(&self.sources.writes)
            .chain(rows(&self.organizations.writes))
            .chain(rows(&self.relationships.writes))
            .chain(rows(&self.people.writes))
            .chain(rows(&self.partnerships.writes))
            .chain(rows(&self.events.writes))
            .chain(rows(&self.targets.writes))
            .chain(rows(&self.targets.removals))
            .chain(rows(&self.events.removals))
            .chain(rows(&self.partnerships.removals))
            .chain(rows(&self.people.removals))
            .chain(rows(&self.relationships.removals))
            .chain(rows(&self.organizations.removals))
            .chain(rows(&self.sources.removals))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use autointel_proto::registry as wire;

    use super::*;
    use crate::records::kinds::Relationships;

    fn event(id: &str, supersedes: &str) -> wire::Event {
        wire::Event {
            name: format!("events/{id}"),
            supersedes: supersedes.to_owned(),
            ..Default::default()
        }
    }

    #[test]
    fn a_record_comes_after_the_one_it_depends_on() {
        let items = vec![
            event("c", "events/b"),
            event("b", "events/a"),
            event("x", "events/elsewhere"),
            event("a", ""),
        ];
        let names: Vec<String> = in_chain_order::<Events>(items)
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert_eq!(names, ["events/x", "events/a", "events/b", "events/c"]);
    }

    #[test]
    fn a_loop_does_not_hang() {
        let items = vec![event("a", "events/b"), event("b", "events/a")];
        assert_eq!(in_chain_order::<Events>(items).len(), 2);
    }

    fn relationship(kind: &str, child: &str) -> autointel_domain::Relationship {
        autointel_domain::Relationship {
            id: "link".parse().expect("id"),
            kind: kind.parse().expect("kind"),
            parent: "acme".parse().expect("parent"),
            child: child.parse().expect("child"),
            stake: None,
            valid_from_date: None,
            valid_to_date: None,
            sources: vec!["s1".parse().expect("source")],
            controls: false,
        }
    }

    #[test]
    fn a_change_no_update_may_make_is_refused_and_extras_kept_without_prune() {
        let stored = vec![
            Relationships::to_wire(&relationship("owns", "beta")),
            wire::Relationship {
                name: "relationships/stray".to_owned(),
                ..Default::default()
            },
        ];
        let plan = plan_kind::<Relationships>(&[relationship("brand_of", "gamma")], stored, false)
            .expect("a plan");
        let rows: Vec<Row> = plan
            .writes
            .iter()
            .chain(&plan.removals)
            .map(Step::row)
            .collect();
        assert_eq!(
            rows,
            [
                Row {
                    action: Action::Refused,
                    name: "relationships/link".to_owned(),
                    fields: vec!["kind".to_owned(), "child".to_owned()],
                },
                Row {
                    action: Action::NotInFile,
                    name: "relationships/stray".to_owned(),
                    fields: vec![],
                },
            ]
        );
        let twice = [relationship("owns", "beta"), relationship("owns", "beta")];
        assert!(plan_kind::<Relationships>(&twice, vec![], true).is_err());
    }
}
