//! Names as text: stored in Unicode NFC, free of invisible and direction-override
//! characters, and compared through one match key.
//!
//! The match key is what uniqueness of an organisation's names and every name lookup use:
//! compatibility forms folded (NFKC: full-width letters, ligatures), lower-cased,
//! traditional Chinese folded to simplified (OpenCC's phrase and character tables, so
//! `日產中國` and `日产中国` share a key), inner whitespace collapsed to one space, ends
//! trimmed. It is computed here, in Rust, and stored beside the names (the registry's
//! `organization_names`); [`MATCH_KEY_VERSION`] changes whenever the key does, and stores
//! recompute their keys when it does.

use std::sync::LazyLock;

use ferrous_opencc::OpenCC;
use ferrous_opencc::config::BuiltinConfig;
use unicode_normalization::UnicodeNormalization as _;
use unicode_normalization::is_nfc;

use crate::validation::{Shown, ValueError};

/// The version of [`match_key`]; bumped whenever its definition changes (1: trimmed and
/// lower-cased; 2: NFKC, inner whitespace; 3: traditional Chinese folded to simplified).
pub const MATCH_KEY_VERSION: i64 = 3;

/// Most rounds of traditional → simplified folding: one almost always reaches a fixed
/// point; a second settles the rare phrase whose simplified form is itself a key.
const MAX_FOLD_ROUNDS: usize = 3;

/// OpenCC's traditional → simplified conversion, built once from the tables compiled into
/// the binary (no I/O). Building it can fail only if those tables are broken, which the
/// unit tests would show; every key would then be wrong, so it fails loudly.
static T2S: LazyLock<OpenCC> = LazyLock::new(|| {
    #[allow(clippy::expect_used)]
    OpenCC::from_config(BuiltinConfig::T2s).expect("the built-in OpenCC t2s tables load")
});

/// The key names are matched by (see the module).
pub fn match_key(name: &str) -> String {
    let folded: String = name.nfkc().flat_map(char::to_lowercase).collect();
    simplified(folded.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// `text` with traditional Chinese folded to simplified, to a fixed point; text without
/// Han characters is returned as it is, without touching the tables.
fn simplified(text: String) -> String {
    if !text.chars().any(is_han) {
        return text;
    }
    let mut current = text;
    for _ in 0..MAX_FOLD_ROUNDS {
        let next = T2S.convert(&current);
        if next == current {
            break;
        }
        current = next;
    }
    current
}

/// True for CJK ideographs (the unified blocks, their extensions and the compatibility
/// block, which NFKC has already folded), the characters OpenCC's tables convert.
fn is_han(c: char) -> bool {
    matches!(
        c,
        '\u{3400}'..='\u{4DBF}'
            | '\u{4E00}'..='\u{9FFF}'
            | '\u{F900}'..='\u{FAFF}'
            | '\u{20000}'..='\u{3FFFF}'
    )
}

/// The keys of earlier versions that binaries still running beside this one (during a
/// rolling upgrade, or a rollback) may have written: version 1 (trimmed and lower-cased)
/// and version 2 (the current key without Chinese folding). Lookups accept them too, so a
/// name written by an older binary is found by its own spelling until start-up recomputes
/// every stored key.
pub fn legacy_match_keys(name: &str) -> Vec<String> {
    let v1 = name.trim().to_lowercase();
    let v2: String = name.nfkc().flat_map(char::to_lowercase).collect();
    let v2 = v2.split_whitespace().collect::<Vec<_>>().join(" ");
    if v1 == v2 { vec![v1] } else { vec![v1, v2] }
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
    fn traditional_and_simplified_chinese_share_one_key() {
        for (traditional, simplified) in [
            ("日產中國", "日产中国"),
            ("東風汽車", "东风汽车"),
            ("廣汽豐田", "广汽丰田"),
            ("長安馬自達", "长安马自达"),
            ("上汽通用五菱", "上汽通用五菱"),
            ("華晨寶馬", "华晨宝马"),
            ("臺灣", "台湾"),
        ] {
            assert_eq!(match_key(traditional), simplified, "{traditional}");
            assert_eq!(match_key(simplified), simplified, "{simplified}");
        }
    }

    #[test]
    fn chinese_folding_goes_with_width_case_and_whitespace() {
        // full-width Latin, case, inner and outer whitespace and traditional characters
        assert_eq!(match_key("  ＤＦ   日產 \t"), "df 日产");
        assert_eq!(
            match_key("Dongfeng 日產 Motor"),
            match_key("dongfeng  日产 MOTOR")
        );
        assert_eq!(match_key("Nissan (中國)"), "nissan (中国)");
        assert_eq!(match_key("東風日產"), match_key("东风日产"));
        // the ideographic space is whitespace after NFKC
        assert_eq!(match_key("東風\u{3000}日產"), "东风 日产");
        // Latin-only names are untouched by the tables
        assert_eq!(match_key("Citro\u{00EB}n"), "citro\u{00EB}n");
    }

    #[test]
    fn the_key_is_idempotent_on_chinese_names() {
        for name in [
            "日產中國",
            "乾燥",
            "著名",
            "後來",
            "鬆緊",
            "於是",
            "東風日產乘用車公司",
            "ＤＦ 日產",
        ] {
            let key = match_key(name);
            assert_eq!(match_key(&key), key, "{name}");
        }
    }

    #[test]
    fn legacy_keys_are_the_earlier_definitions() {
        assert_eq!(
            legacy_match_keys("  Dongfeng  日產 "),
            ["dongfeng  日產", "dongfeng 日產"]
        );
        assert_eq!(legacy_match_keys("nissan"), ["nissan"]);
    }

    proptest::proptest! {
        #[test]
        fn the_key_is_idempotent(name in "[ a-zA-Z\u{3000}\u{4E00}-\u{9FFF}\u{FF21}-\u{FF3A}]{0,12}") {
            let key = match_key(&name);
            proptest::prop_assert_eq!(match_key(&key), key);
        }
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
