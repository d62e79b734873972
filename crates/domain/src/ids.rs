//! Resource identifiers: stable slugs following the AIP-122 resource-id rule.
//!
//! An id is 1–63 characters of lowercase ASCII letters, digits and hyphens, starting with a
//! letter and not ending with a hyphen (`nissan-china`, `dongfeng-nissan`). Ids are chosen by
//! the caller or by the service; this crate only checks them.

use crate::validation::ValueError;

/// Longest accepted id, in characters (AIP-122).
pub const ID_MAX_CHARS: usize = 63;

/// Checks the AIP-122 rule `^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$`.
pub fn check_resource_id(value: &str) -> Result<(), ValueError> {
    let bytes = value.as_bytes();
    let Some((&first, _)) = bytes.split_first() else {
        return Err(ValueError::new("id must not be empty"));
    };
    if bytes.len() > ID_MAX_CHARS {
        return Err(ValueError(format!(
            "id must be at most {ID_MAX_CHARS} characters (got {})",
            value.chars().count()
        )));
    }
    if !first.is_ascii_lowercase() {
        return Err(ValueError(format!(
            "id {} must start with a lowercase letter",
            crate::validation::Shown(value)
        )));
    }
    if !bytes
        .iter()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
    {
        return Err(ValueError(format!(
            "id {} may contain only lowercase letters, digits and hyphens",
            crate::validation::Shown(value)
        )));
    }
    if bytes.last() == Some(&b'-') {
        return Err(ValueError(format!(
            "id {} must not end with a hyphen",
            crate::validation::Shown(value)
        )));
    }
    Ok(())
}

macro_rules! resource_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Parses an id, checking the AIP-122 rule.
            pub fn parse(value: &str) -> Result<Self, ValueError> {
                check_resource_id(value)?;
                Ok(Self(value.to_owned()))
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// Consumes the id, returning its text.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = ValueError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

resource_id!(
    /// Identifies an organisation (`organizations/{id}`), e.g. `nissan-china`.
    OrganizationId
);
resource_id!(
    /// Identifies a relationship between two organisations (`relationships/{id}`).
    RelationshipId
);
resource_id!(
    /// Identifies a partnership (`partnerships/{id}`).
    PartnershipId
);
resource_id!(
    /// Identifies an event (`events/{id}`).
    EventId
);
resource_id!(
    /// Identifies a quantitative target (`targets/{id}`).
    TargetId
);
resource_id!(
    /// Identifies a person (`people/{id}`).
    PersonId
);
resource_id!(
    /// Identifies a source document (`sources/{id}`).
    SourceId
);
resource_id!(
    /// Identifies one sales figure revision (`salesFigures/{id}`).
    SalesFigureId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_accepts_aip122_slugs() {
        for ok in [
            "a",
            "nissan-china",
            "dpca",
            "kia-yancheng-plant-2",
            &"a".repeat(63),
        ] {
            assert_eq!(OrganizationId::parse(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn id_rejects_anything_outside_aip122() {
        for bad in [
            "",
            "1abc",
            "-abc",
            "abc-",
            "Nissan",
            "nissan_china",
            "nissan china",
            "日产",
            &"a".repeat(64),
        ] {
            assert!(OrganizationId::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn id_displays_and_parses_back() {
        let id: EventId = "dpca-export-base".parse().unwrap();
        assert_eq!(id.to_string(), "dpca-export-base");
    }
}
