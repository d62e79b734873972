//! Organisations: groups, automakers, joint ventures, brands, plants, universities, ….
//!
//! A legal entity is not its group: "Nissan China Investment Co." (`nissan-china`), "Nissan"
//! and "Dongfeng Nissan" are three organisations linked by relationships.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use crate::enums::OrganizationKind;
use crate::ids::OrganizationId;
use crate::validation::{
    NAME_MAX_CHARS, ValidationError, ValueError, Violations, check_required_text,
};

/// Most aliases one organisation may have (each at most `NAME_MAX_CHARS`), so that a
/// record, a list page and a lookup stay bounded.
pub const MAX_ALIASES: usize = 64;

/// The write rule on names: none may hold an invisible or direction-override character
/// (records stored before the rule stay readable; start-up reports them). `prefix` is the
/// request field of the organisation, e.g. `organization`.
pub fn check_visible_names(v: &mut Violations, prefix: &str, org: &Organization) {
    let names = std::iter::once(("english_name".to_owned(), org.english_name.as_str()))
        .chain(
            org.chinese_name
                .as_deref()
                .map(|n| ("chinese_name".to_owned(), n)),
        )
        .chain(
            org.aliases
                .iter()
                .enumerate()
                .map(|(i, a)| (format!("aliases[{i}]"), a.as_str())),
        );
    for (field, name) in names {
        if let Err(e) = crate::text::check_visible(name) {
            v.push(format!("{prefix}.{field}"), e.description());
        }
    }
}

/// The write rule on aliases: at most [`MAX_ALIASES`]; `field` names them in the request.
pub fn check_alias_count(v: &mut Violations, field: &str, count: usize) {
    if count > MAX_ALIASES {
        v.push(
            field,
            format!("at most {MAX_ALIASES} aliases per organisation (got {count})"),
        );
    }
}

/// The write rule on aliases: no two share a match key (`field` names them in the request,
/// e.g. `organization.aliases`). A write rule, not part of [`Organization::validate`]: the
/// match key grows (full-width forms, then traditional and simplified Chinese), and a
/// record stored with two aliases that only a newer key makes equal must stay readable;
/// an update must then drop one of them.
pub fn check_distinct_aliases<S: AsRef<str>>(v: &mut Violations, field: &str, aliases: &[S]) {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, alias) in aliases.iter().enumerate() {
        let key = fold_name(alias.as_ref());
        if key.is_empty() {
            continue;
        }
        match seen.get(&key) {
            Some(first) => v.push(
                format!("{field}[{i}]"),
                format!("duplicates {field}[{first}]"),
            ),
            None => {
                seen.insert(key, i);
            }
        }
    }
}

/// An ISO 3166-1 alpha-2 country code, e.g. `CN`, `JP` (format checked, not the assignment).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CountryCode(String);

impl CountryCode {
    /// Parses two uppercase ASCII letters.
    pub fn parse(code: &str) -> Result<Self, ValueError> {
        if code.len() != 2 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(ValueError(format!(
                "country must be an ISO 3166-1 alpha-2 code such as CN (got {})",
                crate::validation::Shown(code)
            )));
        }
        Ok(Self(code.to_owned()))
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for CountryCode {
    type Err = ValueError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// A company, brand, plant, university or public body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Organization {
    /// Stable id, e.g. `dongfeng-nissan`.
    pub id: OrganizationId,
    /// What kind of organisation it is.
    pub kind: OrganizationKind,
    /// English name.
    pub english_name: String,
    /// Chinese name, if known.
    pub chinese_name: Option<String>,
    /// Other names it is known by (abbreviations, former names), e.g. `DPCA`.
    pub aliases: Vec<String>,
    /// Country of registration or location.
    pub country_code: Option<CountryCode>,
}

impl Organization {
    /// Checks names and aliases, reporting every violation. (The alias count and distinct
    /// aliases are rules for writes, [`check_alias_count`] and [`check_distinct_aliases`],
    /// so records stored before them stay readable.)
    pub fn validate(&self) -> Result<(), ValidationError> {
        let mut v = Violations::new();
        check_required_text(&mut v, "english_name", &self.english_name, NAME_MAX_CHARS);
        if let Some(chinese_name) = &self.chinese_name {
            check_required_text(&mut v, "chinese_name", chinese_name, NAME_MAX_CHARS);
        }
        for (i, alias) in self.aliases.iter().enumerate() {
            check_required_text(&mut v, &format!("aliases[{i}]"), alias, NAME_MAX_CHARS);
        }
        v.finish()
    }

    /// True when `query` equals the English or Chinese name or an alias by match key.
    pub fn matches_name(&self, query: &str) -> bool {
        let query = fold_name(query);
        if query.is_empty() {
            return false;
        }
        std::iter::once(self.english_name.as_str())
            .chain(self.chinese_name.as_deref())
            .chain(self.aliases.iter().map(String::as_str))
            .any(|name| fold_name(name) == query)
    }
}

/// A name's match key, for comparisons ([`crate::text::match_key`]).
fn fold_name(name: &str) -> String {
    crate::text::match_key(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dpca() -> Organization {
        Organization {
            id: OrganizationId::parse("dpca").unwrap(),
            kind: OrganizationKind::JointVenture,
            english_name: "Dongfeng Peugeot-Citroën Automobile".to_owned(),
            chinese_name: Some("神龙汽车".to_owned()),
            aliases: vec!["DPCA".to_owned(), "Shenlong".to_owned()],
            country_code: Some(CountryCode::parse("CN").unwrap()),
        }
    }

    #[test]
    fn valid_organization_passes() {
        assert_eq!(dpca().validate(), Ok(()));
    }

    #[test]
    fn organization_reports_blank_name_and_every_bad_alias() {
        let mut org = dpca();
        org.english_name = " ".to_owned();
        org.aliases = vec!["DPCA".to_owned(), String::new(), "dpca".to_owned()];
        let err = org.validate().unwrap_err();
        assert_eq!(err.fields(), ["english_name", "aliases[1]"]);

        let mut v = Violations::new();
        check_distinct_aliases(&mut v, "aliases", &org.aliases);
        let err = v.finish().unwrap_err();
        assert_eq!(err.fields(), ["aliases[2]"]);
        assert_eq!(err.violations()[0].description, "duplicates aliases[0]");
        let mut v = Violations::new();
        check_distinct_aliases(&mut v, "aliases", &["日產", "ＤＦ", "日产", "df"]);
        assert_eq!(
            v.finish().unwrap_err().fields(),
            ["aliases[2]", "aliases[3]"]
        );

        let mut v = Violations::new();
        check_alias_count(&mut v, "organization.aliases", MAX_ALIASES);
        assert!(v.finish().is_ok());
        let mut v = Violations::new();
        check_alias_count(&mut v, "organization.aliases", MAX_ALIASES + 1);
        assert_eq!(v.finish().unwrap_err().fields(), ["organization.aliases"]);
    }

    #[test]
    fn name_matching_ignores_case_and_whitespace_but_not_substrings() {
        let org = dpca();
        assert!(org.matches_name("dpca"));
        assert!(org.matches_name("  DONGFENG PEUGEOT-CITROËN AUTOMOBILE "));
        assert!(org.matches_name("神龙汽车"));
        assert!(org.matches_name("神龍汽車"), "traditional spelling");
        assert!(!org.matches_name("Dongfeng"));
        assert!(!org.matches_name(""));
    }

    #[test]
    fn country_code_is_two_uppercase_letters() {
        assert!(CountryCode::parse("JP").is_ok());
        for bad in ["jp", "JPN", "J", "", "J1"] {
            assert!(CountryCode::parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
