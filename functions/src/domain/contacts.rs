//! Contacts in storage: claiming the external-id pointer that keeps one contact per external
//! id, and inserting a new contact with its `contact.created` event.

use crate::ctx::{record_event, Ctx};
use crate::error::ApiError;
use crate::keys;
use crate::ports::Platform;
use crate::records::Versioned;
use crate::store::Tx;
use edgedesk_shared::api::CreateContact;
use edgedesk_shared::ids::ContactId;
use edgedesk_shared::model::{Actor, Contact};

/// Claims `external_id` for `id` inside a transaction; refuses one another contact holds.
pub(crate) async fn claim_external<P: Platform>(
    tx: &mut Tx<'_, P>,
    external_id: &str,
    id: &ContactId,
) -> Result<(), ApiError> {
    match tx
        .get(&keys::tenant::contact_by_external_id(external_id))
        .await?
    {
        Some(owner) if owner != id.to_string().as_bytes() => Err(ApiError::conflict(
            "external_id_taken",
            "another contact has this external_id",
        )),
        _ => {
            tx.put(
                keys::tenant::contact_by_external_id(external_id),
                id.to_string().into_bytes(),
            );
            Ok(())
        }
    }
}

/// Builds and stores a new contact inside a tenant transaction.
pub async fn insert<P: Platform>(
    p: &P,
    tx: &mut Tx<'_, P>,
    contact: &Contact,
    actor: Actor,
) -> Result<(), ApiError> {
    if let Some(ext) = &contact.external_id {
        claim_external(tx, ext, &contact.id).await?;
    }
    // The first contact with an address is the one a mail from it finds.
    if let Some(email) = contact.email.as_deref().filter(|e| !e.trim().is_empty()) {
        let key = keys::tenant::contact_by_email(email);
        if tx.get(&key).await?.is_none() {
            tx.put(key, contact.id.to_string().into_bytes());
        }
    }
    tx.put_json(Contact::storage_key(&contact.id.to_string()), contact)?;
    record_event(
        p,
        tx,
        &contact.id.to_string(),
        "contact.created",
        actor,
        crate::http::to_value(contact)?,
    )
}

pub fn new_contact<P: Platform>(ctx: &Ctx<'_, P>, input: CreateContact) -> Contact {
    let now = ctx.now();
    let trim = |s: Option<String>| s.map(|s| s.trim().to_owned());
    Contact {
        id: ctx.mint(ContactId::from_parts),
        tenant_id: ctx.tenant_id,
        name: trim(input.name),
        email: trim(input.email),
        phone: trim(input.phone),
        external_id: input.external_id,
        attributes: input.attributes,
        created_at: now,
        updated_at: now,
        version: 1,
    }
}
