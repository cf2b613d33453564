//! The knowledge base's storage model and the pieces its API, widget routes and help-center
//! pages share: records, the search index kept in the tenant's storage, Markdown
//! rendering, and locale and slug rules.
//!
//! Everything lives in the tenant actor (the `kb:` keys of [`crate::keys::tenant`]), so an
//! article write, its version, its public projection and its search-index records commit in
//! one atomic batch: a [`Category`] and its slug, an [`Article`] with every [`ArticleVersion`]
//! and its slug, its [`ArticleStats`] and the visitors' votes, the [`Published`] projection per
//! locale and per translation group, and the search index of published versions (see
//! `edgedesk_search`).
//!
//! The index is loaded once per instance and kept while its meta record has not moved (one
//! read per query). A fresh instance per request pays a full load; hosts that reuse instances
//! (the local host's `--reuse`, Workers isolates) answer from memory.

use std::cell::RefCell;

use chrono::{DateTime, Utc};
use edgedesk_search::{Change, Index};
use http::StatusCode;
use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, TagEnd};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::keys::{self, tenant_actor};
use crate::ports::{Platform, Scan, Storage};
use crate::store::{get_json, scan_json, transact, Tx};
use edgedesk_search::SearchRequest;
use edgedesk_shared::ids::TenantId;
use edgedesk_shared::model::Actor;
use edgedesk_shared::sort::sort_by;

/// Tenants whose index one instance keeps in memory.
const CACHED_TENANTS: usize = 4;
/// Records per scan page while loading the index.
const LOAD_PAGE: usize = 4096;
/// Attempts to load a consistent index while writers keep changing it.
const LOAD_ATTEMPTS: usize = 8;

pub const MAX_TITLE_CHARS: usize = 300;
pub const MAX_TAGS: usize = 20;
pub const MAX_TAG_CHARS: usize = 50;
pub const MAX_SLUG_CHARS: usize = 100;
pub const MAX_NAME_CHARS: usize = 200;
pub const MAX_DESCRIPTION_CHARS: usize = 2_000;
/// Locales a help center serves; the API refuses others.
pub const LOCALES: &[&str] = &[
    "en", "zh-CN", "zh-TW", "ja", "ko", "fr", "de", "es", "pt-BR",
];

/// A category groups articles on the help center.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Category {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub description: String,
    /// Lower comes first on the help center.
    pub position: i32,
    /// Name and description per locale, used by that locale's help center.
    #[serde(default)]
    pub translations: std::collections::BTreeMap<String, CategoryText>,
    /// Articles filed under this category (drafts included).
    pub article_count: u64,
    pub version: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryText {
    pub name: String,
    #[serde(default)]
    pub description: String,
}

impl Category {
    /// Name and description for a locale's help center.
    pub fn text(&self, locale: &str) -> (&str, &str) {
        match self.translations.get(locale) {
            Some(t) => (&t.name, &t.description),
            None => (&self.name, &self.description),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ArticleStatus {
    /// Never published, or unpublished: not on the help center, not in public search.
    Draft,
    /// A version is public; later edits stay drafts until published.
    Published,
}

/// An article in one locale. Translations share a `group`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Article {
    pub id: String,
    pub category_id: Option<String>,
    pub locale: String,
    pub slug: String,
    /// Latest content (the draft when it is ahead of the published version).
    pub title: String,
    /// Markdown.
    pub body: String,
    pub tags: Vec<String>,
    /// Articles that translate each other share this id (the first article's id).
    pub group: String,
    pub status: ArticleStatus,
    /// Number of the latest content version.
    pub version: u64,
    /// The version the public sees, if published.
    pub published_version: Option<u64>,
    pub published_at: Option<DateTime<Utc>>,
    /// Changes with every write of the record (the `ETag`), content or not.
    pub revision: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One content version of an article.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ArticleVersion {
    pub article_id: String,
    pub version: u64,
    pub title: String,
    pub body: String,
    pub tags: Vec<String>,
    pub author: Actor,
    pub created_at: DateTime<Utc>,
    /// Set when the version was made by restoring an older one.
    pub restored_from: Option<u64>,
}

/// Counters kept apart from the article, so a page view never conflicts with an edit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ArticleStats {
    pub views: u64,
    pub helpful: u64,
    pub not_helpful: u64,
}

/// What the help center and public search know of a published article.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Published {
    pub id: String,
    pub slug: String,
    pub title: String,
    pub category_id: Option<String>,
    pub group: String,
    pub version: u64,
    pub updated_at: DateTime<Utc>,
}

/// Mints a `<prefix>_<ULID>` id.
pub fn mint_id(prefix: &str, ms: u64, random: u128) -> String {
    format!("{prefix}_{}", ulid::Ulid::from_parts(ms, random))
}

/// Whether `raw` is a canonical id minted by [`mint_id`] with `prefix`.
pub fn is_id(raw: &str, prefix: &str) -> bool {
    raw.strip_prefix(prefix)
        .and_then(|r| r.strip_prefix('_'))
        .is_some_and(|r| {
            r.len() == 26
                && r.bytes()
                    .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
                && ulid::Ulid::from_string(r).is_ok()
        })
}

/// The supported locale matching `raw` ignoring case (`zh-cn` → `zh-CN`).
pub fn canonical_locale(raw: &str) -> Option<&'static str> {
    LOCALES
        .iter()
        .copied()
        .find(|l| l.eq_ignore_ascii_case(raw))
}

/// A URL slug: lower-case ASCII letters, digits and single hyphens.
pub fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_SLUG_CHARS
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
        && !s.contains("--")
}

/// A slug made from a title; empty when the title has no ASCII letters or digits (e.g. a
/// Chinese title), in which case the caller falls back to the id.
pub fn slugify(title: &str) -> String {
    let mut out = String::new();
    for c in title.chars() {
        if c.is_ascii_alphanumeric() {
            if out.len() >= MAX_SLUG_CHARS {
                break;
            }
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.truncate(MAX_SLUG_CHARS);
    out.trim_matches('-').to_owned()
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Whether a link target is safe to put in `href`/`src`: relative, or http(s)/mailto
/// (`mailto` only for links). Browsers ignore tabs and newlines inside schemes, so they are
/// removed before looking.
fn safe_url(url: &str, image: bool) -> bool {
    let cleaned: String = url
        .trim_start_matches(|c: char| c.is_ascii_whitespace() || c.is_control())
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect();
    let scheme_end = cleaned.find(|c: char| matches!(c, ':' | '/' | '?' | '#'));
    match scheme_end {
        Some(i) if cleaned.as_bytes()[i] == b':' => {
            let scheme = cleaned[..i].to_ascii_lowercase();
            matches!(scheme.as_str(), "http" | "https") || (!image && scheme == "mailto")
        }
        _ => !cleaned.starts_with("//") || !image,
    }
}

fn markdown_options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS
}

/// Renders article Markdown to HTML that is safe to embed: raw HTML in the source is shown as
/// text, and links or images with a script-capable scheme point nowhere.
pub fn render_markdown(md: &str) -> String {
    let events = Parser::new_ext(md, markdown_options()).map(|e| match e {
        Event::Html(h) | Event::InlineHtml(h) => Event::Text(h),
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => {
            let dest_url = if safe_url(&dest_url, false) {
                dest_url
            } else {
                CowStr::Borrowed("#")
            };
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            })
        }
        Event::Start(Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }) => {
            let dest_url = if safe_url(&dest_url, true) {
                dest_url
            } else {
                CowStr::Borrowed("")
            };
            Event::Start(Tag::Image {
                link_type,
                dest_url,
                title,
                id,
            })
        }
        e => e,
    });
    let mut html = String::with_capacity(md.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, events);
    html
}

/// The text of article Markdown without markup, for the search index and descriptions.
pub fn plain_text(md: &str) -> String {
    let mut out = String::with_capacity(md.len());
    let gap = |out: &mut String| {
        if !out.is_empty() && !out.ends_with(char::is_whitespace) {
            out.push('\n');
        }
    };
    for e in Parser::new_ext(md, markdown_options()) {
        match e {
            Event::Text(t) | Event::Code(t) => out.push_str(&t),
            Event::SoftBreak | Event::HardBreak => out.push(' '),
            Event::End(
                TagEnd::Paragraph
                | TagEnd::Heading(_)
                | TagEnd::Item
                | TagEnd::CodeBlock
                | TagEnd::TableCell
                | TagEnd::BlockQuote(_),
            ) => gap(&mut out),
            _ => {}
        }
    }
    out.trim().to_owned()
}

/// A description for `<meta>` tags: the first `max` characters of the text, cut at a space
/// when there is one.
pub fn summary(text: &str, max: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        return flat;
    }
    let cut: String = flat.chars().take(max).collect();
    let cut = match cut.rfind(' ') {
        Some(i) if i > max / 2 => cut[..i].to_owned(),
        _ => cut,
    };
    format!("{cut}…")
}

/// The searchable form of a published version.
pub fn index_article(article: &Article, published: &ArticleVersion) -> edgedesk_search::Article {
    edgedesk_search::Article {
        id: article.id.clone(),
        locale: article.locale.clone(),
        title: published.title.clone(),
        body: plain_text(&published.body),
        tags: published.tags.clone(),
    }
}

thread_local! {
    /// Loaded indexes by tenant actor, most recently used first. WebAssembly instances are
    /// single-threaded, so a thread-local is the instance's memory.
    static CACHE: RefCell<Vec<(String, Index)>> = const { RefCell::new(Vec::new()) };
}

fn cache_take(actor: &str) -> Option<Index> {
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        let i = c.iter().position(|(a, _)| a == actor)?;
        Some(c.remove(i).1)
    })
}

/// Keeps an index for later requests of this instance.
fn cache_put(actor: &str, index: Index) {
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        c.retain(|(a, _)| a != actor);
        c.insert(0, (actor.to_owned(), index));
        c.truncate(CACHED_TENANTS);
    });
}

fn index_error(e: edgedesk_search::IndexError) -> ApiError {
    match e {
        edgedesk_search::IndexError::InvalidArticle { problem, .. } => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            format!("the article cannot be indexed: {problem}"),
        ),
        other => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "search_index_unavailable",
            format!("the knowledge-base index cannot be read: {other}"),
        ),
    }
}

/// Loads the tenant's index from storage. The meta record is read before and after the scan:
/// every index change rewrites it, so equal reads that match the loaded index prove the scan
/// saw one consistent version even if it took several pages.
async fn load_index<S: Storage>(store: &S, actor: &str) -> Result<Index, ApiError> {
    let key = keys::tenant::KB_INDEX_META;
    for _ in 0..LOAD_ATTEMPTS {
        let before = store.get(actor, key).await?;
        let mut records: Vec<(String, Vec<u8>)> = Vec::new();
        let mut after_key = None;
        loop {
            let page = store
                .scan(
                    actor,
                    &Scan {
                        prefix: keys::tenant::KB_INDEX.to_owned(),
                        after: after_key.take(),
                        limit: LOAD_PAGE,
                        reverse: false,
                    },
                )
                .await?;
            let full = page.len() == LOAD_PAGE;
            after_key = page.last().map(|(k, _)| k.clone());
            records.extend(page);
            if !full {
                break;
            }
        }
        let after = store.get(actor, key).await?;
        if before != after {
            continue;
        }
        let index = Index::from_records(keys::tenant::KB_INDEX, records).map_err(index_error)?;
        if index.is_current(after.as_deref()) {
            index.prepare();
            return Ok(index);
        }
    }
    Err(crate::ports::StorageError::Conflict.into())
}

/// Runs `f` on the tenant's current index: the cached one when the stored meta record says it
/// is current, else a fresh load (then kept).
pub async fn with_index<S: Storage, T>(
    store: &S,
    actor: &str,
    f: impl FnOnce(&Index) -> T,
) -> Result<T, ApiError> {
    let meta = store.get(actor, keys::tenant::KB_INDEX_META).await?;
    let index = match cache_take(actor) {
        Some(i) if i.is_current(meta.as_deref()) => i,
        _ => load_index(store, actor).await?,
    };
    let out = f(&index);
    cache_put(actor, index);
    Ok(out)
}

/// A loaded index taken for a change inside a transaction. Hand it back with
/// [`IndexLease::keep`] only after the transaction committed: an index holding a change
/// that never committed must not serve later requests.
pub struct IndexLease(Index);

impl IndexLease {
    pub fn keep(self, actor: &str) {
        cache_put(actor, self.0);
    }
}

/// Applies index changes inside `tx`: reads the meta record through the transaction (so the
/// commit fails if another writer moved the index), applies the changes to the current index
/// and stages the writes.
pub async fn stage_index_changes<S: Storage>(
    store: &S,
    tx: &mut Tx<'_, S>,
    actor: &str,
    changes: Vec<Change>,
) -> Result<Option<IndexLease>, ApiError> {
    if changes.is_empty() {
        return Ok(None);
    }
    let meta = tx.get(keys::tenant::KB_INDEX_META).await?;
    let mut index = match cache_take(actor) {
        Some(i) if i.is_current(meta.as_deref()) => i,
        _ => load_index(store, actor).await?,
    };
    if !index.is_current(meta.as_deref()) {
        // Another writer moved the index after this transaction read the meta record; the
        // commit would fail its check, so fail early and let the transaction retry.
        cache_put(actor, index);
        return Err(crate::ports::StorageError::Conflict.into());
    }
    let writes = index.apply(changes).map_err(index_error)?;
    for (k, v) in writes.puts {
        tx.put(k, v);
    }
    for k in writes.deletes {
        tx.delete(k);
    }
    Ok(Some(IndexLease(index)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_html_in_markdown_is_shown_as_text() {
        let html = render_markdown(
            "Hello <script>alert(1)</script> **bold**\n\n<img src=x onerror=alert(1)>",
        );
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(html.contains("<strong>bold</strong>"), "{html}");
    }

    #[test]
    fn script_links_point_nowhere_but_web_links_survive() {
        let html = render_markdown(
            "[a](javascript:alert(1)) [b](JaVa\tScRiPt:alert(1)) [c](https://example.com/x?a=1&b=2) [d](/help) [e](mailto:x@example.com) ![i](data:image/svg+xml,x)",
        );
        assert!(!html.to_ascii_lowercase().contains("javascript"), "{html}");
        assert!(
            html.contains(r#"href="https://example.com/x?a=1&amp;b=2""#),
            "{html}"
        );
        assert!(html.contains(r#"href="/help""#), "{html}");
        assert!(html.contains(r#"href="mailto:x@example.com""#), "{html}");
        assert!(!html.contains("data:"), "{html}");
    }

    #[test]
    fn plain_text_drops_markup_and_keeps_words() {
        let text = plain_text("# Refunds\n\nA **refund** takes `5` days.\n\n- one\n- two");
        assert_eq!(text, "Refunds\nA refund takes 5 days.\none\ntwo");
    }

    #[test]
    fn slugs_come_from_ascii_titles_only() {
        assert_eq!(
            slugify("How do I reset my password?"),
            "how-do-i-reset-my-password"
        );
        assert_eq!(slugify("如何退款"), "");
        assert!(is_slug("reset-password-2"));
        assert!(!is_slug("Reset"));
        assert!(!is_slug("a--b"));
        assert!(!is_slug("-a"));
    }

    #[test]
    fn locales_are_canonicalised() {
        assert_eq!(canonical_locale("zh-cn"), Some("zh-CN"));
        assert_eq!(canonical_locale("EN"), Some("en"));
        assert_eq!(canonical_locale("xx"), None);
    }

    #[test]
    fn summaries_cut_at_a_word() {
        assert_eq!(summary("one two three four", 9), "one two…");
        assert_eq!(summary("short", 9), "short");
    }

    #[test]
    fn escaping_covers_attribute_quotes() {
        assert_eq!(
            escape_html(r#"<a href="x">'"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;"
        );
    }

    #[test]
    fn minted_ids_are_recognised() {
        let id = mint_id("kba", 1_700_000_000_000, 42);
        assert!(is_id(&id, "kba"));
        assert!(!is_id(&id, "kbc"));
        assert!(!is_id("kba_nope", "kba"));
    }
}

// ---- read by the API, the widget, the bot and the help centre ----------------------------

/// Categories a tenant may have (they are listed whole).
pub const MAX_CATEGORIES: usize = 500;

/// All categories of a tenant, by position then name.
pub async fn all_categories<S: Storage>(store: &S, actor: &str) -> Result<Vec<Category>, ApiError> {
    let mut cats: Vec<Category> = scan_json(
        store,
        actor,
        &Scan {
            prefix: keys::tenant::KB_CATEGORIES.into(),
            after: None,
            limit: MAX_CATEGORIES,
            reverse: false,
        },
    )
    .await?
    .into_iter()
    .map(|(_, c)| c)
    .collect();
    sort_by(&mut cats, |a, b| {
        a.position
            .cmp(&b.position)
            .then_with(|| a.name.cmp(&b.name))
    });
    Ok(cats)
}

/// One search result.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchHit {
    pub id: String,
    pub locale: String,
    pub slug: String,
    pub title: String,
    /// The help-center page of the article.
    pub url: String,
    pub category_id: Option<String>,
    pub score: f32,
    /// HTML-escaped, matches in `<mark>`.
    pub title_html: String,
    /// An HTML-escaped excerpt, matches in `<mark>`.
    pub snippet_html: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SearchResponse {
    pub query: String,
    pub total: usize,
    pub hits: Vec<SearchHit>,
}

/// The help-center path of an article.
pub fn article_path(tenant: &str, locale: &str, slug: &str) -> String {
    format!("/help/{tenant}/{locale}/articles/{slug}")
}

/// Searches the tenant's published articles and resolves each hit to its public page.
pub async fn run_search<S: Storage>(
    store: &S,
    tenant: &TenantId,
    q: &str,
    locale: Option<&str>,
    limit: usize,
    offset: usize,
    as_you_type: bool,
) -> Result<SearchResponse, ApiError> {
    let actor = tenant_actor(tenant);
    let results = with_index(store, &actor, |index| {
        let mut r = SearchRequest::new(q).page(limit, offset);
        if let Some(l) = locale {
            r = r.locale(l);
        }
        if as_you_type {
            r = r.as_you_type();
        }
        index.search(&r)
    })
    .await?;
    let tenant = tenant.to_string();
    let mut hits = Vec::with_capacity(results.hits.len());
    for h in results.hits {
        // The public entry is written with the index records, so it is there; skip it if a
        // concurrent unpublish removed it between the two reads.
        let Some(p) =
            get_json::<_, Published>(store, &actor, &keys::tenant::kb_published(&h.locale, &h.id))
                .await?
        else {
            continue;
        };
        hits.push(SearchHit {
            url: article_path(&tenant, &h.locale, &p.slug),
            id: h.id,
            locale: h.locale,
            slug: p.slug,
            title: p.title,
            category_id: p.category_id,
            score: h.score,
            title_html: h.title_html,
            snippet_html: h.snippet_html,
        });
    }
    Ok(SearchResponse {
        query: q.to_owned(),
        total: results.total,
        hits,
    })
}

/// The published version of an article, or 404 for drafts and unknown ids.
pub async fn published_article<S: Storage>(
    store: &S,
    actor: &str,
    id: &str,
) -> Result<(Article, ArticleVersion), ApiError> {
    let nf = || ApiError::not_found("article");
    if !is_id(id, "kba") {
        return Err(nf());
    }
    let article: Article = get_json(store, actor, &keys::tenant::kb_article(id))
        .await?
        .ok_or_else(nf)?;
    let v = article.published_version.ok_or_else(nf)?;
    let version: ArticleVersion = get_json(store, actor, &keys::tenant::kb_article_version(id, v))
        .await?
        .ok_or_else(nf)?;
    Ok((article, version))
}

/// Counts one view of an article.
pub async fn count_view<P: Platform>(
    p: &P,
    actor: &str,
    id: &str,
) -> Result<ArticleStats, ApiError> {
    transact(p, actor, async |tx| {
        let mut s: ArticleStats = tx
            .get_json(&keys::tenant::kb_article_stats(id))
            .await?
            .unwrap_or_default();
        s.views += 1;
        tx.put_json(keys::tenant::kb_article_stats(id), &s)?;
        Ok(s)
    })
    .await
}
