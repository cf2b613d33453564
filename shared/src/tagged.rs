//! Pieces for decoding internally tagged JSON objects (`{"type": "…", <fields>}`) by hand.
//!
//! serde's derive for an internally tagged enum buffers the whole object and runs a decoder per
//! variant over the buffer; for the few large enums that are decoded often, one pass over the
//! fields is a fraction of that WebAssembly. These are the parts such a pass shares: reading the
//! tag as one of a fixed list of names (or as none of them, for readers that skip kinds they do
//! not know), naming a field from a fixed list, and requiring a field.
//! The same pass replaces `#[serde(flatten)]` on records decoded often, which buffers the
//! object the same way.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{DeserializeSeed, Deserializer, Error, IgnoredAny, MapAccess, Visitor};

/// The names a tag may take, as an enum with one variant per name (declare one with
/// [`tag_set!`](crate::tag_set)). A decoder matches on the enum, so the compiler checks that
/// every name has its arm: no name can fall through a catch-all into another variant, and a
/// name outside the set is an error, never a variant.
pub trait TagSet: Sized + Copy + 'static {
    /// The names, as the tag spells them; the derive's `expected one of …` list.
    const NAMES: &'static [&'static str];

    /// The variant `name` stands for, if it is one of [`TagSet::NAMES`].
    fn from_name(name: &str) -> Option<Self>;
}

/// Reads a tag of the set `T`. The errors are the derive's: `unknown variant …, expected one
/// of …` and `… expected variant identifier`.
pub struct Tag<T>(PhantomData<T>);

impl<T> Tag<T> {
    pub fn new() -> Self {
        Tag(PhantomData)
    }
}

impl<T> Default for Tag<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'de, T: TagSet> DeserializeSeed<'de> for Tag<T> {
    type Value = T;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<T, D::Error> {
        d.deserialize_identifier(self)
    }
}

impl<T: TagSet> Visitor<'_> for Tag<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("variant identifier")
    }

    fn visit_str<E: Error>(self, v: &str) -> Result<T, E> {
        T::from_name(v).ok_or_else(|| E::unknown_variant(v, T::NAMES))
    }
}

/// Reads a tag of the set `T` for an enum whose readers skip kinds they do not know (the
/// derive's `#[serde(other)]`): `None` for a name outside the set. A tag that is not a string is
/// refused with the derive's `… expected variant identifier`.
pub struct OpenTag<T>(PhantomData<T>);

impl<T> OpenTag<T> {
    pub fn new() -> Self {
        OpenTag(PhantomData)
    }
}

impl<T> Default for OpenTag<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'de, T: TagSet> DeserializeSeed<'de> for OpenTag<T> {
    type Value = Option<T>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<T>, D::Error> {
        d.deserialize_identifier(self)
    }
}

impl<T: TagSet> Visitor<'_> for OpenTag<T> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("variant identifier")
    }

    fn visit_str<E: Error>(self, v: &str) -> Result<Option<T>, E> {
        Ok(T::from_name(v))
    }
}

/// Declares a [`TagSet`]: an enum whose variants are the names a tag may take, with its
/// `Deserialize` (by way of [`Tag`]).
///
/// ```
/// edgedesk_shared::tag_set! {
///     /// A door's states.
///     pub enum Door { Open = "open", Closed = "closed" }
/// }
/// let door: Door = serde_json::from_str(r#""closed""#).unwrap();
/// assert_eq!(door, Door::Closed);
/// ```
#[macro_export]
macro_rules! tag_set {
    ($(#[$meta:meta])* $vis:vis enum $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        $vis enum $name {
            $($variant,)+
        }

        impl $crate::tagged::TagSet for $name {
            const NAMES: &'static [&'static str] = &[$($text,)+];

            fn from_name(name: &str) -> Option<Self> {
                match name {
                    $($text => Some(Self::$variant),)+
                    _ => None,
                }
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                ::serde::de::DeserializeSeed::deserialize($crate::tagged::Tag::<Self>::new(), d)
            }
        }
    };
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
/// same texts, and requires the same value (compared as JSON, or by its `Debug` text) or the
/// same error message.
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
                (ours, derived) => same_error(name, case, ours, derived),
            }
        }
    }

    /// As [`assert_decodes_as_derived`], for a type that does not write every value it reads
    /// (a kind it skips and never writes): the values are compared by their `Debug` text, so
    /// `Derived` must spell its variants and fields as `Ours` does.
    pub fn assert_reads_as_derived<Ours, Derived>(name: &str, cases: &[&str])
    where
        Ours: DeserializeOwned + Debug,
        Derived: DeserializeOwned + Debug,
    {
        for case in cases {
            match (
                serde_json::from_str::<Ours>(case),
                serde_json::from_str::<Derived>(case),
            ) {
                (Ok(ours), Ok(derived)) => {
                    assert_eq!(format!("{ours:?}"), format!("{derived:?}"), "{case}")
                }
                (ours, derived) => same_error(name, case, ours, derived),
            }
        }
    }

    fn same_error<Ours: Debug, Derived: Debug>(
        name: &str,
        case: &str,
        ours: Result<Ours, serde_json::Error>,
        derived: Result<Derived, serde_json::Error>,
    ) {
        fn message(e: serde_json::Error) -> String {
            let text = e.to_string();
            match text.rfind(" at line ") {
                Some(at) => text[..at].to_owned(),
                None => text,
            }
        }
        match (ours, derived) {
            (Err(ours), Err(derived)) => assert_eq!(
                message(ours),
                message(derived).replace("Derived", name),
                "{case}"
            ),
            (ours, derived) => panic!("{case}: ours {ours:?}, derived {derived:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::tag_set! {
        enum Door {
            Open = "open",
            Closed = "closed",
        }
    }

    fn tag(text: &str) -> Result<Door, String> {
        serde_json::from_str::<Door>(text).map_err(|e| e.to_string())
    }

    #[test]
    fn a_tag_is_one_of_its_names_or_a_clear_error() {
        assert_eq!(tag(r#""closed""#), Ok(Door::Closed));
        assert_eq!(tag(r#""open""#), Ok(Door::Open));
        assert_eq!(
            tag(r#""ajar""#).unwrap_err(),
            "unknown variant `ajar`, expected `open` or `closed` at line 1 column 6"
        );
        assert_eq!(
            tag("7").unwrap_err(),
            "invalid type: integer `7`, expected variant identifier at line 1 column 1"
        );
        assert_eq!(Door::NAMES, ["open", "closed"]);
        assert_eq!(Door::from_name("Open"), None);
        assert_eq!(field("closed", &["open", "closed"]), Some("closed"));
        assert_eq!(field("ajar", &["open", "closed"]), None);
    }
}
