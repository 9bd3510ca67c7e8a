//! Partial updates: a field left out stays as it is, a field sent as `null` is cleared.

use serde::{Deserialize, Deserializer};

/// For `#[serde(default, deserialize_with = "patch::nullable")]` on an `Option<Option<T>>`:
/// absent → `None`, `null` → `Some(None)`, a value → `Some(Some(value))`.
pub fn nullable<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct Patch {
        #[serde(default, deserialize_with = "super::nullable")]
        bio: Option<Option<String>>,
    }

    #[test]
    fn absent_null_and_value_differ() {
        let parse = |json: &str| serde_json::from_str::<Patch>(json).unwrap().bio;
        assert_eq!(parse("{}"), None);
        assert_eq!(parse(r#"{"bio": null}"#), Some(None));
        assert_eq!(parse(r#"{"bio": "x"}"#), Some(Some("x".into())));
    }
}
