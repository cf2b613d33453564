//! Widget attachments: a visitor's upload (size and type checked, stored in the tenant's blob
//! store) and the signed download link messages carry.

use http::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use http::StatusCode;
use serde::Deserialize;

use crate::domain::blobs::{self, BlobMeta};
use crate::error::ApiError;
use crate::http::cors;
use crate::http::{json, path_id, query, Request, Response};
use crate::keys::{self, blob_actor, tenant_actor};
use crate::ports::Platform;
use crate::store::get_json;
use crate::visitor::{settings, visitor};
use edgedesk_shared::ids::TenantId;
use edgedesk_shared::model::Attachment;
use edgedesk_shared::widget::attachment_signature;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct UploadQuery {
    name: Option<String>,
}

/// `POST /v1/widget/{tenant}/attachments?name=…` with the raw file as body.
#[utoipa::path(post, path = "/v1/widget/{tenant}/attachments", tag = "widget", params(("tenant" = String, Path), ("name" = String, Query)),
    responses((status = 201, body = Attachment), (status = 413), (status = 415)))]
pub async fn upload<P: Platform>(
    p: &P,
    raw_tenant: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    let v = visitor(p, raw_tenant, req).await?;
    let q: UploadQuery = query(req)?;
    let name = q
        .name
        .filter(|n| !n.trim().is_empty() && n.len() <= 255)
        .ok_or_else(|| {
            ApiError::bad_request("invalid_query", "name is required (1 to 255 bytes)")
        })?;
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|c| c.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_owned();
    let policy = &v.w.settings.attachments;
    if !policy.types.iter().any(|t| t == &content_type) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("allowed types: {}", policy.types.join(", ")),
        ));
    }
    let size = req.body().len() as u64;
    if size == 0 {
        return Err(ApiError::bad_request("invalid_body", "the file is empty"));
    }
    if size > policy.max_bytes {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("files may be at most {} bytes", policy.max_bytes),
        ));
    }
    let meta = BlobMeta {
        name,
        content_type,
        size,
        contact_id: v.contact_id,
    };
    let att = blobs::store(
        p,
        &v.w.tenant_id,
        &v.w.settings.token_secret,
        meta,
        req.body().clone(),
    )
    .await?;
    Ok(cors(
        json(StatusCode::CREATED, &att)?,
        v.w.origin.as_deref(),
    ))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DownloadQuery {
    sig: Option<String>,
}

/// `GET /v1/widget/{tenant}/attachments/{id}?sig=…`: the signed link works in `<img src>`.
#[utoipa::path(get, path = "/v1/widget/{tenant}/attachments/{id}", tag = "widget",
    params(("tenant" = String, Path), ("id" = String, Path, description = "attachment id")),
    responses((status = 200, description = "The file, with its content type.", content_type = "application/octet-stream"), (status = 401), (status = 404)))]
pub async fn download<P: Platform>(
    p: &P,
    raw_tenant: &str,
    blob_id: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    let tenant_id: TenantId = path_id(raw_tenant, "tenant")?;
    let s = settings(p, &tenant_actor(&tenant_id)).await?;
    let q: DownloadQuery = query(req)?;
    let expected = attachment_signature(&s.token_secret, blob_id);
    let ok = q.sig.is_some_and(|sig| {
        edgedesk_shared::auth::constant_time_eq(sig.as_bytes(), expected.as_bytes())
    });
    if !ok || !blob_id.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(ApiError::not_found("attachment"));
    }
    let bactor = blob_actor(&tenant_id);
    let meta: BlobMeta = get_json(p, &bactor, &keys::blob::meta(blob_id))
        .await?
        .ok_or_else(|| ApiError::not_found("attachment"))?;
    let bytes = p
        .get(&bactor, &keys::blob::content(blob_id))
        .await?
        .ok_or_else(|| ApiError::not_found("attachment"))?;
    let mut resp = Response::new(bytes);
    let h = resp.headers_mut();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_str(&meta.content_type).map_err(ApiError::internal_from)?,
    );
    h.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=31536000, immutable"),
    );
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("content-disposition", HeaderValue::from_static("inline"));
    h.insert("access-control-allow-origin", HeaderValue::from_static("*"));
    Ok(resp)
}
