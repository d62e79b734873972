//! Typed list filters: what each List request may narrow its records by. The service builds
//! them from requests; only here do they become SQL over the record's table.

use autointel_domain::{
    CountryCode, Date, Event, EventKind, EventStatus, Market, MonthRange, Organization,
    OrganizationId, OrganizationKind, ParticipantRef, Partnership, PartnershipKind,
    PartnershipStatus, Person, Relationship, RelationshipKind, Source, SourceKind, Target,
    TargetStatus,
};

use super::Record;
use super::record::day_number;
use super::sql::{Bind, Sql};

/// A filter over the records of one table, and the order its list comes in.
pub trait Filter {
    /// The records it selects.
    type Record: Record;
    /// Ordered on the timeline (`sort_rank`, then id) rather than by id alone.
    const TIMELINE_ORDER: bool = false;
    /// Appends its conditions to a query whose `WHERE` clause is open.
    fn push_conditions(&self, sql: &mut Sql);
}

/// Organisations by kind, country and text over their names and aliases.
#[derive(Clone, Debug, Default)]
pub struct OrganizationFilter {
    /// Only this kind.
    pub kind: Option<OrganizationKind>,
    /// Only organisations of this country.
    pub country_code: Option<CountryCode>,
    /// Text found in a name or alias, any case.
    pub text: Option<String>,
}

/// Relationships by kind and by an organisation on either end.
#[derive(Clone, Debug, Default)]
pub struct RelationshipFilter {
    /// Only this kind.
    pub kind: Option<RelationshipKind>,
    /// Only relationships with this organisation as parent or child.
    pub organization: Option<OrganizationId>,
}

/// Partnerships by kind, status, party and announcement month.
#[derive(Clone, Debug, Default)]
pub struct PartnershipFilter {
    /// Only this kind.
    pub kind: Option<PartnershipKind>,
    /// Only this status.
    pub status: Option<PartnershipStatus>,
    /// Only partnerships with this organisation as a party.
    pub organization: Option<OrganizationId>,
    /// Only partnerships whose announcement date lies within these months.
    pub announced_within: Option<MonthRange>,
}

/// Events by kind, status, participant, occurrence month and text.
#[derive(Clone, Debug, Default)]
pub struct EventFilter {
    /// Only this kind.
    pub kind: Option<EventKind>,
    /// Only this status.
    pub status: Option<EventStatus>,
    /// Leave superseded events out.
    pub exclude_superseded: bool,
    /// Only events with this participant.
    pub participant: Option<ParticipantRef>,
    /// Only events whose timeline date lies within these months.
    pub occurred_within: Option<MonthRange>,
    /// Text found in the title or summary, any case.
    pub text: Option<String>,
    /// Only events concerning this market.
    pub market: Option<Market>,
}

/// Targets by status and organisation.
#[derive(Clone, Debug, Default)]
pub struct TargetFilter {
    /// Only this status.
    pub status: Option<TargetStatus>,
    /// Only targets this organisation set.
    pub organization: Option<OrganizationId>,
}

/// People by organisation.
#[derive(Clone, Debug, Default)]
pub struct PersonFilter {
    /// Only people of this organisation.
    pub organization: Option<OrganizationId>,
}

/// Sources by kind.
#[derive(Clone, Debug, Default)]
pub struct SourceFilter {
    /// Only this kind.
    pub kind: Option<SourceKind>,
}

/// Appends ` AND (fragment)`; each `?` of the fragment takes the next of `binds`.
fn and(sql: &mut Sql, fragment: &str, binds: impl IntoIterator<Item = Bind>) {
    sql.push(&format!(" AND ({fragment})"), binds);
}

fn text(value: &str) -> Bind {
    Bind::Text(value.to_owned())
}

/// `column = value` when a value is given.
fn equals(sql: &mut Sql, column: &str, value: Option<&str>) {
    if let Some(value) = value {
        and(sql, &format!("{column} = ?"), [text(value)]);
    }
}

/// `search_text` (stored lower-cased) contains `needle`, any case.
fn contains_text(sql: &mut Sql, needle: Option<&str>) {
    if let Some(needle) = needle {
        and(
            sql,
            "search_text LIKE ? ESCAPE '\\'",
            [Bind::Text(like_pattern(&needle.to_lowercase()))],
        );
    }
}

/// A `LIKE` pattern matching `text` anywhere, its wildcards escaped.
fn like_pattern(text: &str) -> String {
    let mut out = String::from("%");
    for ch in text.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out.push('%');
    out
}

/// Only records whose date span (`date_first`, `date_last`) lies within the months of `range`.
fn within_months(sql: &mut Sql, range: Option<MonthRange>) {
    if let Some(range) = range {
        let first = day_number(Date::first_of(range.start()));
        let last = day_number(Date::last_of(range.end()));
        and(
            sql,
            "date_first >= ? AND date_last <= ?",
            [Bind::I64(first), Bind::I64(last)],
        );
    }
}

impl Filter for OrganizationFilter {
    type Record = Organization;

    fn push_conditions(&self, sql: &mut Sql) {
        equals(sql, "kind", self.kind.map(|k| k.as_str()));
        equals(
            sql,
            "country_code",
            self.country_code.as_ref().map(CountryCode::as_str),
        );
        contains_text(sql, self.text.as_deref());
    }
}

impl Filter for RelationshipFilter {
    type Record = Relationship;

    fn push_conditions(&self, sql: &mut Sql) {
        equals(sql, "kind", self.kind.map(|k| k.as_str()));
        if let Some(org) = &self.organization {
            and(
                sql,
                "parent_id = ? OR child_id = ?",
                [text(org.as_str()), text(org.as_str())],
            );
        }
    }
}

impl Filter for PartnershipFilter {
    type Record = Partnership;
    const TIMELINE_ORDER: bool = true;

    fn push_conditions(&self, sql: &mut Sql) {
        equals(sql, "kind", self.kind.map(|k| k.as_str()));
        equals(sql, "status", self.status.map(|s| s.as_str()));
        if let Some(org) = &self.organization {
            and(
                sql,
                "id IN (SELECT partnership_id FROM partnership_parties WHERE organization_id = ?)",
                [text(org.as_str())],
            );
        }
        within_months(sql, self.announced_within);
    }
}

impl Filter for EventFilter {
    type Record = Event;
    const TIMELINE_ORDER: bool = true;

    fn push_conditions(&self, sql: &mut Sql) {
        equals(sql, "kind", self.kind.map(|k| k.as_str()));
        equals(sql, "status", self.status.map(|s| s.as_str()));
        if self.exclude_superseded {
            and(sql, "status <> ?", [text(EventStatus::Superseded.as_str())]);
        }
        if let Some(participant) = &self.participant {
            and(
                sql,
                "id IN (SELECT event_id FROM event_participants WHERE participant = ?)",
                [Bind::Text(participant.to_string())],
            );
        }
        within_months(sql, self.occurred_within);
        contains_text(sql, self.text.as_deref());
        equals(sql, "market", self.market.as_ref().map(Market::as_str));
    }
}

impl Filter for TargetFilter {
    type Record = Target;

    fn push_conditions(&self, sql: &mut Sql) {
        equals(sql, "status", self.status.map(|s| s.as_str()));
        equals(
            sql,
            "organization_id",
            self.organization.as_ref().map(OrganizationId::as_str),
        );
    }
}

impl Filter for PersonFilter {
    type Record = Person;

    fn push_conditions(&self, sql: &mut Sql) {
        equals(
            sql,
            "organization_id",
            self.organization.as_ref().map(OrganizationId::as_str),
        );
    }
}

impl Filter for SourceFilter {
    type Record = Source;

    fn push_conditions(&self, sql: &mut Sql) {
        equals(sql, "kind", self.kind.map(|k| k.as_str()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conditions(filter: &impl Filter) -> Sql {
        let mut sql = Sql::new("WHERE 1 = 1");
        filter.push_conditions(&mut sql);
        sql
    }

    #[test]
    fn like_pattern_escapes_wildcards() {
        assert_eq!(like_pattern(r"50%_a\b"), r"%50\%\_a\\b%");
    }

    #[test]
    fn text_is_matched_lower_cased_and_months_as_day_numbers() {
        let month = |m| autointel_domain::YearMonth::new(2023, m).expect("a valid month");
        let range = MonthRange::new(month(2), month(3)).expect("a valid range");
        let filter = EventFilter {
            exclude_superseded: true,
            occurred_within: Some(range),
            text: Some("Recall".to_owned()),
            ..EventFilter::default()
        };
        assert_eq!(
            conditions(&filter).parts(),
            (
                "WHERE 1 = 1 AND (status <> $1) AND (date_first >= $2 AND date_last <= $3) \
                 AND (search_text LIKE $4 ESCAPE '\\')",
                &[
                    Bind::Text("superseded".to_owned()),
                    Bind::I64(20_230_201),
                    Bind::I64(20_230_331),
                    Bind::Text("%recall%".to_owned()),
                ][..]
            )
        );
    }
}
