//! The file's entries as serde reads and writes them: one struct per section, field names
//! the wire names, values in the text forms of the domain (`joint_venture`, `2023-Q4`,
//! `2026-01..2026-12`). Absent optional fields and empty lists are left out when written.

use serde::{Deserialize, Serialize};

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct File {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) sources: Vec<Source>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) organizations: Vec<Organization>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) relationships: Vec<Relationship>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) people: Vec<Person>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) partnerships: Vec<Partnership>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) events: Vec<Event>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) targets: Vec<Target>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Source {
    pub(super) id: String,
    pub(super) kind: String,
    pub(super) publisher: String,
    pub(super) title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) published_date: Option<String>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Organization {
    pub(super) id: String,
    pub(super) kind: String,
    pub(super) english_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) chinese_name: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) aliases: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) country_code: Option<String>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Relationship {
    pub(super) id: String,
    pub(super) kind: String,
    pub(super) parent: String,
    pub(super) child: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) stake_percent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) valid_from_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) valid_to_date: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) sources: Vec<String>,
    /// The parent controls the child whatever its stake.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(super) controls: bool,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Person {
    pub(super) id: String,
    pub(super) display_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) chinese_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) organization: Option<String>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Party {
    pub(super) organization: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub(super) role: String,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Partnership {
    pub(super) id: String,
    pub(super) kind: String,
    pub(super) title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) description: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) parties: Vec<Party>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) focus_areas: Vec<String>,
    pub(super) status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) announced_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) started_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) ended_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) predecessor: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) sources: Vec<String>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Participant {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) organization: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) person: Option<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub(super) role: String,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Quote {
    pub(super) speaker: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) speaker_title: Option<String>,
    pub(super) text: String,
    pub(super) language_code: String,
    pub(super) source: String,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Event {
    pub(super) id: String,
    pub(super) kind: String,
    pub(super) title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) summary: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) participants: Vec<Participant>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) occurred_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) announced_date: Option<String>,
    pub(super) status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) supersedes: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) partnership: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) quotes: Vec<Quote>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) sources: Vec<String>,
    /// The market the event concerns (a tariff's importing market).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) market: Option<String>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Metric {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) organization: Option<String>,
    pub(super) basis: String,
    pub(super) flow: String,
    pub(super) market: String,
    pub(super) scope: String,
    pub(super) powertrain: String,
    /// Export destination market, for an export series (absent: all or not stated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) destination: Option<String>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Target {
    pub(super) id: String,
    pub(super) organization: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) event: Option<String>,
    pub(super) description: String,
    pub(super) metric: Metric,
    pub(super) period: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) deadline: Option<String>,
    pub(super) threshold_units: i64,
    pub(super) comparator: String,
    pub(super) status: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) sources: Vec<String>,
}
