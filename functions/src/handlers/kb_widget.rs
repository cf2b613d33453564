//! The knowledge base in the widget: search, suggestions as the visitor types, a published
//! article (with the visitor's vote on record) and the helpfulness vote.

use chrono::{DateTime, Utc};
use http::header::{HeaderValue, CACHE_CONTROL};
use http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::http::{body, json, Request, Response};
use crate::kb::{
    self, article_path, count_view, is_id, published_article, run_search, Article, ArticleStats,
    SearchResponse,
};
use crate::keys;
use crate::ports::Platform;
use crate::store::{get_json, transact};
use crate::visitor as widget;
use edgedesk_shared::widget::verify_visitor_token;

use crate::kb_input::*;

// ---------------------------------------------------------------------------------------------
// Widget (public)

use crate::http::cors;

/// `GET /v1/widget/{tenant}/kb/search?q=&locale=&limit=&offset=`
#[utoipa::path(get, path = "/v1/widget/{tenant}/kb/search", tag = "widget", params(("tenant" = String, Path), SearchQuery),
    responses((status = 200, body = SearchResponse), (status = 400), (status = 404)))]
pub async fn widget_search<P: Platform>(
    p: &P,
    raw_tenant: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    let w = widget::widget_req(p, raw_tenant, req).await?;
    let s = search_params(req, 10)?;
    let out = run_search(
        p,
        &w.tenant_id,
        &s.q,
        s.locale.as_deref(),
        s.limit,
        s.offset,
        false,
    )
    .await?;
    Ok(cors(json(StatusCode::OK, &out)?, w.origin.as_deref()))
}

/// `GET /v1/widget/{tenant}/kb/suggest?q=&locale=`: type-ahead suggestions (the last word
/// may be unfinished), at most five unless `limit` says fewer.
#[utoipa::path(get, path = "/v1/widget/{tenant}/kb/suggest", tag = "widget", params(("tenant" = String, Path), SearchQuery),
    responses((status = 200, body = SearchResponse), (status = 400), (status = 404)))]
pub async fn widget_suggest<P: Platform>(
    p: &P,
    raw_tenant: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    let w = widget::widget_req(p, raw_tenant, req).await?;
    let s = search_params(req, SUGGESTIONS)?;
    let out = run_search(
        p,
        &w.tenant_id,
        &s.q,
        s.locale.as_deref(),
        s.limit.min(SUGGESTIONS),
        0,
        true,
    )
    .await?;
    let mut resp = json(StatusCode::OK, &out)?;
    resp.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(cors(resp, w.origin.as_deref()))
}

/// A published article as the widget shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicArticle {
    pub id: String,
    pub locale: String,
    pub slug: String,
    pub title: String,
    /// The Markdown rendered to sanitised HTML.
    pub html: String,
    pub url: String,
    pub tags: Vec<String>,
    pub updated_at: DateTime<Utc>,
    pub helpful: u64,
    pub not_helpful: u64,
    /// The calling visitor's vote on record (`true`: helpful, `false`: not helpful), `null`
    /// when they have not voted or sent no visitor token.
    #[schema(value_type = Option<bool>, required = true)]
    pub my_vote: Option<bool>,
}
/// The visitor a widget KB request speaks for: `None` without an `Authorization` header, the
/// token's contact with `Authorization: Visitor <token>`, 401 for any other header or a token
/// this tenant did not sign (a bad token is refused, never read as "no visitor", so the
/// widget learns to start a new session).
fn kb_visitor(w: &widget::WidgetReq, req: &Request) -> Result<Option<String>, ApiError> {
    let Some(h) = req.headers().get(http::header::AUTHORIZATION) else {
        return Ok(None);
    };
    let token = h
        .to_str()
        .ok()
        .and_then(|h| h.strip_prefix("Visitor "))
        .ok_or_else(|| {
            ApiError::unauthorized("send `Authorization: Visitor <token>` or no Authorization")
        })?;
    let contact = verify_visitor_token(&w.settings.token_secret, &w.tenant_id, token)
        .ok_or_else(|| ApiError::unauthorized("invalid visitor token"))?;
    Ok(Some(contact.to_string()))
}

/// `GET /v1/widget/{tenant}/kb/articles/{id}`: the published article, rendered; counts a view.
/// With a visitor token (`Authorization: Visitor …`) it also carries that visitor's vote.
#[utoipa::path(get, path = "/v1/widget/{tenant}/kb/articles/{id}", tag = "widget",
    params(("tenant" = String, Path), ("id" = String, Path)),
    responses((status = 200, body = PublicArticle), (status = 401), (status = 404)))]
pub async fn widget_article<P: Platform>(
    p: &P,
    raw_tenant: &str,
    id: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    let w = widget::widget_req(p, raw_tenant, req).await?;
    let visitor = kb_visitor(&w, req)?;
    let (article, version) = published_article(p, &w.tactor, id).await?;
    let stats = count_view(p, &w.tactor, id).await?;
    // Read from where `widget_vote` writes it, keyed by this visitor only.
    let my_vote = match &visitor {
        Some(v) => {
            get_json::<_, bool>(p, &w.tactor, &keys::tenant::kb_vote(&article.id, v)).await?
        }
        None => None,
    };
    let out = PublicArticle {
        url: article_path(&w.tenant_id.to_string(), &article.locale, &article.slug),
        id: article.id,
        locale: article.locale,
        slug: article.slug,
        title: version.title,
        html: kb::render_markdown(&version.body),
        tags: version.tags,
        updated_at: article.published_at.unwrap_or(article.updated_at),
        helpful: stats.helpful,
        not_helpful: stats.not_helpful,
        my_vote,
    };
    Ok(cors(json(StatusCode::OK, &out)?, w.origin.as_deref()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Vote {
    pub helpful: bool,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct VoteResult {
    pub helpful: u64,
    pub not_helpful: u64,
    /// The vote now on record for this visitor.
    pub vote: bool,
}

/// `POST /v1/widget/{tenant}/kb/articles/{id}/vote` `{"helpful": bool}`: with a visitor token
/// (`Authorization: Visitor …`) a visitor counts once per article and may change their mind;
/// without one each vote counts.
#[utoipa::path(post, path = "/v1/widget/{tenant}/kb/articles/{id}/vote", tag = "widget",
    params(("tenant" = String, Path), ("id" = String, Path)), request_body = Vote,
    responses((status = 200, body = VoteResult), (status = 401), (status = 404)))]
pub async fn widget_vote<P: Platform>(
    p: &P,
    raw_tenant: &str,
    id: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    let w = widget::widget_req(p, raw_tenant, req).await?;
    let vote: Vote = body(req)?;
    let visitor = kb_visitor(&w, req)?;
    if !is_id(id, "kba") {
        return Err(ApiError::not_found("article"));
    }
    let out = transact(p, &w.tactor, async |tx| {
        let article: Option<Article> = tx.get_json(&keys::tenant::kb_article(id)).await?;
        let Some(article) = article.filter(|a| a.published_version.is_some()) else {
            return Err(ApiError::not_found("article"));
        };
        let mut s: ArticleStats = tx
            .get_json(&keys::tenant::kb_article_stats(id))
            .await?
            .unwrap_or_default();
        let previous = match &visitor {
            Some(v) => {
                tx.get_json::<bool>(&keys::tenant::kb_vote(&article.id, v))
                    .await?
            }
            None => None,
        };
        if previous != Some(vote.helpful) {
            match previous {
                Some(true) => s.helpful = s.helpful.saturating_sub(1),
                Some(false) => s.not_helpful = s.not_helpful.saturating_sub(1),
                None => {}
            }
            if vote.helpful {
                s.helpful += 1;
            } else {
                s.not_helpful += 1;
            }
            tx.put_json(keys::tenant::kb_article_stats(id), &s)?;
            if let Some(v) = &visitor {
                tx.put_json(keys::tenant::kb_vote(id, v), &vote.helpful)?;
            }
        }
        Ok(VoteResult {
            helpful: s.helpful,
            not_helpful: s.not_helpful,
            vote: vote.helpful,
        })
    })
    .await?;
    Ok(cors(json(StatusCode::OK, &out)?, w.origin.as_deref()))
}
