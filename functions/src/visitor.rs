//! The widget's visitors, below every handler that serves them: a request on a tenant's widget
//! routes (the tenant, its widget settings, the origin check and CORS), the visitor a token
//! names, and the visitor's current conversation on the widget channel.
//!
//! Visitors hold no API key: a signed visitor token (see `shared::widget`) names their contact.

use http::header::ORIGIN;

use crate::ctx::{id_parts, random_hex};
use crate::error::ApiError;
use crate::http::{cors, path_id, Request, Response};
use crate::keys::{self, tenant_actor};
use crate::ports::Platform;
use crate::records::Versioned;
use crate::store::{get_json, transact};
use edgedesk_shared::ids::{ChannelId, ContactId, TenantId};
use edgedesk_shared::model::{Contact, Conversation};
use edgedesk_shared::widget::{verify_visitor_token, WidgetSettings};

/// The tenant's widget settings, created with fresh secrets on first use.
pub async fn settings<P: Platform>(p: &P, tactor: &str) -> Result<WidgetSettings, ApiError> {
    if let Some(s) = get_json(p, tactor, keys::tenant::WIDGET_SETTINGS).await? {
        return Ok(s);
    }
    let (ms, r) = id_parts(p);
    let fresh = WidgetSettings::new(
        ChannelId::from_parts(ms, r),
        random_hex(p, 32),
        random_hex(p, 32),
    );
    transact(p, tactor, async |tx| {
        if tx.get(keys::tenant::TENANT).await?.is_none() {
            return Err(ApiError::not_found("tenant"));
        }
        if let Some(existing) = tx
            .get_json::<WidgetSettings>(keys::tenant::WIDGET_SETTINGS)
            .await?
        {
            return Ok(existing);
        }
        tx.put_json(keys::tenant::WIDGET_SETTINGS, &fresh)?;
        Ok(fresh.clone())
    })
    .await
}

/// A request on a tenant's widget routes, with CORS decided.
pub(crate) struct WidgetReq {
    pub(crate) tenant_id: TenantId,
    pub(crate) tactor: String,
    pub(crate) settings: WidgetSettings,
    pub(crate) origin: Option<String>,
}

pub(crate) async fn widget_req<P: Platform>(
    p: &P,
    raw_tenant: &str,
    req: &Request,
) -> Result<WidgetReq, ApiError> {
    let tenant_id: TenantId = path_id(raw_tenant, "tenant")?;
    let tactor = tenant_actor(&tenant_id);
    let settings = settings(p, &tactor).await?;
    let origin = req
        .headers()
        .get(ORIGIN)
        .and_then(|o| o.to_str().ok())
        .map(str::to_owned);
    if let Some(o) = &origin {
        if !settings.origin_allowed(o) {
            return Err(ApiError::forbidden("this site may not embed the widget"));
        }
    }
    Ok(WidgetReq {
        tenant_id,
        tactor,
        settings,
        origin,
    })
}

/// A visitor authenticated by token.
pub(crate) struct Visitor {
    pub(crate) w: WidgetReq,
    pub(crate) contact_id: ContactId,
}

pub(crate) async fn visitor<P: Platform>(
    p: &P,
    raw_tenant: &str,
    req: &Request,
) -> Result<Visitor, ApiError> {
    let w = widget_req(p, raw_tenant, req).await?;
    let from_header = req
        .headers()
        .get(http::header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Visitor "))
        .map(str::to_owned);
    // Browsers cannot set headers on a WebSocket handshake, so the realtime route takes it in the query.
    let token = from_header.or_else(|| {
        req.uri()
            .query()
            .and_then(|q| serde_urlencoded::from_str::<Vec<(String, String)>>(q).ok())
            .and_then(|pairs| {
                pairs
                    .into_iter()
                    .find(|(k, _)| k == "token")
                    .map(|(_, v)| v)
            })
    });
    let token = token.ok_or_else(|| {
        ApiError::unauthorized("send `Authorization: Visitor <token>` from /session")
    })?;
    let contact_id = verify_visitor_token(&w.settings.token_secret, &w.tenant_id, &token)
        .ok_or_else(|| ApiError::unauthorized("invalid visitor token"))?;
    if get_json::<_, Contact>(p, &w.tactor, &Contact::storage_key(&contact_id.to_string()))
        .await?
        .is_none()
    {
        return Err(ApiError::unauthorized("invalid visitor token"));
    }
    Ok(Visitor { w, contact_id })
}

/// The visitor's current conversation, if any.
pub(crate) async fn current_conversation<P: Platform>(
    p: &P,
    v: &Visitor,
) -> Result<Option<Conversation>, ApiError> {
    let Some(raw) = p
        .get(
            &v.w.tactor,
            &keys::tenant::conversation_open_pointer(&v.w.settings.channel_id, &v.contact_id),
        )
        .await?
    else {
        return Ok(None);
    };
    let id = String::from_utf8_lossy(&raw).into_owned();
    get_json(p, &v.w.tactor, &Conversation::storage_key(&id)).await
}

/// A visitor authenticated on a widget route, for widget endpoints kept in other modules.
pub struct VisitorContext {
    pub tactor: String,
    pub contact_id: ContactId,
    /// The visitor's current (or last) conversation on the widget channel.
    pub conversation: Option<Conversation>,
    origin: Option<String>,
}

impl VisitorContext {
    /// Adds the CORS headers the embedding page needs to read the answer.
    pub fn cors(&self, resp: Response) -> Response {
        cors(resp, self.origin.as_deref())
    }
}

/// Authenticates the visitor of a widget request (origin check and visitor token).
pub async fn visitor_context<P: Platform>(
    p: &P,
    raw_tenant: &str,
    req: &Request,
) -> Result<VisitorContext, ApiError> {
    let v = visitor(p, raw_tenant, req).await?;
    let conversation = current_conversation(p, &v).await?;
    Ok(VisitorContext {
        tactor: v.w.tactor,
        contact_id: v.contact_id,
        conversation,
        origin: v.w.origin,
    })
}
