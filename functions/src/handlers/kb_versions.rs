//! Knowledge-base article history over HTTP: the versions of an article, one version, and the
//! difference between two (`crate::kb_diff`). New versions are written by the articles'
//! handlers.

use http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::ctx::{paginate, Ctx};
use crate::error::ApiError;
use crate::http::{json, query, Request, Response};
use crate::kb::{Article, ArticleVersion};
use crate::kb_diff::{diff_versions, VersionDiff};
use crate::kb_input::{check_article_id, invalid};
use crate::keys;
use crate::ports::Platform;
use crate::store::get_json;

#[derive(Debug, Default, Serialize, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct VersionQuery {
    pub limit: Option<usize>,
    pub cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct VersionPage {
    pub data: Vec<ArticleVersion>,
    pub next_cursor: Option<String>,
}

/// `GET /v1/kb/articles/{id}/versions`: newest first.
#[utoipa::path(get, path = "/v1/kb/articles/{id}/versions", tag = "kb", params(("id" = String, Path), VersionQuery),
    responses((status = 200, body = VersionPage), (status = 404)))]
pub async fn list_versions<P: Platform>(
    c: &Ctx<'_, P>,
    id: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    check_article_id(id)?;
    let q: VersionQuery = query(req)?;
    if get_json::<_, Article>(c.p, &c.actor, &keys::tenant::kb_article(id))
        .await?
        .is_none()
    {
        return Err(ApiError::not_found("article"));
    }
    let page = paginate::<_, ArticleVersion>(
        c,
        &c.actor,
        &keys::tenant::kb_article_versions(id),
        true,
        q.limit,
        q.cursor.as_deref(),
        id,
        |_| true,
    )
    .await?;
    json(
        StatusCode::OK,
        &VersionPage {
            data: page.data,
            next_cursor: page.next_cursor,
        },
    )
}

fn version_number(raw: &str) -> Result<u64, ApiError> {
    raw.parse::<u64>()
        .ok()
        .filter(|v| *v > 0)
        .ok_or_else(|| ApiError::not_found("version"))
}

/// `GET /v1/kb/articles/{id}/versions/{version}`
#[utoipa::path(get, path = "/v1/kb/articles/{id}/versions/{version}", tag = "kb",
    params(("id" = String, Path), ("version" = u64, Path)), responses((status = 200, body = ArticleVersion), (status = 404)))]
pub async fn get_version<P: Platform>(
    c: &Ctx<'_, P>,
    id: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    check_article_id(id)?;
    let raw = req.uri().path().rsplit('/').next().unwrap_or("");
    let v = version_number(raw)?;
    let version: ArticleVersion = get_json(c.p, &c.actor, &keys::tenant::kb_article_version(id, v))
        .await?
        .ok_or_else(|| ApiError::not_found("version"))?;
    json(StatusCode::OK, &version)
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DiffQuery {
    pub from: Option<u64>,
    pub to: Option<u64>,
}

/// `GET /v1/kb/articles/{id}/diff?from=&to=`: `to` defaults to the latest version, `from` to
/// the one before `to`.
#[utoipa::path(get, path = "/v1/kb/articles/{id}/diff", tag = "kb", params(("id" = String, Path), DiffQuery),
    responses((status = 200, body = VersionDiff), (status = 404), (status = 422)))]
pub async fn diff<P: Platform>(
    c: &Ctx<'_, P>,
    id: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    check_article_id(id)?;
    let q: DiffQuery = query(req)?;
    let article: Article = get_json(c.p, &c.actor, &keys::tenant::kb_article(id))
        .await?
        .ok_or_else(|| ApiError::not_found("article"))?;
    let to = q.to.unwrap_or(article.version);
    let from = q.from.unwrap_or(to.saturating_sub(1).max(1));
    let load = async |v: u64| -> Result<ArticleVersion, ApiError> {
        get_json(c.p, &c.actor, &keys::tenant::kb_article_version(id, v))
            .await?
            .ok_or_else(|| invalid(format!("the article has no version {v}")))
    };
    let a = load(from).await?;
    let b = load(to).await?;
    json(StatusCode::OK, &diff_versions(&a, &b))
}
