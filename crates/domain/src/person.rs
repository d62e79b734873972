//! People quoted or involved in events (executives, officials).

use crate::ids::{OrganizationId, PersonId};
use crate::validation::{NAME_MAX_CHARS, ValidationError, Violations, check_required_text};

/// A person, e.g. Makoto Uchida, CEO of Nissan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Person {
    /// Stable id, e.g. `makoto-uchida`.
    pub id: PersonId,
    /// Name in Latin script.
    pub display_name: String,
    /// Chinese name, if known.
    pub chinese_name: Option<String>,
    /// Current or best-known title, e.g. `President and CEO`.
    pub title: Option<String>,
    /// The organisation the title belongs to.
    pub organization: Option<OrganizationId>,
}

impl Person {
    /// Checks names and title, reporting every violation.
    pub fn validate(&self) -> Result<(), ValidationError> {
        let mut v = Violations::new();
        check_required_text(&mut v, "display_name", &self.display_name, NAME_MAX_CHARS);
        if let Some(chinese_name) = &self.chinese_name {
            check_required_text(&mut v, "chinese_name", chinese_name, NAME_MAX_CHARS);
        }
        if let Some(title) = &self.title {
            check_required_text(&mut v, "title", title, NAME_MAX_CHARS);
        }
        v.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn person_reports_every_bad_text() {
        let person = Person {
            id: PersonId::parse("makoto-uchida").unwrap(),
            display_name: String::new(),
            chinese_name: Some("内田\n诚".to_owned()),
            title: Some("CEO".to_owned()),
            organization: None,
        };
        assert_eq!(
            person.validate().unwrap_err().fields(),
            ["display_name", "chinese_name"]
        );
        let ok = Person {
            display_name: "Makoto Uchida".to_owned(),
            chinese_name: None,
            ..person
        };
        assert_eq!(ok.validate(), Ok(()));
    }
}
