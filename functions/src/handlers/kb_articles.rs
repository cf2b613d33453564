//! Knowledge-base articles over HTTP: drafts, publishing, import, version history, diffs and
//! restore. Input rules shared with categories and search are `crate::kb_input`; storage and
//! the search index are `crate::kb`.

use chrono::{DateTime, Utc};
use edgedesk_search::Change;
use http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::ctx::{filter_fingerprint, id_parts, paginate, record_event, Ctx};
use crate::error::ApiError;
use crate::http::{
    body, check_version, if_match, json, json_versioned, no_content, query, Request, Response,
};
use crate::kb::{
    self, is_id, mint_id, Article, ArticleStats, ArticleStatus, ArticleVersion, Category, Published,
};
use crate::keys;
use crate::ports::{Platform, Scan, Storage};
use crate::store::{get_json, transact, Tx};

use crate::kb_input::*;

// ---------------------------------------------------------------------------------------------
// Articles

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateArticle {
    pub title: String,
    /// Markdown.
    #[serde(default)]
    pub body: String,
    pub locale: String,
    pub category_id: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Made from the title when absent (or from the id, for titles without ASCII letters).
    pub slug: Option<String>,
    /// An article this one translates: they share a group and link each other on the help center.
    pub translation_of: Option<String>,
    /// Publish the first version at once.
    #[serde(default)]
    pub publish: bool,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateArticle {
    pub title: Option<String>,
    pub body: Option<String>,
    pub tags: Option<Vec<String>>,
    pub slug: Option<String>,
    pub locale: Option<String>,
    /// `null` files the article under no category.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub category_id: Option<Option<String>>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishArticle {
    /// The version to publish; the latest when absent.
    pub version: Option<u64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RestoreArticle {
    /// The version whose content becomes a new latest version (a draft until published).
    pub version: u64,
}

/// An article with its counters.
#[derive(Debug, Serialize, ToSchema)]
pub struct ArticleView {
    #[serde(flatten)]
    pub article: Article,
    pub stats: ArticleStats,
}

async fn article_view<S: Storage>(
    store: &S,
    actor: &str,
    article: Article,
) -> Result<ArticleView, ApiError> {
    let stats = get_json(store, actor, &keys::tenant::kb_article_stats(&article.id))
        .await?
        .unwrap_or_default();
    Ok(ArticleView { article, stats })
}

/// Claims `slug` in `locale` for article `id` inside the transaction, or says who holds it.
async fn slug_free<S: Storage>(
    tx: &mut Tx<'_, S>,
    locale: &str,
    slug: &str,
    id: &str,
) -> Result<bool, ApiError> {
    Ok(
        match tx.get(&keys::tenant::kb_article_slug(locale, slug)).await? {
            None => true,
            Some(holder) => holder == id.as_bytes(),
        },
    )
}

/// Picks the slug for a new article: the requested one (409 if taken), or one made from the
/// title with a numeric suffix when needed.
async fn pick_slug<S: Storage>(
    tx: &mut Tx<'_, S>,
    requested: Option<&str>,
    title: &str,
    locale: &str,
    id: &str,
) -> Result<String, ApiError> {
    if let Some(s) = requested {
        if !slug_free(tx, locale, s, id).await? {
            return Err(ApiError::conflict(
                "slug_taken",
                "another article in this locale uses this slug",
            ));
        }
        return Ok(s.to_owned());
    }
    let base = kb::slugify(title);
    if !base.is_empty() {
        for n in 1..=20u32 {
            let candidate = if n == 1 {
                base.clone()
            } else {
                let suffix = format!("-{n}");
                let mut b = base.clone();
                b.truncate(kb::MAX_SLUG_CHARS - suffix.len());
                format!("{}{suffix}", b.trim_end_matches('-'))
            };
            if slug_free(tx, locale, &candidate, id).await? {
                return Ok(candidate);
            }
        }
    }
    Ok(id.to_lowercase())
}

/// Changes the article count of a category inside the transaction.
async fn count_in_category<S: Storage>(
    tx: &mut Tx<'_, S>,
    category: &str,
    up: bool,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let mut cat: Category = tx
        .get_json(&keys::tenant::kb_category(category))
        .await?
        .ok_or_else(|| invalid("category_id names no category of this tenant"))?;
    cat.article_count = if up {
        cat.article_count + 1
    } else {
        cat.article_count.saturating_sub(1)
    };
    cat.updated_at = now;
    tx.put_json(keys::tenant::kb_category(category), &cat)
}

/// Stages everything derived from an article's published state: its public projection, its
/// translation-group entry, and the index change. `before`/`after` are the article record
/// before and after the write (`None`: absent).
async fn stage_public<P: Platform>(
    tx: &mut Tx<'_, P>,
    before: Option<&Article>,
    after: Option<&Article>,
) -> Result<Vec<Change>, ApiError> {
    let was = before.and_then(|a| a.published_version.map(|v| (a, v)));
    let now = after.and_then(|a| a.published_version.map(|v| (a, v)));
    let mut changes = Vec::new();
    if let Some((a, _)) = was {
        tx.delete(keys::tenant::kb_published(&a.locale, &a.id));
        let gk = keys::tenant::kb_group_translation(&a.group, &a.locale);
        if tx
            .get_json::<Published>(&gk)
            .await?
            .is_some_and(|g| g.id == a.id)
        {
            tx.delete(gk);
        }
    }
    if let Some((a, v)) = now {
        let version: ArticleVersion = tx
            .get_json(&keys::tenant::kb_article_version(&a.id, v))
            .await?
            .ok_or_else(ApiError::internal)?;
        let entry = Published {
            id: a.id.clone(),
            slug: a.slug.clone(),
            title: version.title.clone(),
            category_id: a.category_id.clone(),
            group: a.group.clone(),
            version: v,
            updated_at: a.published_at.unwrap_or(a.updated_at),
        };
        tx.put_json(keys::tenant::kb_published(&a.locale, &a.id), &entry)?;
        tx.put_json(
            keys::tenant::kb_group_translation(&a.group, &a.locale),
            &entry,
        )?;
        let reindex = match was {
            Some((b, bv)) => bv != v || b.locale != a.locale,
            None => true,
        };
        if reindex {
            changes.push(Change::Upsert(kb::index_article(a, &version)));
        }
    } else if let Some((a, _)) = was {
        changes.push(Change::Remove(a.id.clone()));
    }
    Ok(changes)
}

/// `GET /v1/kb/articles`
#[derive(Debug, Default, Serialize, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ArticleQuery {
    pub limit: Option<usize>,
    pub cursor: Option<String>,
    pub locale: Option<String>,
    pub category_id: Option<String>,
    pub status: Option<ArticleStatus>,
    pub tag: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ArticlePage {
    pub data: Vec<Article>,
    pub next_cursor: Option<String>,
}

/// `GET /v1/kb/articles`: newest first, filtered.
#[utoipa::path(get, path = "/v1/kb/articles", tag = "kb",
    params(ArticleQuery),
    responses((status = 200, body = ArticlePage)))]
pub async fn list_articles<P: Platform>(
    c: &Ctx<'_, P>,
    req: &Request,
) -> Result<Response, ApiError> {
    let mut q: ArticleQuery = query(req)?;
    if let Some(l) = &q.locale {
        q.locale = Some(
            locale_of(l)
                .map_err(|e| ApiError::bad_request("invalid_query", e.message))?
                .to_owned(),
        );
    }
    let filters = (&q.locale, &q.category_id, &q.status, &q.tag);
    let fp = filter_fingerprint(&filters);
    let page = paginate::<_, Article>(
        c,
        &c.actor,
        keys::tenant::KB_ARTICLES,
        true,
        q.limit,
        q.cursor.as_deref(),
        &fp,
        |a| {
            q.locale.as_ref().is_none_or(|l| &a.locale == l)
                && q.category_id
                    .as_ref()
                    .is_none_or(|cat| a.category_id.as_ref() == Some(cat))
                && q.status.is_none_or(|s| a.status == s)
                && q.tag
                    .as_ref()
                    .is_none_or(|t| a.tags.iter().any(|x| x.eq_ignore_ascii_case(t)))
        },
    )
    .await?;
    json(
        StatusCode::OK,
        &ArticlePage {
            data: page.data,
            next_cursor: page.next_cursor,
        },
    )
}

/// `POST /v1/kb/articles`
#[utoipa::path(post, path = "/v1/kb/articles", tag = "kb",
    request_body(content = CreateArticle, example = json!({"title": "How long does delivery take?", "body": "Orders ship within **two working days**.", "locale": "en", "category_id": "kbc_01J8Z3Q4W5E6R7T8Y9V0A1B2G7", "tags": ["shipping"]})),
    responses((status = 201, body = ArticleView, description = "The article created as a draft (version 1)."),
        (status = 409, description = "The slug is taken."), (status = 422)))]
pub async fn create_article<P: Platform>(
    c: &Ctx<'_, P>,
    req: &Request,
) -> Result<Response, ApiError> {
    let input: CreateArticle = body(req)?;
    let new = prepare(c, &input)?;
    let (article, lease) = transact(c.p, &c.actor, async |tx| {
        let (article, changes) = stage_new(c, tx, &new).await?;
        let lease = kb::stage_index_changes(c.p, tx, &c.actor, changes).await?;
        Ok((article, lease))
    })
    .await?;
    if let Some(l) = lease {
        l.keep(&c.actor);
    }
    let revision = article.revision;
    json_versioned(
        StatusCode::CREATED,
        &ArticleView {
            article,
            stats: ArticleStats::default(),
        },
        revision,
    )
}

/// A validated new article with its id.
struct NewArticle<'a> {
    id: String,
    input: &'a CreateArticle,
    title: String,
    tags: Vec<String>,
    locale: &'static str,
}

fn prepare<'a, P: Platform>(
    c: &Ctx<'_, P>,
    input: &'a CreateArticle,
) -> Result<NewArticle<'a>, ApiError> {
    let title = clean_title(&input.title)?;
    let tags = clean_tags(&input.tags)?;
    let locale = locale_of(&input.locale)?;
    if let Some(s) = &input.slug {
        check_slug(s)?;
    }
    if input
        .category_id
        .as_deref()
        .is_some_and(|cat| !is_id(cat, "kbc"))
    {
        return Err(invalid("category_id names no category of this tenant"));
    }
    let (ms, r) = id_parts(c.p);
    Ok(NewArticle {
        id: mint_id("kba", ms, r),
        input,
        title,
        tags,
        locale,
    })
}

/// Stages a new article's records and returns it with its index changes.
async fn stage_new<P: Platform>(
    c: &Ctx<'_, P>,
    tx: &mut Tx<'_, P>,
    new: &NewArticle<'_>,
) -> Result<(Article, Vec<Change>), ApiError> {
    let NewArticle {
        id,
        input,
        title,
        tags,
        locale,
    } = new;
    let locale: &str = locale;
    let now = c.now();
    let author = c.actor_ref();
    let group = match &input.translation_of {
        None => id.clone(),
        Some(other) => {
            let o: Article = match is_id(other, "kba") {
                true => tx.get_json(&keys::tenant::kb_article(other)).await?,
                false => None,
            }
            .ok_or_else(|| invalid("translation_of names no article of this tenant"))?;
            if o.locale == locale {
                return Err(invalid(
                    "a translation must be in another locale than the article it translates",
                ));
            }
            o.group
        }
    };
    let slug = pick_slug(tx, input.slug.as_deref(), title, locale, id).await?;
    if let Some(cat) = &input.category_id {
        count_in_category(tx, cat, true, now).await?;
    }
    let article = Article {
        id: id.clone(),
        category_id: input.category_id.clone(),
        locale: locale.to_owned(),
        slug: slug.clone(),
        title: title.clone(),
        body: input.body.clone(),
        tags: tags.clone(),
        group,
        status: if input.publish {
            ArticleStatus::Published
        } else {
            ArticleStatus::Draft
        },
        version: 1,
        published_version: input.publish.then_some(1),
        published_at: input.publish.then_some(now),
        revision: 1,
        created_at: now,
        updated_at: now,
    };
    let version = ArticleVersion {
        article_id: id.clone(),
        version: 1,
        title: title.clone(),
        body: input.body.clone(),
        tags: tags.clone(),
        author: author.clone(),
        created_at: now,
        restored_from: None,
    };
    tx.put(
        keys::tenant::kb_article_slug(locale, &slug),
        id.clone().into_bytes(),
    );
    tx.put_json(keys::tenant::kb_article_version(id, 1), &version)?;
    tx.put_json(keys::tenant::kb_article(id), &article)?;
    let changes = stage_public(tx, None, Some(&article)).await?;
    record_event(
        c.p,
        tx,
        id,
        "kb_article.created",
        author,
        serde_json::json!({"published": input.publish}),
    )?;
    Ok((article, changes))
}

/// Most articles one import request may carry.
pub const MAX_IMPORT: usize = 100;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportArticles {
    pub articles: Vec<CreateArticle>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportResult {
    /// The created articles' ids, in request order.
    pub ids: Vec<String>,
}

/// `POST /v1/kb/articles/import`: creates up to 100 articles in one transaction (all or
/// none), indexing the published ones in one index change, which makes moving a help center
/// in far cheaper than one request per article.
#[utoipa::path(post, path = "/v1/kb/articles/import", tag = "kb", request_body = ImportArticles,
    responses((status = 201, body = ImportResult), (status = 409), (status = 422)))]
pub async fn import_articles<P: Platform>(
    c: &Ctx<'_, P>,
    req: &Request,
) -> Result<Response, ApiError> {
    let input: ImportArticles = body(req)?;
    if input.articles.is_empty() || input.articles.len() > MAX_IMPORT {
        return Err(invalid(format!(
            "articles must hold 1 to {MAX_IMPORT} articles"
        )));
    }
    let news = input
        .articles
        .iter()
        .enumerate()
        .map(|(i, a)| {
            prepare(c, a).map_err(|e| ApiError {
                message: format!("articles[{i}]: {}", e.message),
                ..e
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let lease = transact(c.p, &c.actor, async |tx| {
        let mut changes = Vec::new();
        for new in &news {
            changes.extend(stage_new(c, tx, new).await?.1);
        }
        kb::stage_index_changes(c.p, tx, &c.actor, changes).await
    })
    .await?;
    if let Some(l) = lease {
        l.keep(&c.actor);
    }
    json(
        StatusCode::CREATED,
        &ImportResult {
            ids: news.into_iter().map(|n| n.id).collect(),
        },
    )
}

/// `GET /v1/kb/articles/{id}`
#[utoipa::path(get, path = "/v1/kb/articles/{id}", tag = "kb", params(("id" = String, Path, description = "article id", example = "kba_01J8Z3Q4W5E6R7T8Y9V0A1B2H8")),
    responses((status = 200, body = ArticleView, description = "The article, its latest version and what is published."), (status = 404)))]
pub async fn get_article<P: Platform>(c: &Ctx<'_, P>, id: &str) -> Result<Response, ApiError> {
    check_article_id(id)?;
    let article: Article = get_json(c.p, &c.actor, &keys::tenant::kb_article(id))
        .await?
        .ok_or_else(|| ApiError::not_found("article"))?;
    let revision = article.revision;
    json_versioned(
        StatusCode::OK,
        &article_view(c.p, &c.actor, article).await?,
        revision,
    )
}

/// The shared write path of update, publish, unpublish and restore: reads the article under
/// `If-Match`, appends a version when `content` returns new content (title, body, tags, and
/// the version it was restored from), lets `edit` change metadata and publication, and stages
/// the derived records and index changes.
async fn write_article<P: Platform>(
    c: &Ctx<'_, P>,
    id: &str,
    demanded: Option<u64>,
    event: &str,
    mut edit: impl AsyncFnMut(&mut Tx<'_, P>, &mut Article) -> Result<(), ApiError>,
    content: impl Fn(&Article) -> Result<Option<(String, String, Vec<String>, Option<u64>)>, ApiError>,
) -> Result<Article, ApiError> {
    check_article_id(id)?;
    let now = c.now();
    let author = c.actor_ref();
    let (article, lease) = transact(c.p, &c.actor, async |tx| {
        let before: Article = tx
            .get_json(&keys::tenant::kb_article(id))
            .await?
            .ok_or_else(|| ApiError::not_found("article"))?;
        check_version(demanded, before.revision)?;
        let mut after = before.clone();
        if let Some((title, body, tags, restored_from)) = content(&before)? {
            // A restore always makes a version, so the history shows it even when the content
            // already matched; an edit that changes nothing makes none.
            if title != after.title
                || body != after.body
                || tags != after.tags
                || restored_from.is_some()
            {
                after.version += 1;
                let version = ArticleVersion {
                    article_id: id.to_owned(),
                    version: after.version,
                    title: title.clone(),
                    body: body.clone(),
                    tags: tags.clone(),
                    author: author.clone(),
                    created_at: now,
                    restored_from,
                };
                tx.put_json(
                    keys::tenant::kb_article_version(id, after.version),
                    &version,
                )?;
                after.title = title;
                after.body = body;
                after.tags = tags;
            }
        }
        edit(tx, &mut after).await?;
        after.status = if after.published_version.is_some() {
            ArticleStatus::Published
        } else {
            ArticleStatus::Draft
        };
        if after == before {
            return Ok((before, None));
        }
        if after.slug != before.slug || after.locale != before.locale {
            if !slug_free(tx, &after.locale, &after.slug, id).await? {
                return Err(ApiError::conflict(
                    "slug_taken",
                    "another article in this locale uses this slug",
                ));
            }
            tx.delete(keys::tenant::kb_article_slug(&before.locale, &before.slug));
            tx.put(
                keys::tenant::kb_article_slug(&after.locale, &after.slug),
                id.as_bytes().to_vec(),
            );
        }
        if after.category_id != before.category_id {
            if let Some(cat) = &before.category_id {
                count_in_category(tx, cat, false, now).await?;
            }
            if let Some(cat) = &after.category_id {
                count_in_category(tx, cat, true, now).await?;
            }
        }
        after.revision += 1;
        after.updated_at = now;
        tx.put_json(keys::tenant::kb_article(id), &after)?;
        let changes = stage_public(tx, Some(&before), Some(&after)).await?;
        let lease = kb::stage_index_changes(c.p, tx, &c.actor, changes).await?;
        record_event(
            c.p,
            tx,
            id,
            event,
            author.clone(),
            crate::ctx::diff(&before, &after),
        )?;
        Ok((after, lease))
    })
    .await?;
    if let Some(l) = lease {
        l.keep(&c.actor);
    }
    Ok(article)
}

async fn respond_article<P: Platform>(
    c: &Ctx<'_, P>,
    article: Article,
) -> Result<Response, ApiError> {
    let revision = article.revision;
    json_versioned(
        StatusCode::OK,
        &article_view(c.p, &c.actor, article).await?,
        revision,
    )
}

/// `PATCH /v1/kb/articles/{id}`: new content becomes a new version (a draft while the article
/// shows an older published version); slug, locale and category change in place.
#[utoipa::path(patch, path = "/v1/kb/articles/{id}", tag = "kb", params(("id" = String, Path)),
    request_body = UpdateArticle, responses((status = 200, body = ArticleView), (status = 404), (status = 409), (status = 412), (status = 422)))]
pub async fn update_article<P: Platform>(
    c: &Ctx<'_, P>,
    id: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    check_article_id(id)?;
    let demanded = if_match(req.headers())?;
    let input: UpdateArticle = body(req)?;
    let title = input.title.as_deref().map(clean_title).transpose()?;
    let tags = input.tags.as_deref().map(clean_tags).transpose()?;
    let locale = input.locale.as_deref().map(locale_of).transpose()?;
    if let Some(s) = &input.slug {
        check_slug(s)?;
    }
    if let Some(Some(cat)) = &input.category_id {
        if !is_id(cat, "kbc") {
            return Err(invalid("category_id names no category of this tenant"));
        }
    }
    let touches_content = title.is_some() || input.body.is_some() || tags.is_some();
    let article = write_article(
        c,
        id,
        demanded,
        "kb_article.updated",
        async |_tx, a| {
            if let Some(s) = &input.slug {
                a.slug = s.clone();
            }
            if let Some(l) = locale {
                a.locale = l.to_owned();
            }
            if let Some(cat) = &input.category_id {
                a.category_id = cat.clone();
            }
            Ok(())
        },
        |a| {
            Ok(touches_content.then(|| {
                (
                    title.clone().unwrap_or_else(|| a.title.clone()),
                    input.body.clone().unwrap_or_else(|| a.body.clone()),
                    tags.clone().unwrap_or_else(|| a.tags.clone()),
                    None,
                )
            }))
        },
    )
    .await?;
    respond_article(c, article).await
}

/// `POST /v1/kb/articles/{id}/publish`: makes a version (the latest by default) public and
/// searchable.
#[utoipa::path(post, path = "/v1/kb/articles/{id}/publish", tag = "kb", params(("id" = String, Path, description = "article id", example = "kba_01J8Z3Q4W5E6R7T8Y9V0A1B2H8")),
    request_body(content = PublishArticle, example = json!({"version": 1})),
    responses((status = 200, body = ArticleView, description = "The article with the version now published."), (status = 404), (status = 422)))]
pub async fn publish<P: Platform>(
    c: &Ctx<'_, P>,
    id: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    check_article_id(id)?;
    let demanded = if_match(req.headers())?;
    let input: PublishArticle = optional_body(req)?;
    let now = c.now();
    let article = write_article(
        c,
        id,
        demanded,
        "kb_article.published",
        async |_tx, a| {
            let v = input.version.unwrap_or(a.version);
            if v == 0 || v > a.version {
                return Err(invalid(format!("version must be 1 to {}", a.version)));
            }
            if a.published_version != Some(v) {
                a.published_version = Some(v);
                a.published_at = Some(now);
            }
            Ok(())
        },
        |_| Ok(None),
    )
    .await?;
    respond_article(c, article).await
}

/// `POST /v1/kb/articles/{id}/unpublish`: back to draft; gone from the help center and search.
#[utoipa::path(post, path = "/v1/kb/articles/{id}/unpublish", tag = "kb", params(("id" = String, Path)),
    responses((status = 200, body = ArticleView), (status = 404)))]
pub async fn unpublish<P: Platform>(
    c: &Ctx<'_, P>,
    id: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    let demanded = if_match(req.headers())?;
    let article = write_article(
        c,
        id,
        demanded,
        "kb_article.unpublished",
        async |_tx, a| {
            a.published_version = None;
            a.published_at = None;
            Ok(())
        },
        |_| Ok(None),
    )
    .await?;
    respond_article(c, article).await
}

/// `POST /v1/kb/articles/{id}/restore`: the content of an older version becomes a new
/// version. History is never rewritten; the public version changes only on publish.
#[utoipa::path(post, path = "/v1/kb/articles/{id}/restore", tag = "kb", params(("id" = String, Path)),
    request_body = RestoreArticle, responses((status = 200, body = ArticleView), (status = 404), (status = 422)))]
pub async fn restore<P: Platform>(
    c: &Ctx<'_, P>,
    id: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    check_article_id(id)?;
    let demanded = if_match(req.headers())?;
    let input: RestoreArticle = body(req)?;
    let old: ArticleVersion = get_json(
        c.p,
        &c.actor,
        &keys::tenant::kb_article_version(id, input.version),
    )
    .await?
    .ok_or_else(|| invalid(format!("the article has no version {}", input.version)))?;
    let article = write_article(
        c,
        id,
        demanded,
        "kb_article.restored",
        async |_tx, _a| Ok(()),
        |_| {
            Ok(Some((
                old.title.clone(),
                old.body.clone(),
                old.tags.clone(),
                Some(old.version),
            )))
        },
    )
    .await?;
    respond_article(c, article).await
}

/// `DELETE /v1/kb/articles/{id}`: the article, its versions, counters and public pages.
#[utoipa::path(delete, path = "/v1/kb/articles/{id}", tag = "kb", params(("id" = String, Path)),
    responses((status = 204), (status = 404), (status = 412)))]
pub async fn delete_article<P: Platform>(
    c: &Ctx<'_, P>,
    id: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    check_article_id(id)?;
    let demanded = if_match(req.headers())?;
    let now = c.now();
    let lease = transact(c.p, &c.actor, async |tx| {
        let before: Article = tx
            .get_json(&keys::tenant::kb_article(id))
            .await?
            .ok_or_else(|| ApiError::not_found("article"))?;
        check_version(demanded, before.revision)?;
        // New versions and votes are written only together with a read of the article record
        // (votes check it is published), so the checked read above makes these scans complete.
        for prefix in [
            keys::tenant::kb_article_versions(id),
            keys::tenant::kb_votes(id),
        ] {
            let mut after = None;
            loop {
                let page =
                    c.p.scan(
                        &c.actor,
                        &Scan {
                            prefix: prefix.clone(),
                            after: after.take(),
                            limit: 1000,
                            reverse: false,
                        },
                    )
                    .await?;
                let full = page.len() == 1000;
                after = page.last().map(|(k, _)| k.clone());
                for (k, _) in page {
                    tx.delete(k);
                }
                if !full {
                    break;
                }
            }
        }
        tx.delete(keys::tenant::kb_article(id));
        tx.delete(keys::tenant::kb_article_stats(id));
        tx.delete(keys::tenant::kb_article_slug(&before.locale, &before.slug));
        if let Some(cat) = &before.category_id {
            count_in_category(tx, cat, false, now).await?;
        }
        let changes = stage_public(tx, Some(&before), None).await?;
        let lease = kb::stage_index_changes(c.p, tx, &c.actor, changes).await?;
        record_event(
            c.p,
            tx,
            id,
            "kb_article.deleted",
            c.actor_ref(),
            serde_json::Value::Null,
        )?;
        Ok(lease)
    })
    .await?;
    if let Some(l) = lease {
        l.keep(&c.actor);
    }
    Ok(no_content())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_trimmed_and_deduplicated_ignoring_case() {
        let tags =
            clean_tags(&[" Billing ".into(), "billing".into(), "退款".into()]).unwrap_or_default();
        assert_eq!(tags, vec!["Billing", "退款"]);
        assert!(clean_tags(&["".into()]).is_err());
    }
}
