//! Every storage key the functions read or write, in one place: the names of the storage
//! actors and, per actor, the keys it holds and the prefixes that scan them.
//!
//! Stored data outlives the code, so a key's bytes never change once written: a function here
//! may be renamed, its output may not. Callers build keys only through this module, so each
//! format exists once and a test pins it.
//!
//! | actor | name | holds |
//! |---|---|---|
//! | directory | [`GLOBAL`] | what must be found before the tenant is known: sign-in emails, failed sign-ins, setup links, channel owners ([`global`]) |
//! | tenant | [`tenant_actor`] | the tenant's records and their indexes, event history, activity stream, settings, SLA, routing, automation, bot and knowledge base ([`tenant`]) |
//! | conversation | [`conversation_actor`] | a conversation's messages, their sequence head, its live state and the bot's dialogue state ([`conversation`]) |
//! | attachments | [`blob_actor`] | a tenant's uploaded files and their metadata ([`blob`]) |
//! | visitor | [`visitor_actor`] | a contact's doorbell: the conversation their widget follows ([`visitor`]) |
//! | public | [`public_actor`] | what every visitor's widget shows from the tenant: someone online, the settings' version ([`public`]) |
//! | scheduler | [`SCHEDULER`] | jobs due at a time ([`scheduler`]) |
//!
//! An `Idempotency-Key`'s stored response ([`idempotency`]) lives in whichever actor the
//! request it answers writes to (the tenant's or the conversation's).
//!
//! A base module: it imports nothing from the rest of the crate.

pub mod blob;
pub mod conversation;
pub mod global;
pub mod public;
pub mod scheduler;
pub mod tenant;
pub mod visitor;

use edgedesk_shared::ids::{ContactId, ConversationId, TenantId};

/// The directory actor: lookups that must work before the tenant is known.
pub const GLOBAL: &str = "g";

/// The scheduler's actor.
pub const SCHEDULER: &str = "s";

/// The actor of a tenant.
pub fn tenant_actor(id: &TenantId) -> String {
    format!("t:{id}")
}

/// The tenant a tenant actor names (the inverse of [`tenant_actor`]).
pub fn tenant_of_actor(actor: &str) -> Option<TenantId> {
    actor.strip_prefix("t:")?.parse().ok()
}

/// The actor of a conversation.
pub fn conversation_actor(id: &ConversationId) -> String {
    format!("c:{id}")
}

/// The actor of a tenant's attachments, apart from its records so large files never travel
/// with them.
pub fn blob_actor(tenant: &TenantId) -> String {
    format!("b:{tenant}")
}

/// The actor of one contact's widget: the only actor a visitor's feed watches before the
/// visitor has a conversation, so an idle visitor never wakes for the rest of the tenant.
pub fn visitor_actor(contact: &ContactId) -> String {
    format!("v:{contact}")
}

/// The actor of a tenant's public channel: the little every visitor's widget shows from the
/// tenant, apart from its records, so visitors' feeds watch it without waking for every write
/// of the tenant.
pub fn public_actor(tenant: &TenantId) -> String {
    format!("p:{tenant}")
}

/// The response kept for an `Idempotency-Key` (by the SHA-256 hex of the key) that `principal`
/// sent; the key is scoped to the caller so two clients never collide.
pub fn idempotency(principal: &str, key_digest: &str) -> String {
    format!("idem:{principal}:{key_digest}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant() -> TenantId {
        "ten_01J8Z3Q4W5E6R7T8Y9V0A1B2C3"
            .parse()
            .expect("a tenant id")
    }

    #[test]
    fn actor_names_stay_as_stored() {
        let conversation: ConversationId = "cnv_01J8Z3Q4W5E6R7T8Y9V0A1B2C5".parse().expect("an id");
        assert_eq!(GLOBAL, "g");
        assert_eq!(SCHEDULER, "s");
        assert_eq!(tenant_actor(&tenant()), "t:ten_01J8Z3Q4W5E6R7T8Y9V0A1B2C3");
        assert_eq!(
            conversation_actor(&conversation),
            "c:cnv_01J8Z3Q4W5E6R7T8Y9V0A1B2C5"
        );
        assert_eq!(blob_actor(&tenant()), "b:ten_01J8Z3Q4W5E6R7T8Y9V0A1B2C3");
        let contact: ContactId = "ctc_01J8Z3Q4W5E6R7T8Y9V0A1B2C6".parse().expect("an id");
        assert_eq!(visitor_actor(&contact), "v:ctc_01J8Z3Q4W5E6R7T8Y9V0A1B2C6");
        assert_eq!(public_actor(&tenant()), "p:ten_01J8Z3Q4W5E6R7T8Y9V0A1B2C3");
        assert_eq!(idempotency("key_1", "ab12"), "idem:key_1:ab12");
    }

    #[test]
    fn a_tenant_actor_names_its_tenant_and_no_other_actor_does() {
        assert_eq!(tenant_of_actor(&tenant_actor(&tenant())), Some(tenant()));
        assert_eq!(tenant_of_actor(&blob_actor(&tenant())), None);
        assert_eq!(tenant_of_actor(GLOBAL), None);
        assert_eq!(tenant_of_actor("t:not-an-id"), None);
    }
}
