//! Field validation: every rule of the design, reporting all offending
//! fields at once.

use std::fmt;

use chrono::NaiveDate;
use icu_properties::props::GeneralCategory;
use icu_properties::CodePointMapData;
use serde::{Deserialize, Serialize};

/// One invalid field: its name (a path such as `contacts[1].value` for nested
/// inputs), a stable machine code and a message for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// The field's name or path.
    pub field: String,
    /// A stable code: `required`, `too_short`, `too_long`, `invalid_format`,
    /// `invisible_character`, `out_of_range`.
    pub code: String,
    /// A lower-case explanation.
    pub message: String,
}

/// Every invalid field of one input, in the order checked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ValidationErrors {
    errors: Vec<FieldError>,
}

impl ValidationErrors {
    /// No errors yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// A single error.
    pub fn single(field: impl Into<String>, code: &str, message: impl Into<String>) -> Self {
        let mut errors = Self::new();
        errors.add(field, code, message);
        errors
    }

    /// Records one more invalid field.
    pub fn add(&mut self, field: impl Into<String>, code: &str, message: impl Into<String>) {
        self.errors.push(FieldError {
            field: field.into(),
            code: code.to_owned(),
            message: message.into(),
        });
    }

    /// The invalid fields.
    pub fn errors(&self) -> &[FieldError] {
        &self.errors
    }

    /// Whether no field is invalid.
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// Whether the named field is among the invalid ones.
    pub fn has(&self, field: &str) -> bool {
        self.errors.iter().any(|error| error.field == field)
    }

    /// `Ok(())` when empty, otherwise `Err(self)`.
    ///
    /// # Errors
    ///
    /// Returns the errors themselves when there is at least one.
    pub fn into_result(self) -> Result<(), ValidationErrors> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(self)
        }
    }

    /// Records a field's error, if any.
    pub(crate) fn check(&mut self, field: &str, result: Result<(), Invalid>) {
        if let Err(invalid) = result {
            self.add(field, invalid.code, invalid.message);
        }
    }

    /// Records a field's error, if any, and passes its value on.
    pub(crate) fn take<T>(&mut self, field: &str, result: Result<T, Invalid>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(invalid) => {
                self.add(field, invalid.code, invalid.message);
                None
            }
        }
    }

    /// Records every error of another input as they are.
    pub(crate) fn merge(&mut self, other: ValidationErrors) {
        self.errors.extend(other.errors);
    }

    /// Records the errors of a nested input under `prefix`.
    pub(crate) fn nest(&mut self, prefix: &str, nested: ValidationErrors) {
        for error in nested.errors {
            self.errors.push(FieldError {
                field: format!("{prefix}.{}", error.field),
                ..error
            });
        }
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, error) in self.errors.iter().enumerate() {
            if index > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{}: {}", error.field, error.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationErrors {}

/// Why one value is invalid (the field name is added by the caller).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Invalid {
    pub(crate) code: &'static str,
    pub(crate) message: String,
}

impl Invalid {
    pub(crate) fn new(code: &'static str, message: impl Into<String>) -> Self {
        Invalid {
            code,
            message: message.into(),
        }
    }

    pub(crate) fn format(message: impl Into<String>) -> Self {
        Invalid::new("invalid_format", message)
    }
}

/// Whether a search term can match nothing: validation keeps control
/// characters out of every searched or looked-up column (usernames, emails,
/// names, places, companies), and some backends cannot even bind a NUL, so
/// such a term is answered without asking the store.
pub(crate) fn matches_nothing<'a>(terms: impl IntoIterator<Item = Option<&'a str>>) -> bool {
    terms
        .into_iter()
        .flatten()
        .any(|term| term.chars().any(char::is_control))
}

/// Checks a length in characters (not bytes).
pub(crate) fn length(value: &str, min: usize, max: usize) -> Result<(), Invalid> {
    let count = value.chars().count();
    if count < min {
        if min == 1 {
            Err(Invalid::new("required", "must not be empty"))
        } else {
            Err(Invalid::new(
                "too_short",
                format!("must be at least {min} characters"),
            ))
        }
    } else if count > max {
        Err(Invalid::new(
            "too_long",
            format!("must be at most {max} characters"),
        ))
    } else {
        Ok(())
    }
}

/// Whether `c` is an invisible format character (Unicode general category
/// Cf): zero-width spaces and joiners, the soft hyphen, the byte order mark,
/// bidirectional marks, embeddings, overrides and isolates, tags.
pub(crate) fn is_invisible(c: char) -> bool {
    CodePointMapData::<GeneralCategory>::new().get(c) == GeneralCategory::Format
}

/// Refuses invisible format characters (category Cf): they make two
/// different values look the same ("admin" and "ad\u{200B}min") and
/// bidirectional overrides make text display in another order than it
/// reads (CVE-2021-42574, "Trojan Source"). Every free-text field of the
/// model passes through here, so no such character reaches storage.
pub(crate) fn visible(value: &str) -> Result<(), Invalid> {
    // No ASCII character is in category Cf (pinned by a test), and most
    // values are ASCII: skip the per-character table lookups.
    if value.is_ascii() {
        return Ok(());
    }
    match value.chars().find(|c| is_invisible(*c)) {
        Some(c) => Err(Invalid::new(
            "invisible_character",
            format!(
                "must not contain invisible or bidirectional control characters (found U+{:04X})",
                u32::from(c)
            ),
        )),
        None => Ok(()),
    }
}

/// Free text: a length limit, no invisible format characters and no
/// control characters other than line breaks and tabs.
pub(crate) fn text(value: &str, min: usize, max: usize) -> Result<(), Invalid> {
    length(value, min, max)?;
    visible(value)?;
    if value
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(Invalid::format("must not contain control characters"));
    }
    Ok(())
}

/// A one-line name: required, at most `max` characters, no control
/// characters at all, no invisible format characters, not only white
/// space.
pub(crate) fn name(value: &str, max: usize) -> Result<(), Invalid> {
    length(value, 1, max)?;
    if value.trim().is_empty() {
        return Err(Invalid::new("required", "must not be blank"));
    }
    if value.chars().any(char::is_control) {
        return Err(Invalid::format("must not contain control characters"));
    }
    visible(value)
}

/// An absolute `http` or `https` URL with a host, without invisible
/// characters (the URL parser would silently drop some of them from the
/// host, so what is shown is not what is stored).
pub(crate) fn http_url(value: &str) -> Result<(), Invalid> {
    length(value, 1, 2048)?;
    visible(value)?;
    let parsed = url::Url::parse(value).map_err(|_| Invalid::format("must be an absolute url"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none_or(str::is_empty) {
        return Err(Invalid::format("must be an http or https url"));
    }
    Ok(())
}

/// The earliest accepted date of birth.
pub(crate) const EARLIEST_BIRTH_DATE: NaiveDate = match NaiveDate::from_ymd_opt(1900, 1, 1) {
    Some(date) => date,
    None => panic!("1900-01-01 is a valid date"),
};

/// A date of birth: not in the future and not before 1900-01-01.
pub(crate) fn date_of_birth(value: NaiveDate, today: NaiveDate) -> Result<(), Invalid> {
    if value > today {
        Err(Invalid::new("out_of_range", "must not be in the future"))
    } else if value < EARLIEST_BIRTH_DATE {
        Err(Invalid::new(
            "out_of_range",
            "must not be before 1900-01-01",
        ))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_counts_characters_not_bytes() {
        assert!(length("ééé", 3, 3).is_ok());
        assert_eq!(length("ab", 3, 5).unwrap_err().code, "too_short");
        assert_eq!(length("abcdef", 3, 5).unwrap_err().code, "too_long");
        assert_eq!(length("", 1, 5).unwrap_err().code, "required");
    }

    #[test]
    fn names_reject_blank_and_control_characters() {
        assert!(name("Ada", 100).is_ok());
        assert_eq!(name("   ", 100).unwrap_err().code, "required");
        assert_eq!(name("A\u{0}da", 100).unwrap_err().code, "invalid_format");
        assert_eq!(name("A\nda", 100).unwrap_err().code, "invalid_format");
    }

    #[test]
    fn text_allows_line_breaks_but_not_other_controls() {
        assert!(text("line one\nline two\ttab", 0, 2000).is_ok());
        assert!(text("bell\u{7}", 0, 2000).is_err());
    }

    /// Zero-width spaces and joiners, the soft hyphen, the byte order
    /// mark, bidirectional marks, embeddings, overrides and isolates, word
    /// joiners and invisible operators, and tags.
    const INVISIBLE: [char; 22] = [
        '\u{AD}',
        '\u{61C}',
        '\u{200B}',
        '\u{200C}',
        '\u{200D}',
        '\u{200E}',
        '\u{200F}',
        '\u{202A}',
        '\u{202B}',
        '\u{202C}',
        '\u{202D}',
        '\u{202E}',
        '\u{2060}',
        '\u{2064}',
        '\u{2066}',
        '\u{2067}',
        '\u{2068}',
        '\u{2069}',
        '\u{FEFF}',
        '\u{FFF9}',
        '\u{E0001}',
        '\u{E007F}',
    ];

    #[test]
    fn invisible_and_bidirectional_characters_are_refused_everywhere() {
        for c in INVISIBLE {
            assert!(is_invisible(c), "U+{:04X}", u32::from(c));
            let value = format!("Ad{c}a");
            assert_eq!(name(&value, 100).unwrap_err().code, "invisible_character");
            assert_eq!(
                text(&value, 0, 2000).unwrap_err().code,
                "invisible_character"
            );
            assert_eq!(
                http_url(&format!("https://exa{c}mple.com/"))
                    .unwrap_err()
                    .code,
                "invisible_character"
            );
        }
    }

    #[test]
    fn no_ascii_character_is_invisible() {
        assert!((0..=0x7F_u8).all(|byte| !is_invisible(char::from(byte))));
        assert!(is_invisible('\u{AD}'), "the first one past ASCII");
    }

    #[test]
    fn visible_letters_marks_and_emoji_pass() {
        // Combining marks (Mn), other scripts, symbols and spaces are
        // visible: only category Cf is refused.
        for value in [
            "Zoë",
            "e\u{301}",
            "Łódź",
            "東京",
            "نور",
            "🙂",
            "a b",
            "São Paulo",
        ] {
            assert!(visible(value).is_ok(), "{value}");
            assert!(name(value, 100).is_ok(), "{value}");
        }
    }

    #[test]
    fn urls_must_be_absolute_http() {
        assert!(http_url("https://example.com/a.png").is_ok());
        assert!(http_url("http://example.com").is_ok());
        assert!(http_url("ftp://example.com/a.png").is_err());
        assert!(http_url("/relative.png").is_err());
        assert!(http_url("javascript:alert(1)").is_err());
        assert!(http_url("https://").is_err());
    }

    #[test]
    fn dates_of_birth_are_bounded() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
        assert!(date_of_birth(today, today).is_ok());
        assert!(date_of_birth(today.succ_opt().unwrap(), today).is_err());
        assert!(date_of_birth(EARLIEST_BIRTH_DATE, today).is_ok());
        assert!(date_of_birth(EARLIEST_BIRTH_DATE.pred_opt().unwrap(), today).is_err());
    }

    #[test]
    fn nested_errors_are_prefixed() {
        let mut outer = ValidationErrors::new();
        outer.nest(
            "contacts[2]",
            ValidationErrors::single("value", "invalid_format", "bad"),
        );
        assert!(outer.has("contacts[2].value"));
        assert_eq!(outer.to_string(), "contacts[2].value: bad");
    }
}
