//! Names as text: stored in Unicode NFC, free of invisible and direction-override
//! characters, and compared through one match key.
//!
//! The match key is what uniqueness of an organisation's names and every name lookup use:
//! compatibility forms folded (NFKC: full-width letters, ligatures), lower-cased, inner
//! whitespace collapsed to one space, ends trimmed. It is computed here, in Rust, and
//! stored beside the names (the registry's `organization_names`); [`MATCH_KEY_VERSION`]
//! changes whenever the key does, and stores recompute their keys when it does.

use unicode_normalization::UnicodeNormalization as _;
use unicode_normalization::is_nfc;

use crate::validation::{Shown, ValueError};

/// The version of [`match_key`]; bumped whenever its definition changes.
pub const MATCH_KEY_VERSION: i64 = 2;

/// The key names are matched by (see the module).
pub fn match_key(name: &str) -> String {
    let folded: String = name.nfkc().flat_map(char::to_lowercase).collect();
    folded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The key of the first version (trimmed and lower-cased), which older binaries wrote;
/// lookups accept it too until every stored key has been recomputed.
pub fn legacy_match_key(name: &str) -> String {
    name.trim().to_lowercase()
}

/// `name` in NFC, the form names are stored in.
pub fn nfc(name: &str) -> String {
    if is_nfc(name) {
        name.to_owned()
    } else {
        name.nfc().collect()
    }
}

/// True when `name` is already in NFC.
pub fn is_stored_form(name: &str) -> bool {
    is_nfc(name)
}

/// True for characters a name must not contain: invisible ones (zero-width spaces and
/// joiners, word joiner, byte-order mark, soft hyphen) and bidirectional controls
/// (embeddings, overrides, isolates, marks), which make a name display as something else.
pub fn is_hidden(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{061C}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}'
    )
}

/// Refuses a name with an invisible or direction-override character, naming it.
pub fn check_visible(name: &str) -> Result<(), ValueError> {
    match name.chars().find(|&c| is_hidden(c)) {
        Some(c) => Err(ValueError(format!(
            "must not contain invisible or direction-override characters (found U+{:04X} in {})",
            u32::from(c),
            Shown(name)
        ))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn composed_and_decomposed_forms_share_one_key_and_are_stored_composed() {
        let composed = "Citro\u{00EB}n";
        let decomposed = "Citroe\u{0308}n";
        assert_ne!(composed, decomposed);
        assert_eq!(match_key(composed), match_key(decomposed));
        assert_eq!(nfc(decomposed), composed);
        assert!(is_stored_form(composed));
        assert!(!is_stored_form(decomposed));
    }

    #[test]
    fn compatibility_forms_case_and_inner_whitespace_fold() {
        assert_eq!(match_key("  ＤＰＣＡ  "), "dpca");
        assert_eq!(
            match_key("Dongfeng   Nissan\tMotor"),
            "dongfeng nissan motor"
        );
        assert_eq!(match_key("神龙汽车"), "神龙汽车");
    }

    #[test]
    fn invisible_and_bidi_characters_are_refused() {
        for bad in [
            "Nis\u{200B}san",
            "\u{FEFF}Nissan",
            "Nissan\u{202E}",
            "Ni\u{2066}ssan",
        ] {
            assert!(check_visible(bad).is_err(), "{bad:?}");
        }
        assert!(check_visible("Dongfeng Nissan 东风日产").is_ok());
    }
}
