//! Pieces for decoding internally tagged JSON objects (`{"type": "…", <fields>}`) by hand.
//!
//! serde's derive for an internally tagged enum buffers the whole object and runs a decoder per
//! variant over the buffer; for the few large enums that are decoded often, one pass over the
//! fields is a fraction of that WebAssembly. These are the parts such a pass shares: reading the
//! tag as one of a fixed list of names, naming a field from a fixed list, and requiring a field.
//! The same pass replaces `#[serde(flatten)]` on records decoded often, which buffers the
//! object the same way.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, Error, IgnoredAny, MapAccess, Visitor};

/// Reads a tag that must be one of `names`, and yields the matching static name. The errors are
/// the derive's: `unknown variant …, expected one of …` and `… expected variant identifier`.
#[derive(Clone, Copy)]
pub struct Tag(pub &'static [&'static str]);

impl<'de> DeserializeSeed<'de> for Tag {
    type Value = &'static str;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<&'static str, D::Error> {
        d.deserialize_identifier(self)
    }
}

impl Visitor<'_> for Tag {
    type Value = &'static str;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("variant identifier")
    }

    fn visit_str<E: Error>(self, v: &str) -> Result<&'static str, E> {
        self.0
            .iter()
            .find(|name| **name == v)
            .copied()
            .ok_or_else(|| E::unknown_variant(v, self.0))
    }
}

/// The entry of `names` equal to `key`, as a static name for error messages.
pub fn field(key: &str, names: &'static [&'static str]) -> Option<&'static str> {
    names.iter().find(|name| **name == key).copied()
}

/// The next key of `map` that is one of `names`, reading past the value of any other: for
/// records whose derive ignored unknown fields.
pub fn next_known<'de, A: MapAccess<'de>>(
    map: &mut A,
    names: &'static [&'static str],
) -> Result<Option<&'static str>, A::Error> {
    skip_to_known(map, names, |_| {})
}

/// The next key of `map` that is one of `names`; every other key goes to `unknown`, its value
/// read past.
fn skip_to_known<'de, A: MapAccess<'de>>(
    map: &mut A,
    names: &'static [&'static str],
    mut unknown: impl FnMut(String),
) -> Result<Option<&'static str>, A::Error> {
    while let Some(key) = map.next_key::<String>()? {
        if let Some(known) = field(&key, names) {
            return Ok(Some(known));
        }
        map.next_value::<IgnoredAny>()?;
        unknown(key);
    }
    Ok(None)
}

/// Stores a field's value, or gives the derive's `duplicate field` error if it was set before.
pub fn set_once<T, E: Error>(slot: &mut Option<T>, value: T, name: &'static str) -> Result<(), E> {
    match slot.replace(value) {
        Some(_) => Err(E::duplicate_field(name)),
        None => Ok(()),
    }
}

/// Bookkeeping for an internally tagged object whose variants deny unknown fields: which fields
/// came besides the tag, the first field no variant has, the first one seen twice. The errors
/// come in the derive's order: a duplicate first ([`Strict::no_duplicate`]), then, once the tag
/// has picked the variant's fields, an unknown field or another variant's ([`Strict::only`]).
pub struct Strict {
    tag: &'static str,
    present: Vec<&'static str>,
    unknown: Option<String>,
    duplicate: Option<&'static str>,
}

impl Strict {
    pub fn new(tag: &'static str) -> Strict {
        Strict {
            tag,
            present: Vec::new(),
            unknown: None,
            duplicate: None,
        }
    }

    /// The next key of `map` that is one of `names` (the tag among them), reading past the
    /// value of any other and remembering the first.
    pub fn next<'de, A: MapAccess<'de>>(
        &mut self,
        map: &mut A,
        names: &'static [&'static str],
    ) -> Result<Option<&'static str>, A::Error> {
        skip_to_known(map, names, |key| {
            self.unknown.get_or_insert(key);
        })
    }

    /// Notes that field `name` came, `again` if it had come before.
    pub fn saw(&mut self, name: &'static str, again: bool) {
        if again {
            self.duplicate.get_or_insert(name);
        } else if name != self.tag {
            self.present.push(name);
        }
    }

    /// The derive's `duplicate field` error for the first field seen twice.
    pub fn no_duplicate<E: Error>(&self) -> Result<(), E> {
        match self.duplicate {
            Some(name) => Err(E::duplicate_field(name)),
            None => Ok(()),
        }
    }

    /// The derive's `unknown field` error for a field no variant has or, as a per-variant
    /// `deny_unknown_fields` would have it, one the chosen variant (whose fields are `wants`)
    /// does not have.
    pub fn only<E: Error>(&self, wants: &'static [&'static str]) -> Result<(), E> {
        let stray = self.present.iter().copied().find(|n| !wants.contains(n));
        match self.unknown.as_deref().or(stray) {
            Some(name) => Err(E::unknown_field(name, wants)),
            None => Ok(()),
        }
    }
}

/// A field's value once every field was read, or the derive's `missing field` error.
pub fn required<T, E: Error>(value: Option<T>, field: &'static str) -> Result<T, E> {
    value.ok_or_else(|| E::missing_field(field))
}

/// For tests of a hand-written decoder: runs it and the derived decoder it replaced over the
/// same texts, and requires the same value (compared as JSON) or the same error message.
#[cfg(any(test, feature = "testing"))]
pub mod testing {
    use serde::{de::DeserializeOwned, Serialize};
    use std::fmt::Debug;

    /// serde_json appends where in the text an error was found; the two decoders stop at
    /// different places, so only the message is compared. `Derived` in the derive's messages
    /// (its type name) reads as `name`.
    pub fn assert_decodes_as_derived<Ours, Derived>(name: &str, cases: &[&str])
    where
        Ours: DeserializeOwned + Serialize + Debug,
        Derived: DeserializeOwned + Serialize + Debug,
    {
        fn message(e: serde_json::Error) -> String {
            let text = e.to_string();
            match text.rfind(" at line ") {
                Some(at) => text[..at].to_owned(),
                None => text,
            }
        }
        for case in cases {
            match (
                serde_json::from_str::<Ours>(case),
                serde_json::from_str::<Derived>(case),
            ) {
                (Ok(ours), Ok(derived)) => assert_eq!(
                    serde_json::to_value(&ours).expect("encodes"),
                    serde_json::to_value(&derived).expect("encodes"),
                    "{case}"
                ),
                (Err(ours), Err(derived)) => assert_eq!(
                    message(ours),
                    message(derived).replace("Derived", name),
                    "{case}"
                ),
                (ours, derived) => panic!("{case}: ours {ours:?}, derived {derived:?}"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(text: &str) -> Result<&'static str, String> {
        let mut de = serde_json::Deserializer::from_str(text);
        Tag(&["open", "closed"])
            .deserialize(&mut de)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn a_tag_is_one_of_its_names_or_a_clear_error() {
        assert_eq!(tag(r#""closed""#), Ok("closed"));
        assert_eq!(
            tag(r#""ajar""#).unwrap_err(),
            "unknown variant `ajar`, expected `open` or `closed` at line 1 column 6"
        );
        assert_eq!(
            tag("7").unwrap_err(),
            "invalid type: integer `7`, expected variant identifier at line 1 column 1"
        );
        assert_eq!(field("closed", &["open", "closed"]), Some("closed"));
        assert_eq!(field("ajar", &["open", "closed"]), None);
    }
}
