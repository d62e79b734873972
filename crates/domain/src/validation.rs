//! Validation errors and the collector that gathers every violation of an input.
//!
//! Value-type constructors return [`ValueError`] (they do not know where the value sits in a
//! request); entity validation returns [`ValidationError`], a list of [`FieldViolation`]s with
//! field paths such as `parties[1].organization`, so the edge can report all of them at once
//! (AIP-193 `BadRequest`).

use std::fmt;

/// Longest accepted name, title or short label, in characters.
pub const NAME_MAX_CHARS: usize = 200;

/// Longest accepted free text (summaries, descriptions, quotes), in characters.
pub const TEXT_MAX_CHARS: usize = 10_000;

/// Most characters of a rejected value an error message repeats.
pub const SHOWN_MAX_CHARS: usize = 32;

/// A rejected value as error messages quote it: the whole value when short, else its first
/// [`SHOWN_MAX_CHARS`] characters and its length, so a huge input is never echoed back.
#[derive(Clone, Copy, Debug)]
pub struct Shown<'a>(pub &'a str);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let chars = self.0.chars().count();
        if chars <= SHOWN_MAX_CHARS {
            write!(f, "{:?}", self.0)
        } else {
            let end = self
                .0
                .char_indices()
                .nth(SHOWN_MAX_CHARS)
                .map_or(self.0.len(), |(i, _)| i);
            write!(f, "{:?}… ({chars} characters)", &self.0[..end])
        }
    }
}

/// Why a single value was rejected; carries no field path.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ValueError(pub String);

impl ValueError {
    /// Creates a value error with the given description.
    pub fn new(description: impl Into<String>) -> Self {
        Self(description.into())
    }

    /// The human-readable description.
    pub fn description(&self) -> &str {
        &self.0
    }
}

/// One rejected field: its path within the input and why it was rejected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldViolation {
    /// Path of the field, e.g. `parties[1].organization`.
    pub field: String,
    /// Why the field was rejected.
    pub description: String,
}

impl FieldViolation {
    /// Creates a violation for `field`.
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            description: description.into(),
        }
    }
}

impl fmt::Display for FieldViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.description)
    }
}

/// Every violation found in one input; never empty.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ValidationError {
    violations: Vec<FieldViolation>,
}

impl ValidationError {
    /// An error with exactly one violation.
    pub fn single(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            violations: vec![FieldViolation::new(field, description)],
        }
    }

    /// The violations, in the order they were found.
    pub fn violations(&self) -> &[FieldViolation] {
        &self.violations
    }

    /// Consumes the error, returning its violations.
    pub fn into_violations(self) -> Vec<FieldViolation> {
        self.violations
    }

    /// Field paths of all violations, in order (handy for tests and logs).
    pub fn fields(&self) -> Vec<&str> {
        self.violations.iter().map(|v| v.field.as_str()).collect()
    }
}

#[cfg(test)]
mod shown_tests {
    use super::*;

    #[test]
    fn long_values_are_shown_as_a_prefix_and_a_length() {
        assert_eq!(Shown("CN").to_string(), "\"CN\"");
        let long = "é".repeat(20_000);
        let shown = Shown(&long).to_string();
        assert!(shown.len() < 100, "{shown}");
        assert!(shown.ends_with("(20000 characters)"), "{shown}");
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, violation) in self.violations.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{violation}")?;
        }
        Ok(())
    }
}

/// Collects field violations so validation reports every fault, not just the first.
#[derive(Clone, Debug, Default)]
pub struct Violations {
    violations: Vec<FieldViolation>,
}

impl Violations {
    /// An empty collector.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a violation of `field`.
    pub fn push(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.violations
            .push(FieldViolation::new(field, description));
    }

    /// Returns the value of `r`, or records its error under `field` and returns `None`.
    pub fn check<T>(&mut self, field: impl Into<String>, r: Result<T, ValueError>) -> Option<T> {
        match r {
            Ok(value) => Some(value),
            Err(ValueError(description)) => {
                self.push(field, description);
                None
            }
        }
    }

    /// Records the violations of a nested value, prefixing their paths with `prefix`.
    ///
    /// Nested paths become `prefix.field`; a nested path that already starts with an index
    /// (`[2].x`) is appended directly (`prefix[2].x`), and an empty nested path becomes `prefix`.
    pub fn extend_prefixed(&mut self, prefix: &str, err: ValidationError) {
        for violation in err.violations {
            let field = join_path(prefix, &violation.field);
            self.violations.push(FieldViolation {
                field,
                description: violation.description,
            });
        }
    }

    /// Records the violations of a nested result (if any) under `prefix`; returns the value.
    pub fn check_nested<T>(&mut self, prefix: &str, r: Result<T, ValidationError>) -> Option<T> {
        match r {
            Ok(value) => Some(value),
            Err(err) => {
                self.extend_prefixed(prefix, err);
                None
            }
        }
    }

    /// True when no violation has been recorded.
    pub fn is_empty(&self) -> bool {
        self.violations.is_empty()
    }

    /// Number of violations recorded so far.
    pub fn len(&self) -> usize {
        self.violations.len()
    }

    /// `Ok(())` when nothing was recorded, otherwise every violation.
    pub fn finish(self) -> Result<(), ValidationError> {
        if self.violations.is_empty() {
            Ok(())
        } else {
            Err(ValidationError {
                violations: self.violations,
            })
        }
    }
}

fn join_path(prefix: &str, nested: &str) -> String {
    if nested.is_empty() {
        prefix.to_owned()
    } else if prefix.is_empty() {
        nested.to_owned()
    } else if nested.starts_with('[') {
        format!("{prefix}{nested}")
    } else {
        format!("{prefix}.{nested}")
    }
}

/// A required single-line text: trimmed, non-empty, at most `max_chars` characters, no
/// control characters.
pub fn required_text(value: &str, max_chars: usize) -> Result<String, ValueError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(ValueError::new("must not be empty"));
    }
    check_length(trimmed, max_chars)?;
    if trimmed.chars().any(char::is_control) {
        return Err(ValueError::new("must not contain control characters"));
    }
    Ok(trimmed.to_owned())
}

/// An optional single-line text: like [`required_text`], but empty or blank means `None`.
pub fn optional_text(value: &str, max_chars: usize) -> Result<Option<String>, ValueError> {
    if value.trim().is_empty() {
        Ok(None)
    } else {
        required_text(value, max_chars).map(Some)
    }
}

/// A required multi-line text: like [`required_text`] but line feeds, carriage returns
/// and tabs are allowed (summaries, quotes).
pub fn long_text(value: &str, max_chars: usize) -> Result<String, ValueError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(ValueError::new("must not be empty"));
    }
    check_length(trimmed, max_chars)?;
    if trimmed
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(ValueError::new(
            "must not contain control characters other than line breaks and tabs",
        ));
    }
    Ok(trimmed.to_owned())
}

/// An optional multi-line text: like [`long_text`], but empty or blank means `None`.
pub fn optional_long_text(value: &str, max_chars: usize) -> Result<Option<String>, ValueError> {
    if value.trim().is_empty() {
        Ok(None)
    } else {
        long_text(value, max_chars).map(Some)
    }
}

fn check_length(value: &str, max_chars: usize) -> Result<(), ValueError> {
    // Count characters, not bytes: Chinese names are three bytes per character in UTF-8.
    let chars = value.chars().count();
    if chars > max_chars {
        return Err(ValueError(format!(
            "must be at most {max_chars} characters (got {chars})"
        )));
    }
    Ok(())
}

/// Checks that an already-held text satisfies [`required_text`] unchanged (used by entity
/// `validate` on public fields, which may have been set without a constructor).
pub(crate) fn check_required_text(
    violations: &mut Violations,
    field: &str,
    value: &str,
    max_chars: usize,
) {
    match required_text(value, max_chars) {
        Ok(clean) if clean != value => {
            violations.push(field, "must not have leading or trailing whitespace");
        }
        Ok(_) => {}
        Err(ValueError(description)) => violations.push(field, description),
    }
}

/// Checks that an already-held text satisfies [`long_text`] unchanged.
pub(crate) fn check_long_text(
    violations: &mut Violations,
    field: &str,
    value: &str,
    max_chars: usize,
) {
    match long_text(value, max_chars) {
        Ok(clean) if clean != value => {
            violations.push(field, "must not have leading or trailing whitespace");
        }
        Ok(_) => {}
        Err(ValueError(description)) => violations.push(field, description),
    }
}

/// Checks that `items` has at least one element (unless `required` is false) and no
/// element twice; duplicates are reported as `field[i]`.
pub(crate) fn check_list<T: Eq + std::hash::Hash>(
    violations: &mut Violations,
    field: &str,
    items: &[T],
    required: bool,
) {
    if required && items.is_empty() {
        violations.push(field, "must not be empty");
    }
    let mut seen = std::collections::HashMap::new();
    for (i, item) in items.iter().enumerate() {
        match seen.get(item) {
            Some(first) => {
                violations.push(
                    format!("{field}[{i}]"),
                    format!("duplicates {field}[{first}]"),
                );
            }
            None => {
                seen.insert(item, i);
            }
        }
    }
}

/// Checks that every cited source list has at least one source and none twice.
pub(crate) fn check_sources(violations: &mut Violations, sources: &[crate::ids::SourceId]) {
    if sources.is_empty() {
        violations.push("sources", "at least one source is required");
    }
    check_list(violations, "sources", sources, false);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collector_reports_every_violation_in_order() {
        let mut v = Violations::new();
        v.push("a", "bad");
        assert_eq!(v.check::<u8>("b", Err(ValueError::new("worse"))), None);
        assert_eq!(v.check("c", Ok(3)), Some(3));
        let err = v.finish().unwrap_err();
        assert_eq!(err.fields(), vec!["a", "b"]);
        assert_eq!(err.to_string(), "a: bad; b: worse");
    }

    #[test]
    fn empty_collector_finishes_ok() {
        assert!(Violations::new().finish().is_ok());
    }

    #[test]
    fn nested_violations_are_prefixed_with_dot_or_index() {
        let mut v = Violations::new();
        v.extend_prefixed("parties[1]", ValidationError::single("organization", "x"));
        v.extend_prefixed("figures", ValidationError::single("[3].period", "y"));
        v.extend_prefixed("stake", ValidationError::single("", "z"));
        let err = v.finish().unwrap_err();
        assert_eq!(
            err.fields(),
            vec!["parties[1].organization", "figures[3].period", "stake"]
        );
    }

    #[test]
    fn required_text_trims_and_rejects_blank_long_and_control() {
        assert_eq!(required_text("  Nissan ", 10).unwrap(), "Nissan");
        assert!(required_text("   ", 10).is_err());
        assert!(required_text("a\nb", 10).is_err());
        assert!(required_text("abcdef", 5).is_err());
        // Limits count characters, not bytes.
        assert_eq!(required_text("东风日产", 4).unwrap(), "东风日产");
    }

    #[test]
    fn optional_text_maps_blank_to_none() {
        assert_eq!(optional_text(" ", 10).unwrap(), None);
        assert_eq!(optional_text("x", 10).unwrap(), Some("x".to_owned()));
        assert!(optional_text("x\u{0}", 10).is_err());
    }

    #[test]
    fn long_text_allows_line_breaks_and_tabs_only() {
        assert_eq!(long_text("a\n\tb", 10).unwrap(), "a\n\tb");
        assert!(long_text("a\u{7}b", 10).is_err());
        assert_eq!(optional_long_text("", 10).unwrap(), None);
    }
}
