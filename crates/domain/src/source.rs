//! Sources: the documents every figure and every event cites.

use crate::date::Date;
use crate::enums::SourceKind;
use crate::ids::SourceId;
use crate::validation::{
    NAME_MAX_CHARS, ValidationError, ValueError, Violations, check_required_text,
};

/// Longest accepted URL, in bytes.
pub const URL_MAX_LEN: usize = 2048;

/// A published document: an association release, customs table, press release, filing or
/// news article.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    /// Stable id.
    pub id: SourceId,
    /// Who published it.
    pub kind: SourceKind,
    /// Publisher name, e.g. `CAAM` or `Nikkei Asia`.
    pub publisher: String,
    /// Title of the document.
    pub title: String,
    /// Where it can be read, if online.
    pub uri: Option<String>,
    /// When it was published (not when the reported event happened).
    pub published_date: Option<Date>,
}

impl Source {
    /// Checks texts and the URL, reporting every violation.
    pub fn validate(&self) -> Result<(), ValidationError> {
        let mut v = Violations::new();
        check_required_text(&mut v, "publisher", &self.publisher, NAME_MAX_CHARS);
        check_required_text(&mut v, "title", &self.title, NAME_MAX_CHARS * 5);
        if let Some(uri) = &self.uri {
            v.check("uri", check_url(uri));
        }
        v.finish()
    }
}

/// Checks an absolute `http://` or `https://` URL with a host and no whitespace.
pub fn check_url(uri: &str) -> Result<(), ValueError> {
    let lower = uri.get(..8).unwrap_or(uri).to_ascii_lowercase();
    let rest = if lower.starts_with("https://") {
        &uri[8..]
    } else if lower.starts_with("http://") {
        &uri[7..]
    } else {
        return Err(ValueError::new("uri must start with http:// or https://"));
    };
    if uri.len() > URL_MAX_LEN {
        return Err(ValueError(format!(
            "uri must be at most {URL_MAX_LEN} bytes"
        )));
    }
    if uri.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(ValueError::new("uri must not contain whitespace"));
    }
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty() {
        return Err(ValueError::new("uri must have a host"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn article() -> Source {
        Source {
            id: SourceId::parse("nikkei-2023-12-18").unwrap(),
            kind: SourceKind::News,
            publisher: "Nikkei Asia".to_owned(),
            title: "Nissan to set up EV research centre with Tsinghua".to_owned(),
            uri: Some("https://asia.nikkei.com/Business/Automobiles/x".to_owned()),
            published_date: Some(Date::new(2023, 12, 18).unwrap()),
        }
    }

    #[test]
    fn valid_source_passes() {
        assert_eq!(article().validate(), Ok(()));
    }

    #[test]
    fn source_url_must_be_http_or_https_with_host() {
        for bad in [
            "ftp://x.org/a",
            "asia.nikkei.com",
            "https://",
            "https:///path",
            "http://a b",
        ] {
            let source = Source {
                uri: Some(bad.to_owned()),
                ..article()
            };
            assert_eq!(source.validate().unwrap_err().fields(), ["uri"], "{bad}");
        }
        assert!(check_url("HTTP://example.com").is_ok());
    }

    #[test]
    fn source_reports_all_faults_together() {
        let source = Source {
            publisher: String::new(),
            title: "\t".to_owned(),
            uri: Some("mailto:x@y".to_owned()),
            ..article()
        };
        assert_eq!(
            source.validate().unwrap_err().fields(),
            ["publisher", "title", "uri"]
        );
    }
}
