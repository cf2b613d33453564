//! SLA configuration over HTTP (calendars, policies, escalation rules, each list validated as
//! a whole with the rest) and the SLA of one ticket or conversation. The clocks, their history
//! and the timer that acts on warnings and breaches are `crate::domain::sla`.

use http::StatusCode;

use crate::ctx::{record_event, Ctx};
use crate::domain::sla::*;
use crate::domain::sla_escalations::recompute_open;
use crate::error::ApiError;
use crate::http::{body, json, json_versioned, path_id, Request, Response};
use crate::keys;
use crate::ports::Platform;
use crate::records::Versioned;
use crate::settings::{settings_in, SlaSettings};
use crate::store::{get_json, transact};
use edgedesk_shared::ids::{ConversationId, TicketId};
use edgedesk_shared::model::{Conversation, Ticket};
use edgedesk_shared::rbac::Permission;
use edgedesk_shared::sla::{Calendar, EscalationRule, SlaPolicy, SubjectKind};

/// Which list of the settings a route edits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Calendars,
    Policies,
    Escalations,
}

impl Section {
    fn what(self) -> &'static str {
        match self {
            Section::Calendars => "calendar",
            Section::Policies => "policy",
            Section::Escalations => "escalation rule",
        }
    }

    fn items(self, s: &SlaSettings) -> Result<Vec<serde_json::Value>, ApiError> {
        Ok(match self {
            Section::Calendars => crate::http::to_value(&s.config.calendars)?,
            Section::Policies => crate::http::to_value(&s.config.policies)?,
            Section::Escalations => crate::http::to_value(&s.escalations)?,
        }
        .as_array()
        .cloned()
        .unwrap_or_default())
    }

    fn find(self, s: &SlaSettings, id: &str) -> Option<usize> {
        match self {
            Section::Calendars => s.config.calendars.iter().position(|c| c.id == id),
            Section::Policies => s.config.policies.iter().position(|c| c.id == id),
            Section::Escalations => s.escalations.iter().position(|c| c.id == id),
        }
    }

    fn len(self, s: &SlaSettings) -> usize {
        match self {
            Section::Calendars => s.config.calendars.len(),
            Section::Policies => s.config.policies.len(),
            Section::Escalations => s.escalations.len(),
        }
    }

    /// Puts `item` (parsed from JSON) at `at`, or appends it.
    fn put(
        self,
        s: &mut SlaSettings,
        item: serde_json::Value,
        at: Option<usize>,
    ) -> Result<String, ApiError> {
        fn set<T>(list: &mut Vec<T>, item: T, at: Option<usize>) {
            match at {
                Some(i) => list[i] = item,
                None => list.push(item),
            }
        }
        let bad = |e: serde_json::Error| ApiError::bad_request("invalid_body", e.to_string());
        Ok(match self {
            Section::Calendars => {
                let c: Calendar = crate::http::from_value(&item).map_err(bad)?;
                let id = c.id.clone();
                set(&mut s.config.calendars, c, at);
                id
            }
            Section::Policies => {
                let c: SlaPolicy = crate::http::from_value(&item).map_err(bad)?;
                let id = c.id.clone();
                set(&mut s.config.policies, c, at);
                id
            }
            Section::Escalations => {
                let c: EscalationRule = crate::http::from_value(&item).map_err(bad)?;
                let id = c.id.clone();
                set(&mut s.escalations, c, at);
                id
            }
        })
    }

    fn remove(self, s: &mut SlaSettings, at: usize) {
        match self {
            Section::Calendars => drop(s.config.calendars.remove(at)),
            Section::Policies => drop(s.config.policies.remove(at)),
            Section::Escalations => drop(s.escalations.remove(at)),
        }
    }
}

/// `GET /v1/sla/{section}`.
pub async fn list_items<P: Platform>(
    ctx: &Ctx<'_, P>,
    section: Section,
) -> Result<Response, ApiError> {
    let s: SlaSettings = get_json(ctx.p, &ctx.actor, keys::tenant::SLA_SETTINGS)
        .await?
        .unwrap_or_default();
    json(
        StatusCode::OK,
        &serde_json::json!({"data": section.items(&s)?, "version": s.version}),
    )
}

/// `GET /v1/sla/{section}/{id}`.
pub async fn get_item<P: Platform>(
    ctx: &Ctx<'_, P>,
    section: Section,
    id: &str,
) -> Result<Response, ApiError> {
    let s: SlaSettings = get_json(ctx.p, &ctx.actor, keys::tenant::SLA_SETTINGS)
        .await?
        .unwrap_or_default();
    let i = section
        .find(&s, id)
        .ok_or_else(|| ApiError::not_found(section.what()))?;
    json_versioned(StatusCode::OK, &section.items(&s)?[i], s.version)
}

/// What a configuration change does to one item.
enum Edit {
    Create(serde_json::Value),
    Replace(String, serde_json::Value),
    Delete(String),
}

/// `POST /v1/sla/{section}` (201), `PUT /v1/sla/{section}/{id}`, `DELETE /v1/sla/{section}/{id}`.
pub async fn edit_item<P: Platform>(
    ctx: &Ctx<'_, P>,
    section: Section,
    id: Option<&str>,
    req: &Request,
) -> Result<Response, ApiError> {
    let edit = match (req.method().clone(), id) {
        (http::Method::POST, None) => Edit::Create(body(req)?),
        (http::Method::PUT, Some(id)) => {
            let mut item: serde_json::Value = body(req)?;
            if let Some(obj) = item.as_object_mut() {
                match obj.get("id") {
                    None => drop(obj.insert("id".into(), id.into())),
                    Some(v) if v.as_str() == Some(id) => {}
                    Some(_) => {
                        return Err(ApiError::unprocessable("id: must match the id in the path"));
                    }
                }
            }
            Edit::Replace(id.to_owned(), item)
        }
        (http::Method::DELETE, Some(id)) => Edit::Delete(id.to_owned()),
        _ => {
            return Err(ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "method not allowed on this route",
            ))
        }
    };
    let expected = crate::http::if_match(req.headers())?;
    let (settings, item_id, created) = transact(ctx.p, &ctx.actor, async |tx| {
        let mut s = settings_in(tx).await?;
        crate::http::check_version(expected, s.version)?;
        let (item_id, created) = match &edit {
            Edit::Create(item) => {
                if section.len(&s) >= MAX_ITEMS {
                    return Err(ApiError::unprocessable(format!("at most {MAX_ITEMS} items")));
                }
                let id = section.put(&mut s, item.clone(), None)?;
                if section.find(&s, &id) != Some(section.len(&s) - 1) {
                    return Err(ApiError::conflict(
                        "already_exists",
                        format!("a {} with the id `{id}` exists", section.what()),
                    ));
                }
                (id, true)
            }
            Edit::Replace(id, item) => {
                let at = section
                    .find(&s, id)
                    .ok_or_else(|| ApiError::not_found(section.what()))?;
                section.put(&mut s, item.clone(), Some(at))?;
                (id.clone(), false)
            }
            Edit::Delete(id) => {
                let at = section
                    .find(&s, id)
                    .ok_or_else(|| ApiError::not_found(section.what()))?;
                section.remove(&mut s, at);
                (id.clone(), false)
            }
        };
        s.validate()?;
        s.version += 1;
        tx.put_json(keys::tenant::SLA_SETTINGS, &s)?;
        record_event(
            ctx.p,
            tx,
            "sla_config",
            "sla.config_changed",
            ctx.actor_ref(),
            serde_json::json!({"section": section.what(), "id": item_id, "version": s.version,
                "change": match &edit { Edit::Create(_) => "created", Edit::Replace(..) => "replaced", Edit::Delete(_) => "deleted" }}),
        )?;
        Ok((s, item_id, created))
    })
    .await?;
    let recomputed = if section == Section::Escalations {
        0
    } else {
        recompute_open(ctx.p, &ctx.tenant_id).await?
    };
    let item = section
        .find(&settings, &item_id)
        .map(|i| section.items(&settings).map(|v| v[i].clone()))
        .transpose()?;
    match item {
        Some(mut item) => {
            if let Some(o) = item.as_object_mut() {
                o.insert("recomputed".into(), recomputed.into());
            }
            let status = if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            json_versioned(status, &item, settings.version)
        }
        None => Ok(crate::http::no_content()),
    }
}
// ---- SLA of one subject --------------------------------------------------------------

/// `GET /v1/tickets/{id}/sla` and `GET /v1/conversations/{id}/sla`: the engine's report at now
/// (due times, remaining time, state and breach time per target, which policy applied when)
/// and the history it was computed from.
pub async fn subject_sla<P: Platform>(
    ctx: &Ctx<'_, P>,
    kind: SubjectKind,
    raw_id: &str,
) -> Result<Response, ApiError> {
    ctx.require(Permission::Read)?;
    let id = match kind {
        SubjectKind::Ticket => path_id::<TicketId>(raw_id, "ticket")?.to_string(),
        SubjectKind::Conversation => path_id::<ConversationId>(raw_id, "conversation")?.to_string(),
    };
    let exists = match kind {
        SubjectKind::Ticket => ctx.p.get(&ctx.actor, &Ticket::storage_key(&id)).await?,
        SubjectKind::Conversation => {
            ctx.p
                .get(&ctx.actor, &Conversation::storage_key(&id))
                .await?
        }
    };
    if exists.is_none() {
        return Err(ApiError::not_found(match kind {
            SubjectKind::Ticket => "ticket",
            SubjectKind::Conversation => "conversation",
        }));
    }
    let now = ctx.now();
    let record: Option<SlaRecord> =
        get_json(ctx.p, &ctx.actor, &keys::tenant::sla_record(&id)).await?;
    let settings: SlaSettings = get_json(ctx.p, &ctx.actor, keys::tenant::SLA_SETTINGS)
        .await?
        .unwrap_or_default();
    let Some(record) = record else {
        return json(
            StatusCode::OK,
            &serde_json::json!({"subject_id": id, "at": now, "state": null, "policy_id": null,
                "due_at": null, "policy_spans": [], "targets": [], "history": []}),
        );
    };
    let history = load_history(ctx.p, &ctx.actor, &record).await?;
    let report = settings
        .engine()?
        .evaluate(&history, now)
        .map_err(ApiError::internal_from)?;
    json(
        StatusCode::OK,
        &serde_json::json!({
            "subject_id": id,
            "at": report.at,
            "state": report.state(),
            "policy_id": report.policy_id,
            "due_at": report.next_due_at(),
            "policy_spans": report.policy_spans,
            "targets": report.targets,
            "history": history,
        }),
    )
}

/// `GET /v1/tickets/{id}/sla`.
#[utoipa::path(get, path = "/v1/tickets/{id}/sla", tag = "sla", params(("id" = String, Path)),
    responses((status = 200, description = "`{subject_id, at, state, policy_id, due_at, policy_spans, targets, history}`"), (status = 404)))]
pub async fn ticket_sla<P: Platform>(ctx: &Ctx<'_, P>, id: &str) -> Result<Response, ApiError> {
    subject_sla(ctx, SubjectKind::Ticket, id).await
}

/// `GET /v1/conversations/{id}/sla`.
#[utoipa::path(get, path = "/v1/conversations/{id}/sla", tag = "sla", params(("id" = String, Path)),
    responses((status = 200, description = "as for tickets"), (status = 404)))]
pub async fn conversation_sla<P: Platform>(
    ctx: &Ctx<'_, P>,
    id: &str,
) -> Result<Response, ApiError> {
    subject_sla(ctx, SubjectKind::Conversation, id).await
}
