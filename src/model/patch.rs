//! `Patch<T>`: tells "leave as is" from "clear" from "set".

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A change to an optional field.
///
/// In JSON, a missing field is [`Patch::Keep`], `null` is [`Patch::Clear`]
/// and a value is [`Patch::Set`]; annotate the field with
/// `#[serde(default, skip_serializing_if = "Patch::is_keep")]`.
///
/// ```
/// use aai_accounts::{Patch, ProfilePatch};
/// let patch: ProfilePatch = serde_json::from_str(r#"{"bio": null}"#).unwrap();
/// assert_eq!(patch.bio, Patch::Clear);
/// assert_eq!(patch.gender, Patch::Keep);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Patch<T> {
    /// Leave the field as it is.
    #[default]
    Keep,
    /// Clear the field.
    Clear,
    /// Set the field to this value.
    Set(T),
}

impl<T> Patch<T> {
    /// Whether this patch leaves the field alone.
    pub fn is_keep(&self) -> bool {
        matches!(self, Patch::Keep)
    }

    /// The new value, if one is set.
    pub fn as_set(&self) -> Option<&T> {
        match self {
            Patch::Set(value) => Some(value),
            _ => None,
        }
    }

    /// Applies the patch to the current value.
    pub fn apply(self, current: Option<T>) -> Option<T> {
        match self {
            Patch::Keep => current,
            Patch::Clear => None,
            Patch::Set(value) => Some(value),
        }
    }

    /// Converts the value of a `Set`.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Patch<U> {
        match self {
            Patch::Keep => Patch::Keep,
            Patch::Clear => Patch::Clear,
            Patch::Set(value) => Patch::Set(f(value)),
        }
    }
}

impl<T> From<Option<T>> for Patch<T> {
    /// `Some(v)` sets, `None` clears.
    fn from(value: Option<T>) -> Self {
        match value {
            Some(value) => Patch::Set(value),
            None => Patch::Clear,
        }
    }
}

impl<T: Serialize> Serialize for Patch<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Patch::Set(value) => serializer.serialize_some(value),
            Patch::Keep | Patch::Clear => serializer.serialize_none(),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Patch<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Option::<T>::deserialize(deserializer).map(Patch::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, Serialize, Deserialize)]
    struct Doc {
        #[serde(default, skip_serializing_if = "Patch::is_keep")]
        field: Patch<String>,
    }

    #[test]
    fn missing_null_and_value_are_distinct() {
        let keep: Doc = serde_json::from_str("{}").unwrap();
        let clear: Doc = serde_json::from_str(r#"{"field": null}"#).unwrap();
        let set: Doc = serde_json::from_str(r#"{"field": "x"}"#).unwrap();
        assert_eq!(keep.field, Patch::Keep);
        assert_eq!(clear.field, Patch::Clear);
        assert_eq!(set.field, Patch::Set("x".to_owned()));
    }

    #[test]
    fn serializes_back_to_the_same_shape() {
        let docs = [
            (Doc { field: Patch::Keep }, "{}"),
            (
                Doc {
                    field: Patch::Clear,
                },
                r#"{"field":null}"#,
            ),
            (
                Doc {
                    field: Patch::Set("x".into()),
                },
                r#"{"field":"x"}"#,
            ),
        ];
        for (doc, json) in docs {
            assert_eq!(serde_json::to_string(&doc).unwrap(), json);
        }
    }

    #[test]
    fn apply_keeps_clears_or_sets() {
        assert_eq!(Patch::Keep.apply(Some(1)), Some(1));
        assert_eq!(Patch::<i32>::Clear.apply(Some(1)), None);
        assert_eq!(Patch::Set(2).apply(Some(1)), Some(2));
    }
}
