//! Typed identifiers.
//!
//! Every id is `<prefix>_<ULID>`: the prefix names the kind, so an id pasted into the wrong
//! place is refused before any lookup, and the ULID sorts by creation time, which gives
//! list endpoints a stable order for cursor pagination. Ids are minted by the caller from a
//! timestamp and random bits (the functions layer owns the clock and entropy ports).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use ulid::Ulid;

/// Why a string is not a valid id of the expected kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("expected an id starting with `{expected}_`")]
    WrongKind { expected: &'static str },
    #[error("malformed id")]
    Malformed,
}

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Ulid);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            /// Builds an id from a creation time (ms since the epoch) and 80 random bits.
            pub fn from_parts(timestamp_ms: u64, random: u128) -> Self {
                Self(Ulid::from_parts(timestamp_ms, random))
            }

            /// Creation time in milliseconds since the Unix epoch.
            pub fn timestamp_ms(&self) -> u64 {
                self.0.timestamp_ms()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}_{}", $prefix, self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(self, f)
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                let rest = s
                    .strip_prefix($prefix)
                    .and_then(|r| r.strip_prefix('_'))
                    .ok_or(IdError::WrongKind { expected: $prefix })?;
                // Canonical form only: one spelling per id keeps storage keys unique.
                if rest.len() != 26 || !rest.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()) {
                    return Err(IdError::Malformed);
                }
                Ulid::from_string(rest).map(Self).map_err(|_| IdError::Malformed)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .pattern(Some(concat!("^", $prefix, "_[0-9A-HJKMNP-TV-Z]{26}$")))
                    .examples([serde_json::json!(concat!($prefix, "_01JD3QXV6ZK8M5N2P4R7S9T0WX"))])
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

typed_id!(/// A tenant (workspace).
    TenantId, "ten");
typed_id!(/// An API key; the id is the public half of the key.
    ApiKeyId, "key");
typed_id!(/// An agent (a person who answers customers).
    AgentId, "agt");
typed_id!(/// A contact: a visitor or customer.
    ContactId, "ctc");
typed_id!(/// A conversation.
    ConversationId, "cnv");
typed_id!(/// A message inside a conversation.
    MessageId, "msg");
typed_id!(/// A ticket.
    TicketId, "tkt");
typed_id!(/// An inbound channel (API channel, widget, email ...).
    ChannelId, "chn");
typed_id!(/// An entry of an entity's event history.
    EventId, "evt");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_round_trips_through_its_text_form() {
        let id = TicketId::from_parts(1_700_000_000_000, 42);
        let text = id.to_string();
        assert!(text.starts_with("tkt_"));
        assert_eq!(text.parse::<TicketId>().unwrap(), id);
    }

    #[test]
    fn an_id_of_another_kind_is_refused() {
        let id = ContactId::from_parts(1, 2).to_string();
        assert_eq!(
            id.parse::<TicketId>(),
            Err(IdError::WrongKind { expected: "tkt" })
        );
    }

    #[test]
    fn lowercase_or_truncated_ids_are_malformed() {
        let id = TicketId::from_parts(1_700_000_000_000, u128::MAX >> 48).to_string();
        assert_eq!(
            id.to_lowercase().parse::<TicketId>(),
            Err(IdError::Malformed)
        );
        assert_eq!(id[..10].parse::<TicketId>(), Err(IdError::Malformed));
        assert_eq!("tkt_".parse::<TicketId>(), Err(IdError::Malformed));
    }

    #[test]
    fn ids_sort_by_creation_time() {
        let a = ConversationId::from_parts(1000, u128::MAX >> 48);
        let b = ConversationId::from_parts(1001, 0);
        assert!(a < b);
        assert!(a.to_string() < b.to_string());
    }
}
