//! Customer satisfaction: the widget's rating after a conversation is resolved, the rating on
//! the conversation for agents, and the summary for reports.
//!
//! A rating is the record `csat:<conversation id>` in the tenant's actor, written together
//! with a `conversation.csat_received` event; it then triggers the `csat_received` automation
//! event. Whether ratings are collected, comments allowed, and for how long after resolving is
//! the tenant's `csat` routing setting. The resolve time is the conversation's last update while
//! resolved.

use chrono::{DateTime, Utc};
use http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::ctx::{record_event, Ctx};
use crate::domain::routing;
use crate::error::ApiError;
use crate::flows::{self, Event};
use crate::http::{body, json, path_id, query, Request, Response};
use crate::keys;
use crate::ports::{Platform, Scan};
use crate::records::Versioned;
use crate::store::{get_json, scan_json, transact};
use edgedesk_shared::ids::{AgentId, ConversationId};
use edgedesk_shared::model::{Actor, ActorKind, Conversation, ConversationStatus};
use edgedesk_shared::routing::{Csat, CsatError, CsatSubmission, CsatSummary};

/// A stored rating with what reports group by. Decoded by hand in one pass, as
/// `AgentMessage` is: the derive's `flatten` would buffer every record a report reads.
#[derive(Debug, Clone, Serialize)]
pub struct CsatRecord {
    pub conversation_id: ConversationId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee_id: Option<AgentId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    #[serde(flatten)]
    pub csat: Csat,
}

const CSAT_RECORD_FIELDS: &[&str] = &[
    "conversation_id",
    "assignee_id",
    "team",
    "rating",
    "comment",
    "submitted_at",
];

impl<'de> Deserialize<'de> for CsatRecord {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(CsatRecordVisitor)
    }
}

struct CsatRecordVisitor;

impl<'de> serde::de::Visitor<'de> for CsatRecordVisitor {
    type Value = CsatRecord;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("struct CsatRecord")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<CsatRecord, A::Error> {
        use edgedesk_shared::tagged::{next_known, required, set_once};
        let (mut conversation_id, mut assignee_id, mut team) = (None, None, None);
        let (mut rating, mut comment, mut submitted_at) = (None, None, None);
        while let Some(known) = next_known(&mut map, CSAT_RECORD_FIELDS)? {
            match known {
                "conversation_id" => set_once(&mut conversation_id, map.next_value()?, known)?,
                "assignee_id" => set_once(&mut assignee_id, map.next_value()?, known)?,
                "team" => set_once(&mut team, map.next_value()?, known)?,
                "rating" => set_once(&mut rating, map.next_value()?, known)?,
                "comment" => set_once(&mut comment, map.next_value()?, known)?,
                _ => set_once(&mut submitted_at, map.next_value()?, known)?,
            }
        }
        Ok(CsatRecord {
            conversation_id: required(conversation_id, "conversation_id")?,
            assignee_id: assignee_id.flatten(),
            team: team.flatten(),
            csat: Csat {
                rating: required(rating, "rating")?,
                comment: comment.flatten(),
                submitted_at: required(submitted_at, "submitted_at")?,
            },
        })
    }
}

fn resolved_at(c: &Conversation) -> Option<DateTime<Utc>> {
    (c.status == ConversationStatus::Resolved).then_some(c.updated_at)
}

fn csat_error(e: CsatError) -> ApiError {
    let (status, code) = match e {
        CsatError::Disabled => (StatusCode::FORBIDDEN, "csat_disabled"),
        CsatError::NotResolved => (StatusCode::CONFLICT, "not_resolved"),
        CsatError::AlreadyRated => (StatusCode::CONFLICT, "already_rated"),
        CsatError::WindowClosed => (StatusCode::CONFLICT, "rating_window_closed"),
        _ => (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
    };
    ApiError::new(status, code, e.to_string())
}

/// What the widget needs to decide whether to ask for a rating.
#[derive(Debug, Serialize)]
struct WidgetCsatState {
    enabled: bool,
    allow_comment: bool,
    conversation_id: Option<ConversationId>,
    /// The visitor's conversation is resolved, unrated, and inside the rating window.
    can_rate: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    submitted: Option<Csat>,
}

/// `GET /v1/widget/{tenant}/csat`
#[utoipa::path(get, path = "/v1/widget/{tenant}/csat", tag = "widget",
    params(("tenant" = String, Path)),
    responses((status = 200, body = Object, description = "Whether the visitor may rate the conversation, and the rating given."), (status = 401)))]
pub async fn widget_state<P: Platform>(
    p: &P,
    raw_tenant: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    let v = crate::visitor::visitor_context(p, raw_tenant, req).await?;
    let settings = routing::settings(p, &v.tactor).await?.csat;
    let now = p.now();
    let (conversation_id, can_rate, submitted) = match &v.conversation {
        None => (None, false, None),
        Some(c) => {
            let existing: Option<CsatRecord> =
                get_json(p, &v.tactor, &keys::tenant::csat(&c.id)).await?;
            let probe = CsatSubmission {
                rating: 5,
                comment: None,
            };
            let can = probe
                .accept(
                    &settings,
                    c.status,
                    resolved_at(c),
                    existing.as_ref().map(|r| &r.csat),
                    now,
                )
                .is_ok();
            (Some(c.id), can, existing.map(|r| r.csat))
        }
    };
    let state = WidgetCsatState {
        enabled: settings.enabled,
        allow_comment: settings.allow_comment,
        conversation_id,
        can_rate,
        submitted,
    };
    Ok(v.cors(json(StatusCode::OK, &state)?))
}

/// `POST /v1/widget/{tenant}/csat`: the visitor rates their resolved conversation.
#[utoipa::path(post, path = "/v1/widget/{tenant}/csat", tag = "widget",
    params(("tenant" = String, Path)),
    request_body(content = Object, description = "`{\"rating\", \"comment\"?}`"),
    responses((status = 201, body = Object, description = "The rating recorded."), (status = 401), (status = 409), (status = 422)))]
pub async fn widget_submit<P: Platform>(
    p: &P,
    raw_tenant: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    let v = crate::visitor::visitor_context(p, raw_tenant, req).await?;
    let input: CsatSubmission = body(req)?;
    let settings = routing::settings(p, &v.tactor).await?.csat;
    let Some(current) = &v.conversation else {
        return Err(csat_error(CsatError::NotResolved));
    };
    let id = current.id;
    let now = p.now();
    let actor = Actor {
        kind: ActorKind::Contact,
        id: Some(v.contact_id.to_string()),
    };
    let record = transact(p, &v.tactor, async |tx| {
        let c: Conversation = tx
            .get_json(&Conversation::storage_key(&id.to_string()))
            .await?
            .ok_or_else(|| ApiError::not_found("conversation"))?;
        let existing: Option<CsatRecord> = tx.get_json(&keys::tenant::csat(&id)).await?;
        let csat = input
            .accept(
                &settings,
                c.status,
                resolved_at(&c),
                existing.as_ref().map(|r| &r.csat),
                now,
            )
            .map_err(csat_error)?;
        let record = CsatRecord {
            conversation_id: id,
            assignee_id: c.assignee_id,
            team: c.team.clone(),
            csat,
        };
        tx.put_json(keys::tenant::csat(&id), &record)?;
        record_event(
            p,
            tx,
            &id.to_string(),
            "conversation.csat_received",
            actor.clone(),
            crate::http::to_value(&record.csat)?,
        )?;
        Ok(record)
    })
    .await?;
    let event = Event::CsatSubmitted {
        conversation: id,
        csat: crate::http::to_value(&record.csat)?,
    };
    flows::dispatch(p, &v.tactor, event).await?;
    Ok(v.cors(json(StatusCode::CREATED, &record)?))
}

/// `GET /v1/conversations/{id}/csat`
#[utoipa::path(get, path = "/v1/conversations/{id}/csat", tag = "csat",
    params(("id" = String, Path, description = "conversation id")),
    responses((status = 200, body = Object, description = "The conversation's satisfaction rating, if the contact gave one."), (status = 404)))]
pub async fn get<P: Platform>(ctx: &Ctx<'_, P>, raw_id: &str) -> Result<Response, ApiError> {
    let id: ConversationId = path_id(raw_id, "conversation")?;
    let _: Conversation = crate::records::load(ctx, &id.to_string()).await?;
    let record: CsatRecord = get_json(ctx.p, &ctx.actor, &keys::tenant::csat(&id))
        .await?
        .ok_or_else(|| ApiError::not_found("rating"))?;
    json(StatusCode::OK, &record)
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    team: Option<String>,
    assignee: Option<AgentId>,
}

/// Ratings read per report at most; reports over more say so with `truncated`.
const MAX_REPORT_RATINGS: usize = 50_000;

/// `GET /v1/reports/csat`: count, distribution, average and share satisfied, with filters.
#[utoipa::path(get, path = "/v1/reports/csat", tag = "csat",
    params(("since" = Option<String>, Query, description = "RFC 3339"), ("until" = Option<String>, Query, description = "RFC 3339"), ("team" = Option<String>, Query), ("assignee" = Option<String>, Query, description = "agent id")),
    responses((status = 200, body = Object, description = "Satisfaction figures: counts per score, average, per agent."), (status = 400)))]
pub async fn report<P: Platform>(ctx: &Ctx<'_, P>, req: &Request) -> Result<Response, ApiError> {
    let q: ReportQuery = query(req)?;
    let mut ratings = Vec::new();
    let mut after = None;
    let mut read = 0;
    let mut truncated = false;
    loop {
        let rows = scan_json::<_, CsatRecord>(
            ctx.p,
            &ctx.actor,
            &Scan {
                prefix: keys::tenant::CSAT_RATINGS.into(),
                after: after.clone(),
                limit: 500,
                reverse: false,
            },
        )
        .await?;
        let n = rows.len();
        for (k, r) in rows {
            after = Some(k);
            read += 1;
            let at = r.csat.submitted_at;
            if q.since.is_none_or(|s| at >= s)
                && q.until.is_none_or(|u| at < u)
                && q.team.as_ref().is_none_or(|t| r.team.as_ref() == Some(t))
                && q.assignee.is_none_or(|a| r.assignee_id == Some(a))
            {
                ratings.push(r.csat.rating);
            }
        }
        if n < 500 {
            break;
        }
        if read >= MAX_REPORT_RATINGS {
            truncated = true;
            break;
        }
    }
    let summary = CsatSummary::from_ratings(ratings);
    json(
        StatusCode::OK,
        &serde_json::json!({ "csat": summary, "truncated": truncated }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The derive this decoder replaced, kept as the reference it must agree with.
    #[derive(Debug, Serialize, Deserialize)]
    struct Derived {
        conversation_id: ConversationId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        assignee_id: Option<AgentId>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        team: Option<String>,
        #[serde(flatten)]
        csat: Csat,
    }

    #[test]
    fn stored_ratings_decode_as_the_derived_decoder_read_them() {
        let c = r#""conversation_id": "cnv_01J8Z3Q4W5E6R7T8Y9V0A1B2C3""#;
        let at = r#""submitted_at": "2026-11-24T10:00:00Z""#;
        let cases = [
            format!(r#"{{{c}, "rating": 5, {at}}}"#),
            format!(
                r#"{{{c}, "assignee_id": "agt_01J8Z3Q4W5E6R7T8Y9V0A1B2C3", "team": "billing", "rating": 2, "comment": "slow", {at}}}"#
            ),
            format!(r#"{{"rating": 3, {at}, {c}, "team": null, "comment": null, "later": 1}}"#),
            format!(r#"{{{c}, "rating": 6, {at}}}"#),
            format!(r#"{{{c}, "rating": "5", {at}}}"#),
            format!(r#"{{{c}, {at}}}"#),
            format!(r#"{{"rating": 5, {at}}}"#),
            format!(r#"{{{c}, "rating": 5, "rating": 4, {at}}}"#),
            format!(r#"{{{c}, "team": "a", "team": "b", "rating": 5, {at}}}"#),
            "[]".to_owned(),
        ];
        let cases: Vec<&str> = cases.iter().map(String::as_str).collect();
        edgedesk_shared::tagged::testing::assert_decodes_as_derived::<CsatRecord, Derived>(
            "CsatRecord",
            &cases,
        );
    }
}
