//! Contacts: the visitors and customers a tenant talks to.

use chrono::{DateTime, Utc};
use http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::ctx::{filter_fingerprint, paginate, Ctx, Page};
use crate::error::ApiError;
use crate::http::{body, if_match, json, json_versioned, path_id, query, Request, Response};
use crate::keys;
use crate::ports::Platform;
use crate::records;
use crate::store::transact;
use edgedesk_shared::api::{CreateContact, UpdateContact};
use edgedesk_shared::ids::ContactId;
use edgedesk_shared::model::Contact;

use crate::domain::contacts::{claim_external, insert, new_contact};
use crate::flows::{self, Event};

/// Create a contact.
#[utoipa::path(post, path = "/v1/contacts", tag = "contacts",
    request_body(content = CreateContact, example = json!({"name": "Ada Lovelace", "email": "ada@example.com", "external_id": "crm-1815", "attributes": {"plan": "pro"}})),
    responses((status = 201, body = Contact, description = "The contact created.", example = json!({"id": "ctc_01J8Z3Q4W5E6R7T8Y9V0A1B2D4", "tenant_id": "ten_01J8Z3Q4W5E6R7T8Y9V0A1B2C3", "name": "Ada Lovelace", "email": "ada@example.com", "phone": null, "external_id": "crm-1815", "attributes": {"plan": "pro"}, "created_at": "2026-03-02T09:15:00Z", "updated_at": "2026-03-02T09:15:00Z", "version": 1})),
        (status = 409, description = "`external_id_taken`: another contact has this external id.")))]
pub async fn create<P: Platform>(ctx: &Ctx<'_, P>, req: &Request) -> Result<Response, ApiError> {
    let input: CreateContact = body(req)?;
    input.validate()?;
    let idem = crate::ctx::Idempotency::from_request(req, &ctx.principal)?;
    let contact = new_contact(ctx, input);
    let now = ctx.now();
    let response = transact(ctx.p, &ctx.actor, async |tx| {
        if let Some(idem) = &idem {
            if let Some(replayed) = idem.replay(tx, now).await? {
                return Ok(replayed);
            }
            idem.store(
                tx,
                now,
                StatusCode::CREATED,
                &contact,
                Some(contact.version),
            )?;
        }
        insert(ctx.p, tx, &contact, ctx.actor_ref()).await?;
        json_versioned(StatusCode::CREATED, &contact, contact.version)
    })
    .await?;
    if response.headers().get("idempotent-replayed").is_none() {
        let event = Event::ContactCreated {
            contact: Box::new(contact),
        };
        flows::dispatch(ctx.p, &ctx.actor, event).await?;
    }
    Ok(response)
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    #[serde(skip_serializing)]
    limit: Option<usize>,
    #[serde(skip_serializing)]
    cursor: Option<String>,
    email: Option<String>,
    external_id: Option<String>,
    updated_since: Option<DateTime<Utc>>,
}

/// List contacts, newest first.
#[utoipa::path(get, path = "/v1/contacts", tag = "contacts",
    params(("limit" = Option<usize>, Query), ("cursor" = Option<String>, Query), ("email" = Option<String>, Query),
        ("external_id" = Option<String>, Query), ("updated_since" = Option<DateTime<Utc>>, Query)),
    responses((status = 200, body = Page<Contact>)))]
pub async fn list<P: Platform>(ctx: &Ctx<'_, P>, req: &Request) -> Result<Response, ApiError> {
    let q: ListQuery = query(req)?;
    let page = paginate::<_, Contact>(
        ctx,
        &ctx.actor,
        keys::tenant::CONTACTS,
        true,
        q.limit,
        q.cursor.as_deref(),
        &filter_fingerprint(&q),
        |c| {
            q.email.as_ref().is_none_or(|e| {
                c.email
                    .as_ref()
                    .is_some_and(|ce| ce.eq_ignore_ascii_case(e))
            }) && q
                .external_id
                .as_ref()
                .is_none_or(|x| c.external_id.as_ref() == Some(x))
                && q.updated_since.is_none_or(|t| c.updated_at >= t)
        },
    )
    .await?;
    json(StatusCode::OK, &page)
}

/// Get a contact.
#[utoipa::path(get, path = "/v1/contacts/{id}", tag = "contacts",
    params(("id" = String, Path, description = "contact id", example = "ctc_01J8Z3Q4W5E6R7T8Y9V0A1B2D4")),
    responses((status = 200, body = Contact, description = "The contact.", example = json!({"id": "ctc_01J8Z3Q4W5E6R7T8Y9V0A1B2D4", "tenant_id": "ten_01J8Z3Q4W5E6R7T8Y9V0A1B2C3", "name": "Ada Lovelace", "email": "ada@example.com", "phone": null, "external_id": "crm-1815", "attributes": {"plan": "pro"}, "created_at": "2026-03-02T09:15:00Z", "updated_at": "2026-03-02T09:15:00Z", "version": 1})), (status = 404)))]
pub async fn get<P: Platform>(ctx: &Ctx<'_, P>, raw_id: &str) -> Result<Response, ApiError> {
    let id: ContactId = path_id(raw_id, "contact")?;
    records::get::<_, Contact>(ctx, &id.to_string()).await
}

/// Update a contact; `null` clears a field.
#[utoipa::path(patch, path = "/v1/contacts/{id}", tag = "contacts",
    params(("id" = String, Path, description = "contact id", example = "ctc_01J8Z3Q4W5E6R7T8Y9V0A1B2D4")),
    request_body(content = UpdateContact, description = "The fields to change; `null` clears one.", example = json!({"phone": "+44 20 7946 0958"})),
    responses((status = 200, body = Contact, description = "The contact as changed."), (status = 404),
        (status = 412, description = "`If-Match` does not name the current version.")))]
pub async fn update<P: Platform>(
    ctx: &Ctx<'_, P>,
    raw_id: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    let id: ContactId = path_id(raw_id, "contact")?;
    let input: UpdateContact = body(req)?;
    input.validate()?;
    let contact = records::update::<_, Contact, _>(
        ctx,
        &id.to_string(),
        if_match(req.headers())?,
        async |tx, c| {
            let trim = |s: &Option<String>| s.as_ref().map(|s| s.trim().to_owned());
            if let Some(v) = &input.name {
                c.name = trim(v);
            }
            if let Some(v) = &input.email {
                c.email = trim(v);
            }
            if let Some(v) = &input.phone {
                c.phone = trim(v);
            }
            if let Some(v) = &input.external_id {
                if c.external_id != *v {
                    if let Some(old) = &c.external_id {
                        tx.delete(keys::tenant::contact_by_external_id(old));
                    }
                    if let Some(new) = v {
                        claim_external(tx, new, &id).await?;
                    }
                    c.external_id = v.clone();
                }
            }
            if let Some(a) = &input.attributes {
                c.attributes = a.clone();
            }
            Ok(())
        },
    )
    .await?;
    json_versioned(StatusCode::OK, &contact, contact.version)
}

/// Delete a contact.
#[utoipa::path(delete, path = "/v1/contacts/{id}", tag = "contacts", params(("id" = String, Path)),
    responses((status = 204), (status = 404)))]
pub async fn delete<P: Platform>(
    ctx: &Ctx<'_, P>,
    raw_id: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    let id: ContactId = path_id(raw_id, "contact")?;
    records::delete::<_, Contact, _>(
        ctx,
        &id.to_string(),
        if_match(req.headers())?,
        async |tx, c| {
            if let Some(ext) = &c.external_id {
                tx.delete(keys::tenant::contact_by_external_id(ext));
            }
            Ok(())
        },
    )
    .await?;
    Ok(crate::http::no_content())
}
