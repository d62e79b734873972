//! How each registry entity is stored: its table, indexed columns, child rows, references
//! and wire form.
//!
//! The `body` column holds the prost-encoded wire message of the domain entity (without
//! output-only metadata). The wire message is the canonical record form: it evolves with
//! protobuf's compatibility rules, and the conversions in `autointel-proto` already validate
//! it on the way back in. Indexed columns are derived from the entity on every write.

use autointel_domain::{
    Event, Organization, PartialDate, ParticipantRef, Partnership, Person, Relationship, Source,
    Target, ValidationError,
};
use autointel_proto::convert::ResourceId;
use autointel_proto::registry as wire;
use prost_types::Timestamp;

use super::Bind;

/// Metadata the service owns: revision (for the etag) and times in unix microseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Meta {
    /// Incremented on every write; the etag is derived from it.
    pub revision: i64,
    /// When the record was created.
    pub create_time: i64,
    /// When the record was last written.
    pub update_time: i64,
}

/// A stored entity with its metadata.
#[derive(Clone, Debug, PartialEq)]
pub struct Stored<T> {
    /// The entity.
    pub value: T,
    /// Incremented on every write.
    pub revision: i64,
    /// Creation time, unix microseconds.
    pub create_time: i64,
    /// Last write time, unix microseconds.
    pub update_time: i64,
}

impl<T> Stored<T> {
    /// The metadata part.
    pub fn meta(&self) -> Meta {
        Meta {
            revision: self.revision,
            create_time: self.create_time,
            update_time: self.update_time,
        }
    }

    /// The AIP-154 etag of this revision.
    pub fn etag(&self) -> String {
        etag(self.revision)
    }
}

/// The etag of a revision: an opaque weak tag.
pub fn etag(revision: i64) -> String {
    format!("W/\"{revision}\"")
}

/// The revision an etag names, if it is one of ours.
pub fn parse_etag(etag: &str) -> Option<i64> {
    etag.strip_prefix("W/\"")?.strip_suffix('"')?.parse().ok()
}

/// A protobuf timestamp from unix microseconds.
pub fn timestamp(micros: i64) -> Timestamp {
    Timestamp {
        seconds: micros.div_euclid(1_000_000),
        nanos: i32::try_from(micros.rem_euclid(1_000_000) * 1_000).unwrap_or(0),
    }
}

fn micros(ts: Option<&Timestamp>) -> i64 {
    ts.map_or(0, |t| t.seconds * 1_000_000 + i64::from(t.nanos) / 1_000)
}

/// A child table holding one row per value, for filters over repeated fields.
#[derive(Clone, Copy, Debug)]
pub struct ChildTable {
    /// Table name.
    pub table: &'static str,
    /// Column naming the parent record.
    pub parent_column: &'static str,
    /// Column holding the value.
    pub value_column: &'static str,
}

/// A registry entity as the store keeps it.
pub trait Record: Sized + Clone + Send + Sync + 'static {
    /// Its wire message.
    type Wire: prost::Message + Default + Clone + Send + 'static;
    /// Table name.
    const TABLE: &'static str;
    /// Request field naming the resource, e.g. `organization` (prefix of violation paths).
    const FIELD: &'static str;
    /// Collection id of its resource names.
    const COLLECTION: &'static str;
    /// Indexed columns besides the common ones.
    const COLUMNS: &'static [&'static str];
    /// Child table, if any.
    const CHILD: Option<ChildTable> = None;

    /// Bare id.
    fn id(&self) -> &str;
    /// Values of [`Self::COLUMNS`], in order.
    fn column_values(&self) -> Vec<Bind>;
    /// Values of the child table rows.
    fn child_values(&self) -> Vec<String> {
        Vec::new()
    }
    /// Resources it references: (path relative to the message, resource name).
    fn references(&self) -> Vec<(String, String)> {
        Vec::new()
    }
    /// Domain → wire, without metadata.
    fn to_wire(&self) -> Self::Wire;
    /// Wire → domain, validated.
    fn from_wire(wire: &Self::Wire) -> Result<Self, ValidationError>;
    /// Sets the output-only metadata fields.
    fn set_meta(wire: &mut Self::Wire, meta: Meta);
    /// Reads the output-only metadata fields back (for replaying a stored response).
    fn get_meta(wire: &Self::Wire) -> Meta;

    /// Resource name.
    fn resource_name(&self) -> String {
        format!("{}/{}", Self::COLLECTION, self.id())
    }
}

/// The wire form of a stored entity, with metadata.
pub fn to_wire_with_meta<T: Record>(stored: &Stored<T>) -> T::Wire {
    let mut w = stored.value.to_wire();
    T::set_meta(&mut w, stored.meta());
    w
}

/// Day number `yyyymmdd` of a date, sortable as an integer.
pub(super) fn day_number(d: autointel_domain::Date) -> i64 {
    i64::from(d.year()) * 10_000 + i64::from(d.month()) * 100 + i64::from(d.day())
}

/// Sort rank matching [`PartialDate::timeline_cmp`]: by first day, then the longer span,
/// then the coarser precision; undated sorts last.
pub fn timeline_rank(date: Option<&PartialDate>) -> i64 {
    match date {
        None => i64::MAX,
        Some(d) => {
            let precision = match d.precision() {
                autointel_domain::DatePrecision::Day => 3,
                autointel_domain::DatePrecision::Month => 2,
                autointel_domain::DatePrecision::Quarter => 1,
                autointel_domain::DatePrecision::Year => 0,
            };
            day_number(d.first_day()) * 1_000_000_000
                + (99_999_999 - day_number(d.last_day())) * 10
                + precision
        }
    }
}

/// First and last day numbers of a partial date's span.
pub fn span(date: Option<&PartialDate>) -> (Option<i64>, Option<i64>) {
    match date {
        None => (None, None),
        Some(d) => (
            Some(day_number(d.first_day())),
            Some(day_number(d.last_day())),
        ),
    }
}

/// `sort_rank`, `date_first` and `date_last` of a record placed on the timeline by `date`.
fn timeline_columns(date: Option<&PartialDate>) -> [Bind; 3] {
    let (first, last) = span(date);
    [
        Bind::I64(timeline_rank(date)),
        Bind::OptI64(first),
        Bind::OptI64(last),
    ]
}

fn sources_refs(sources: &[autointel_domain::SourceId]) -> Vec<(String, String)> {
    sources
        .iter()
        .enumerate()
        .map(|(i, s)| (format!("sources[{i}]"), s.resource_name()))
        .collect()
}

/// What every record implements alike: its bare id, the wire conversions of
/// `autointel-proto`, and its output-only metadata fields (etag, create and update time).
macro_rules! same_for_every_record {
    (full) => {
        same_for_every_record!();
        fn set_meta(w: &mut Self::Wire, meta: Meta) {
            w.etag = etag(meta.revision);
            w.create_time = Some(timestamp(meta.create_time));
            w.update_time = Some(timestamp(meta.update_time));
        }
        fn get_meta(w: &Self::Wire) -> Meta {
            let create_time = micros(w.create_time.as_ref());
            Meta {
                revision: parse_etag(&w.etag).unwrap_or(0),
                create_time,
                // A response remembered before the resource had an update time (people and
                // sources) was answered at its creation.
                update_time: w
                    .update_time
                    .as_ref()
                    .map_or(create_time, |t| micros(Some(t))),
            }
        }
    };
    () => {
        fn id(&self) -> &str {
            self.id.as_str()
        }
        fn to_wire(&self) -> Self::Wire {
            self.into()
        }
        fn from_wire(w: &Self::Wire) -> Result<Self, ValidationError> {
            w.try_into()
        }
    };
}

impl Record for Source {
    type Wire = wire::Source;
    const TABLE: &'static str = "sources";
    const FIELD: &'static str = "source";
    const COLLECTION: &'static str = "sources";
    const COLUMNS: &'static [&'static str] = &["kind"];

    fn column_values(&self) -> Vec<Bind> {
        vec![Bind::Text(self.kind.as_str().to_owned())]
    }
    same_for_every_record!(full);
}

impl Record for Organization {
    type Wire = wire::Organization;
    const TABLE: &'static str = "organizations";
    const FIELD: &'static str = "organization";
    const COLLECTION: &'static str = "organizations";
    const COLUMNS: &'static [&'static str] = &["kind", "country_code", "search_text"];
    const CHILD: Option<ChildTable> = Some(ChildTable {
        table: "organization_names",
        parent_column: "organization_id",
        value_column: "name_folded",
    });

    fn column_values(&self) -> Vec<Bind> {
        let names: Vec<String> = self.child_values();
        vec![
            Bind::Text(self.kind.as_str().to_owned()),
            Bind::Text(
                self.country_code
                    .as_ref()
                    .map(|c| c.as_str().to_owned())
                    .unwrap_or_default(),
            ),
            Bind::Text(names.join("\n")),
        ]
    }
    fn child_values(&self) -> Vec<String> {
        let mut names: Vec<String> = std::iter::once(self.english_name.as_str())
            .chain(self.chinese_name.as_deref())
            .chain(self.aliases.iter().map(String::as_str))
            .map(autointel_domain::match_key)
            .collect();
        names.sort();
        names.dedup();
        names
    }
    same_for_every_record!(full);
}

impl Record for Person {
    type Wire = wire::Person;
    const TABLE: &'static str = "people";
    const FIELD: &'static str = "person";
    const COLLECTION: &'static str = "people";
    const COLUMNS: &'static [&'static str] = &["organization_id"];

    fn column_values(&self) -> Vec<Bind> {
        vec![Bind::Text(
            self.organization
                .as_ref()
                .map(|o| o.as_str().to_owned())
                .unwrap_or_default(),
        )]
    }
    fn references(&self) -> Vec<(String, String)> {
        self.organization
            .iter()
            .map(|o| ("organization".to_owned(), o.resource_name()))
            .collect()
    }
    same_for_every_record!(full);
}

impl Record for Relationship {
    type Wire = wire::Relationship;
    const TABLE: &'static str = "relationships";
    const FIELD: &'static str = "relationship";
    const COLLECTION: &'static str = "relationships";
    const COLUMNS: &'static [&'static str] = &["kind", "parent_id", "child_id"];

    fn column_values(&self) -> Vec<Bind> {
        vec![
            Bind::Text(self.kind.as_str().to_owned()),
            Bind::Text(self.parent.as_str().to_owned()),
            Bind::Text(self.child.as_str().to_owned()),
        ]
    }
    fn references(&self) -> Vec<(String, String)> {
        let mut refs = vec![
            ("parent".to_owned(), self.parent.resource_name()),
            ("child".to_owned(), self.child.resource_name()),
        ];
        refs.extend(sources_refs(&self.sources));
        refs
    }
    same_for_every_record!(full);
}

impl Record for Partnership {
    type Wire = wire::Partnership;
    const TABLE: &'static str = "partnerships";
    const FIELD: &'static str = "partnership";
    const COLLECTION: &'static str = "partnerships";
    const COLUMNS: &'static [&'static str] = &[
        "kind",
        "status",
        "sort_rank",
        "date_first",
        "date_last",
        "predecessor_id",
    ];
    const CHILD: Option<ChildTable> = Some(ChildTable {
        table: "partnership_parties",
        parent_column: "partnership_id",
        value_column: "organization_id",
    });

    fn column_values(&self) -> Vec<Bind> {
        let [rank, first, last] = timeline_columns(self.announced_date.as_ref());
        vec![
            Bind::Text(self.kind.as_str().to_owned()),
            Bind::Text(self.status.as_str().to_owned()),
            rank,
            first,
            last,
            Bind::Text(
                self.predecessor
                    .as_ref()
                    .map(|p| p.as_str().to_owned())
                    .unwrap_or_default(),
            ),
        ]
    }
    fn child_values(&self) -> Vec<String> {
        self.parties
            .iter()
            .map(|p| p.organization.as_str().to_owned())
            .collect()
    }
    fn references(&self) -> Vec<(String, String)> {
        let mut refs: Vec<(String, String)> = self
            .parties
            .iter()
            .enumerate()
            .map(|(i, p)| {
                (
                    format!("parties[{i}].organization"),
                    p.organization.resource_name(),
                )
            })
            .collect();
        if let Some(p) = &self.predecessor {
            refs.push(("predecessor".to_owned(), p.resource_name()));
        }
        refs.extend(sources_refs(&self.sources));
        refs
    }
    same_for_every_record!(full);
}

impl Record for Event {
    type Wire = wire::Event;
    const TABLE: &'static str = "events";
    const FIELD: &'static str = "event";
    const COLLECTION: &'static str = "events";
    const COLUMNS: &'static [&'static str] = &[
        "kind",
        "status",
        "sort_rank",
        "date_first",
        "date_last",
        "search_text",
        "market",
    ];
    const CHILD: Option<ChildTable> = Some(ChildTable {
        table: "event_participants",
        parent_column: "event_id",
        value_column: "participant",
    });

    fn column_values(&self) -> Vec<Bind> {
        let [rank, first, last] = timeline_columns(self.timeline_date());
        let text = format!(
            "{}\n{}",
            self.title.to_lowercase(),
            self.summary.as_deref().unwrap_or("").to_lowercase()
        );
        vec![
            Bind::Text(self.kind.as_str().to_owned()),
            Bind::Text(self.status.as_str().to_owned()),
            rank,
            first,
            last,
            Bind::Text(text),
            Bind::Text(
                self.market
                    .as_ref()
                    .map(|m| m.as_str().to_owned())
                    .unwrap_or_default(),
            ),
        ]
    }
    fn child_values(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .participants
            .iter()
            .map(|p| p.party.to_string())
            .collect();
        names.sort();
        names.dedup();
        names
    }
    fn references(&self) -> Vec<(String, String)> {
        let mut refs = Vec::new();
        for (i, p) in self.participants.iter().enumerate() {
            match &p.party {
                ParticipantRef::Organization(o) => {
                    refs.push((format!("participants[{i}].organization"), o.resource_name()))
                }
                ParticipantRef::Person(o) => {
                    refs.push((format!("participants[{i}].person"), o.resource_name()));
                }
            }
        }
        if let Some(p) = &self.partnership {
            refs.push(("partnership".to_owned(), p.resource_name()));
        }
        if let Some(e) = &self.supersedes {
            refs.push(("supersedes".to_owned(), e.resource_name()));
        }
        for (i, q) in self.quotes.iter().enumerate() {
            refs.push((format!("quotes[{i}].speaker"), q.speaker.resource_name()));
            refs.push((format!("quotes[{i}].source"), q.source.resource_name()));
        }
        refs.extend(sources_refs(&self.sources));
        refs
    }
    same_for_every_record!(full);
}

impl Record for Target {
    type Wire = wire::Target;
    const TABLE: &'static str = "targets";
    const FIELD: &'static str = "target";
    const COLLECTION: &'static str = "targets";
    const COLUMNS: &'static [&'static str] = &[
        "organization_id",
        "metric_organization_id",
        "event_id",
        "status",
    ];

    fn column_values(&self) -> Vec<Bind> {
        vec![
            Bind::Text(self.organization.as_str().to_owned()),
            Bind::Text(
                self.metric
                    .organization
                    .as_ref()
                    .map(|o| o.as_str().to_owned())
                    .unwrap_or_default(),
            ),
            Bind::Text(
                self.event
                    .as_ref()
                    .map(|e| e.as_str().to_owned())
                    .unwrap_or_default(),
            ),
            Bind::Text(self.status.as_str().to_owned()),
        ]
    }
    fn references(&self) -> Vec<(String, String)> {
        let mut refs = vec![("organization".to_owned(), self.organization.resource_name())];
        if let Some(e) = &self.event {
            refs.push(("event".to_owned(), e.resource_name()));
        }
        if let Some(o) = &self.metric.organization {
            refs.push(("metric.organization".to_owned(), o.resource_name()));
        }
        refs.extend(sources_refs(&self.sources));
        refs
    }
    same_for_every_record!(full);
}
