//! Knowledge-base API: categories and articles (`/v1/kb/...`) with drafts, publishing, full
//! version history (list, diff, restore) and search; and the widget's public routes
//! (`/v1/widget/{tenant}/kb/...`): search, type-ahead suggestions, an article, votes.
//!
//! Every article write commits its record, its new version, its public projection and its
//! search-index records in one transaction on the tenant actor (see [`crate::kb`]), so the
//! public never sees a published article the index does not know, or the reverse.

use http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ctx::{id_parts, record_event, Ctx};
use crate::error::ApiError;
use crate::http::{
    body, check_version, if_match, json, json_versioned, no_content, Request, Response,
};
use crate::kb::{
    self, all_categories, is_id, mint_id, run_search, Category, CategoryText, SearchResponse,
    MAX_CATEGORIES,
};
use crate::kb_input::*;
use crate::keys;
use crate::ports::{Platform, Scan};
use crate::store::{get_json, transact};

// ---------------------------------------------------------------------------------------------
// Categories

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCategory {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub slug: Option<String>,
    #[serde(default)]
    pub position: i32,
    #[serde(default)]
    pub translations: std::collections::BTreeMap<String, CategoryText>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateCategory {
    pub name: Option<String>,
    pub description: Option<String>,
    pub slug: Option<String>,
    pub position: Option<i32>,
    pub translations: Option<std::collections::BTreeMap<String, CategoryText>>,
}

fn clean_translations(
    raw: &std::collections::BTreeMap<String, CategoryText>,
) -> Result<std::collections::BTreeMap<String, CategoryText>, ApiError> {
    let mut out = std::collections::BTreeMap::new();
    for (l, t) in raw {
        out.insert(
            locale_of(l)?.to_owned(),
            CategoryText {
                name: clean_text(&t.name, "name", kb::MAX_NAME_CHARS, true)?,
                description: clean_text(
                    &t.description,
                    "description",
                    kb::MAX_DESCRIPTION_CHARS,
                    false,
                )?,
            },
        );
    }
    Ok(out)
}

#[derive(Serialize, ToSchema)]
pub struct CategoryList {
    pub data: Vec<Category>,
}

/// `GET /v1/kb/categories`
#[utoipa::path(get, path = "/v1/kb/categories", tag = "kb",
    responses((status = 200, body = CategoryList)))]
pub async fn list_categories<P: Platform>(c: &Ctx<'_, P>) -> Result<Response, ApiError> {
    let data = all_categories(c.p, &c.actor).await?;
    json(StatusCode::OK, &CategoryList { data })
}

/// `POST /v1/kb/categories`
#[utoipa::path(post, path = "/v1/kb/categories", tag = "kb",
    request_body(content = CreateCategory, example = json!({"name": "Shipping", "description": "Delivery times, tracking and returns."})),
    responses((status = 201, body = Category, description = "The category created."),
        (status = 409, description = "The slug is taken."), (status = 422)))]
pub async fn create_category<P: Platform>(
    c: &Ctx<'_, P>,
    req: &Request,
) -> Result<Response, ApiError> {
    let input: CreateCategory = body(req)?;
    let name = clean_text(&input.name, "name", kb::MAX_NAME_CHARS, true)?;
    let description = clean_text(
        &input.description,
        "description",
        kb::MAX_DESCRIPTION_CHARS,
        false,
    )?;
    let translations = clean_translations(&input.translations)?;
    let (ms, r) = id_parts(c.p);
    let id = mint_id("kbc", ms, r);
    let slug = match &input.slug {
        Some(s) => {
            check_slug(s)?;
            s.clone()
        }
        None => Some(kb::slugify(&name))
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| id.to_lowercase()),
    };
    let now = c.now();
    let cat = Category {
        id: id.clone(),
        slug,
        name,
        description,
        position: input.position,
        translations,
        article_count: 0,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let count =
        c.p.scan(
            &c.actor,
            &Scan {
                prefix: keys::tenant::KB_CATEGORIES.into(),
                after: None,
                limit: MAX_CATEGORIES,
                reverse: false,
            },
        )
        .await?
        .len();
    if count >= MAX_CATEGORIES {
        return Err(invalid(format!(
            "a tenant has at most {MAX_CATEGORIES} categories"
        )));
    }
    transact(c.p, &c.actor, async |tx| {
        if tx
            .get(&keys::tenant::kb_category_slug(&cat.slug))
            .await?
            .is_some()
        {
            return Err(ApiError::conflict(
                "slug_taken",
                "another category uses this slug",
            ));
        }
        tx.put(
            keys::tenant::kb_category_slug(&cat.slug),
            cat.id.clone().into_bytes(),
        );
        tx.put_json(keys::tenant::kb_category(&cat.id), &cat)?;
        record_event(
            c.p,
            tx,
            &cat.id,
            "kb_category.created",
            c.actor_ref(),
            serde_json::Value::Null,
        )
    })
    .await?;
    json_versioned(StatusCode::CREATED, &cat, cat.version)
}

async fn load_category<P: Platform>(c: &Ctx<'_, P>, id: &str) -> Result<Category, ApiError> {
    if !is_id(id, "kbc") {
        return Err(ApiError::not_found("category"));
    }
    get_json(c.p, &c.actor, &keys::tenant::kb_category(id))
        .await?
        .ok_or_else(|| ApiError::not_found("category"))
}

/// `GET /v1/kb/categories/{id}`
#[utoipa::path(get, path = "/v1/kb/categories/{id}", tag = "kb", params(("id" = String, Path)),
    responses((status = 200, body = Category), (status = 404)))]
pub async fn get_category<P: Platform>(c: &Ctx<'_, P>, id: &str) -> Result<Response, ApiError> {
    let cat = load_category(c, id).await?;
    json_versioned(StatusCode::OK, &cat, cat.version)
}

/// `PATCH /v1/kb/categories/{id}`
#[utoipa::path(patch, path = "/v1/kb/categories/{id}", tag = "kb", params(("id" = String, Path)),
    request_body = UpdateCategory, responses((status = 200, body = Category), (status = 404), (status = 409), (status = 412)))]
pub async fn update_category<P: Platform>(
    c: &Ctx<'_, P>,
    id: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    load_category(c, id).await?;
    let demanded = if_match(req.headers())?;
    let input: UpdateCategory = body(req)?;
    let name = input
        .name
        .as_deref()
        .map(|n| clean_text(n, "name", kb::MAX_NAME_CHARS, true))
        .transpose()?;
    let description = input
        .description
        .as_deref()
        .map(|d| clean_text(d, "description", kb::MAX_DESCRIPTION_CHARS, false))
        .transpose()?;
    if let Some(s) = &input.slug {
        check_slug(s)?;
    }
    let translations = input
        .translations
        .as_ref()
        .map(clean_translations)
        .transpose()?;
    let now = c.now();
    let cat = transact(c.p, &c.actor, async |tx| {
        let mut cat: Category = tx
            .get_json(&keys::tenant::kb_category(id))
            .await?
            .ok_or_else(|| ApiError::not_found("category"))?;
        check_version(demanded, cat.version)?;
        let before = cat.clone();
        if let Some(n) = &name {
            cat.name = n.clone();
        }
        if let Some(d) = &description {
            cat.description = d.clone();
        }
        if let Some(p) = input.position {
            cat.position = p;
        }
        if let Some(t) = &translations {
            cat.translations = t.clone();
        }
        if let Some(s) = &input.slug {
            if *s != cat.slug {
                if tx.get(&keys::tenant::kb_category_slug(s)).await?.is_some() {
                    return Err(ApiError::conflict(
                        "slug_taken",
                        "another category uses this slug",
                    ));
                }
                tx.delete(keys::tenant::kb_category_slug(&cat.slug));
                tx.put(
                    keys::tenant::kb_category_slug(s),
                    cat.id.clone().into_bytes(),
                );
                cat.slug = s.clone();
            }
        }
        if cat == before {
            return Ok(cat);
        }
        cat.version += 1;
        cat.updated_at = now;
        tx.put_json(keys::tenant::kb_category(id), &cat)?;
        record_event(
            c.p,
            tx,
            id,
            "kb_category.updated",
            c.actor_ref(),
            crate::ctx::diff(&before, &cat),
        )?;
        Ok(cat)
    })
    .await?;
    json_versioned(StatusCode::OK, &cat, cat.version)
}

/// `DELETE /v1/kb/categories/{id}`: only an empty category can go.
#[utoipa::path(delete, path = "/v1/kb/categories/{id}", tag = "kb", params(("id" = String, Path)),
    responses((status = 204), (status = 404), (status = 409)))]
pub async fn delete_category<P: Platform>(
    c: &Ctx<'_, P>,
    id: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    load_category(c, id).await?;
    let demanded = if_match(req.headers())?;
    transact(c.p, &c.actor, async |tx| {
        let cat: Category = tx
            .get_json(&keys::tenant::kb_category(id))
            .await?
            .ok_or_else(|| ApiError::not_found("category"))?;
        check_version(demanded, cat.version)?;
        if cat.article_count > 0 {
            return Err(ApiError::conflict(
                "category_not_empty",
                format!(
                    "{} articles are filed under this category; move or delete them first",
                    cat.article_count
                ),
            ));
        }
        tx.delete(keys::tenant::kb_category(id));
        tx.delete(keys::tenant::kb_category_slug(&cat.slug));
        record_event(
            c.p,
            tx,
            id,
            "kb_category.deleted",
            c.actor_ref(),
            serde_json::Value::Null,
        )
    })
    .await?;
    Ok(no_content())
}

/// `GET /v1/kb/search?q=&locale=`: ranked search over published articles.
#[utoipa::path(get, path = "/v1/kb/search", tag = "kb", params(SearchQuery),
    responses((status = 200, body = SearchResponse), (status = 400)))]
pub async fn search<P: Platform>(c: &Ctx<'_, P>, req: &Request) -> Result<Response, ApiError> {
    let s = search_params(req, 10)?;
    let out = run_search(
        c.p,
        &c.tenant_id,
        &s.q,
        s.locale.as_deref(),
        s.limit,
        s.offset,
        false,
    )
    .await?;
    json(StatusCode::OK, &out)
}
