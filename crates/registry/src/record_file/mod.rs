//! The registry-record file: the format of the seed (`data/seed/registry.toml`), which
//! `autointel apply` reads and `autointel records export` writes, in TOML or YAML (the same
//! structure).
//!
//! One section a resource (`sources`, `organizations`, `relationships`, `people`,
//! `partnerships`, `events`, `targets`); each entry has the record's `id` and its fields
//! under their wire names, enum values as lower-case tokens (`joint_venture`), dates to
//! their precision (`2023-12-17`, `2023-08`, `2023-Q4`, `2016`), month ranges as
//! `2026-01..2026-12`, stakes as percentages (`"50"`). Output-only fields are not part of it
//! (etags, times, an event's `superseded_by` and `targets`). `entries` holds the serde
//! structs, `read` turns them into validated domain values (every violation with its path,
//! `events[2].occurred_date`), `write` turns domain values back into entries.

mod entries;
mod read;
mod write;

use autointel_domain::{
    Event, Organization, Partnership, Person, Relationship, Source, Target, ValidationError,
    Violations,
};

/// The registry's records, as domain values.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Dataset {
    /// Sources.
    pub sources: Vec<Source>,
    /// Organisations.
    pub organizations: Vec<Organization>,
    /// Relationships.
    pub relationships: Vec<Relationship>,
    /// People.
    pub people: Vec<Person>,
    /// Partnerships.
    pub partnerships: Vec<Partnership>,
    /// Events.
    pub events: Vec<Event>,
    /// Targets.
    pub targets: Vec<Target>,
}

/// The two spellings of the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileFormat {
    /// TOML, as the seed is written.
    Toml,
    /// YAML with the same structure.
    Yaml,
}

impl FileFormat {
    /// The format a file name implies: `.yaml` and `.yml` are YAML, anything else TOML.
    pub fn of_path(path: &std::path::Path) -> Self {
        match path.extension().and_then(|e| e.to_str()) {
            Some(ext) if ext.eq_ignore_ascii_case("yaml") || ext.eq_ignore_ascii_case("yml") => {
                Self::Yaml
            }
            _ => Self::Toml,
        }
    }
}

/// Why a file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The text is not TOML (YAML) of the expected shape; the parser's message names where.
    #[error("{0}")]
    Syntax(String),
    /// Entries break domain rules; every violation with its path.
    #[error("entries are invalid: {0}")]
    Invalid(ValidationError),
    /// The records could not be written in the format.
    #[error("cannot write the records: {0}")]
    Write(String),
}

/// Parses and validates a file; every bad entry is reported with its path.
pub fn parse(text: &str, format: FileFormat) -> Result<Dataset, FileError> {
    let file: entries::File = match format {
        FileFormat::Toml => toml::from_str(text).map_err(|e| FileError::Syntax(e.to_string()))?,
        FileFormat::Yaml => {
            serde_norway::from_str(text).map_err(|e| FileError::Syntax(e.to_string()))?
        }
    };
    let mut v = Violations::new();
    let dataset = Dataset {
        sources: read::convert_all(&mut v, "sources", &file.sources, read::source),
        organizations: read::convert_all(
            &mut v,
            "organizations",
            &file.organizations,
            read::organization,
        ),
        relationships: read::convert_all(
            &mut v,
            "relationships",
            &file.relationships,
            read::relationship,
        ),
        people: read::convert_all(&mut v, "people", &file.people, read::person),
        partnerships: read::convert_all(
            &mut v,
            "partnerships",
            &file.partnerships,
            read::partnership,
        ),
        events: read::convert_all(&mut v, "events", &file.events, read::event),
        targets: read::convert_all(&mut v, "targets", &file.targets, read::target),
    };
    v.finish().map_err(FileError::Invalid)?;
    Ok(dataset)
}

/// The file holding `data`, entries in the order given.
pub fn to_text(data: &Dataset, format: FileFormat) -> Result<String, FileError> {
    let file = entries::File {
        sources: data.sources.iter().map(write::source).collect(),
        organizations: data.organizations.iter().map(write::organization).collect(),
        relationships: data.relationships.iter().map(write::relationship).collect(),
        people: data.people.iter().map(write::person).collect(),
        partnerships: data.partnerships.iter().map(write::partnership).collect(),
        events: data.events.iter().map(write::event).collect(),
        targets: data.targets.iter().map(write::target).collect(),
    };
    match format {
        FileFormat::Toml => toml::to_string(&file).map_err(|e| FileError::Write(e.to_string())),
        FileFormat::Yaml => {
            serde_norway::to_string(&file).map_err(|e| FileError::Write(e.to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: &str = include_str!("../../../../data/seed/registry.toml");

    #[test]
    fn the_seed_round_trips_through_both_formats() {
        let seed = parse(SEED, FileFormat::Toml).map_err(|e| e.to_string());
        let Ok(seed) = seed else {
            panic!("the seed parses: {seed:?}");
        };
        for format in [FileFormat::Toml, FileFormat::Yaml] {
            let text = to_text(&seed, format).map_err(|e| e.to_string());
            let again = text
                .and_then(|t| parse(&t, format).map_err(|e| e.to_string()))
                .map_err(|e| format!("{format:?}: {e}"));
            assert_eq!(again.as_ref().ok(), Some(&seed), "{format:?}: {again:?}");
        }
    }

    #[test]
    fn bad_entries_are_reported_with_their_paths() {
        let text = r#"
[[organizations]]
id = "Bad Id"
kind = "automaker"
english_name = "X"
country_code = "jp"

[[relationships]]
id = "r"
kind = "owns"
parent = "a"
child = "b"
stake_percent = "150"
sources = []
"#;
        let Err(FileError::Invalid(err)) = parse(text, FileFormat::Toml) else {
            panic!("expected invalid");
        };
        assert_eq!(
            err.fields(),
            [
                "organizations[0].id",
                "organizations[0].country_code",
                "relationships[0].stake_percent",
            ]
        );
    }

    #[test]
    fn yaml_has_the_same_structure() {
        let yaml = "sources:\n- id: s1\n  kind: news\n  publisher: P\n  title: T\n  published_date: 2023-12-17\n";
        let data = parse(yaml, FileFormat::Yaml).map_err(|e| e.to_string());
        let Ok(data) = data else {
            panic!("{data:?}");
        };
        assert_eq!(data.sources.len(), 1);
        assert_eq!(
            data.sources[0].published_date.map(|d| d.to_string()),
            Some("2023-12-17".to_owned())
        );
        let unknown = parse("sources:\n- id: s1\n  colour: red\n", FileFormat::Yaml);
        assert!(matches!(unknown, Err(FileError::Syntax(_))), "{unknown:?}");
    }
}
