//! Input rules of the knowledge-base routes: titles, tags, slugs, locales, optional bodies and
//! search parameters, shared by the categories, articles, search and widget routes.

use std::collections::BTreeSet;

use http::StatusCode;
use serde::{Deserialize, Deserializer};
use utoipa::IntoParams;

use crate::error::ApiError;
use crate::http::{body, query, Request};
use crate::kb::{self};

/// Longest search query, in characters.
pub const MAX_QUERY_CHARS: usize = 200;
/// Largest search page.
pub const MAX_SEARCH_LIMIT: usize = 50;
/// Deepest search offset.
pub const MAX_SEARCH_OFFSET: usize = 1_000;
/// Suggestions returned while the visitor types.
pub const SUGGESTIONS: usize = 5;

pub fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        message,
    )
}

/// `Some(None)` for an explicit `null`, `None` for an absent field.
pub fn double_option<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// A body that may be empty (then the defaults apply).
pub fn optional_body<T: serde::de::DeserializeOwned + Default>(
    req: &Request,
) -> Result<T, ApiError> {
    if req.body().is_empty() {
        Ok(T::default())
    } else {
        body(req)
    }
}

pub fn locale_of(raw: &str) -> Result<&'static str, ApiError> {
    kb::canonical_locale(raw)
        .ok_or_else(|| invalid(format!("locale must be one of {}", kb::LOCALES.join(", "))))
}

pub fn clean_title(raw: &str) -> Result<String, ApiError> {
    let t = raw.trim();
    if t.is_empty() || t.chars().count() > kb::MAX_TITLE_CHARS || t.chars().any(char::is_control) {
        return Err(invalid(format!(
            "title must be 1 to {} characters without control characters",
            kb::MAX_TITLE_CHARS
        )));
    }
    Ok(t.to_owned())
}

pub fn clean_tags(raw: &[String]) -> Result<Vec<String>, ApiError> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for t in raw {
        let t = t.trim();
        if t.is_empty() || t.chars().count() > kb::MAX_TAG_CHARS || t.chars().any(char::is_control)
        {
            return Err(invalid(format!(
                "tags must be 1 to {} characters",
                kb::MAX_TAG_CHARS
            )));
        }
        if seen.insert(t.to_lowercase()) {
            out.push(t.to_owned());
        }
    }
    if out.len() > kb::MAX_TAGS {
        return Err(invalid(format!("at most {} tags", kb::MAX_TAGS)));
    }
    Ok(out)
}

pub fn clean_text(raw: &str, field: &str, max: usize, required: bool) -> Result<String, ApiError> {
    let t = raw.trim();
    if (required && t.is_empty()) || t.chars().count() > max {
        return Err(invalid(format!(
            "{field} must be {} to {max} characters",
            u8::from(required)
        )));
    }
    Ok(t.to_owned())
}

pub fn check_slug(slug: &str) -> Result<(), ApiError> {
    if kb::is_slug(slug) {
        Ok(())
    } else {
        Err(invalid(format!(
            "slug must be 1 to {} lower-case letters, digits and single hyphens",
            kb::MAX_SLUG_CHARS
        )))
    }
}

// ---------------------------------------------------------------------------------------------
// Search

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    pub q: Option<String>,
    /// `en`, `zh-CN`, or a bare language (`zh` finds `zh-CN` and `zh-TW`).
    pub locale: Option<String>,
    pub limit: Option<usize>,
    pub offset: Option<usize>,
}

pub struct SearchParams {
    pub q: String,
    pub locale: Option<String>,
    pub limit: usize,
    pub offset: usize,
}

pub fn search_params(req: &Request, default_limit: usize) -> Result<SearchParams, ApiError> {
    let q: SearchQuery = query(req)?;
    let bad = |m: String| ApiError::bad_request("invalid_query", m);
    let text = q.q.unwrap_or_default();
    let text = text.trim();
    if text.is_empty() || text.chars().count() > MAX_QUERY_CHARS {
        return Err(bad(format!("q must be 1 to {MAX_QUERY_CHARS} characters")));
    }
    let locale = match q.locale.as_deref().filter(|l| !l.is_empty()) {
        None => None,
        Some(l) => match kb::canonical_locale(l) {
            Some(c) => Some(c.to_owned()),
            None if kb::LOCALES.iter().any(|s| {
                s.split('-')
                    .next()
                    .is_some_and(|lang| lang.eq_ignore_ascii_case(l))
            }) =>
            {
                Some(l.to_ascii_lowercase())
            }
            None => {
                return Err(bad(format!(
                    "locale must be a language or one of {}",
                    kb::LOCALES.join(", ")
                )))
            }
        },
    };
    let limit = q.limit.unwrap_or(default_limit);
    if limit == 0 || limit > MAX_SEARCH_LIMIT {
        return Err(bad(format!("limit must be 1 to {MAX_SEARCH_LIMIT}")));
    }
    let offset = q.offset.unwrap_or(0);
    if offset > MAX_SEARCH_OFFSET {
        return Err(bad(format!("offset must be at most {MAX_SEARCH_OFFSET}")));
    }
    Ok(SearchParams {
        q: text.to_owned(),
        locale,
        limit,
        offset,
    })
}

/// An article id in a path: anything that is not one names no article.
pub fn check_article_id(id: &str) -> Result<(), ApiError> {
    if crate::kb::is_id(id, "kba") {
        Ok(())
    } else {
        Err(ApiError::not_found("article"))
    }
}
