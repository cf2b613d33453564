//! The public help center: server-rendered HTML pages of a tenant's published knowledge-base
//! articles under `/help/{tenant}/...`, and its `sitemap.xml`.
//!
//! Pages are plain HTML with no script, every piece of text escaped (article bodies go through
//! the sanitising Markdown renderer in [`crate::kb`]), and the tags search engines read:
//! `<title>`, meta description, canonical link, `hreflang` alternates between translations.
//! A strict Content-Security-Policy backs the escaping up.
//!
//! | path | page |
//! |---|---|
//! | `/help/{tenant}/`, `/help/{tenant}/{locale}/` | categories with their articles |
//! | `/help/{tenant}/{locale}/categories/{slug}` | one category |
//! | `/help/{tenant}/{locale}/articles/{slug}` | one article (counts a view) |
//! | `/help/{tenant}/{locale}/search?q=` | search results |
//! | `/help/{tenant}/sitemap.xml` | every published article, with its translations |

use std::collections::BTreeMap;
use std::fmt::Write as _;

use http::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use http::StatusCode;

use crate::error::ApiError;
use crate::http::{Request, Response};
use crate::kb::{
    self, all_categories, article_path, count_view, escape_html, published_article, run_search,
    Category, Published,
};
use crate::keys::{self, tenant_actor};
use crate::operation::Args;
use crate::ports::{Platform, Scan, Storage};
use crate::store::{get_json, scan_json};
use edgedesk_shared::ids::TenantId;
use edgedesk_shared::model::Tenant;
use edgedesk_shared::sort::sort_by;

/// Which help-center page a route shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    Home,
    Category,
    Article,
    Search,
    Sitemap,
}

/// Articles listed per category on the home page.
const HOME_PER_CATEGORY: usize = 10;
/// Published articles one listing reads at most.
const MAX_LISTED: usize = 50_000;
const PAGE_SCAN: usize = 1_000;
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src http: https:; form-action 'self'; base-uri 'none'; frame-ancestors 'self'";
const STYLE: &str = "body{font:16px/1.6 system-ui,sans-serif;max-width:48rem;margin:0 auto;padding:1rem;color:#1d1d1f}\
a{color:#0b57d0}header{display:flex;gap:1rem;align-items:center;justify-content:space-between;flex-wrap:wrap}\
form{display:flex;gap:.5rem}input[type=search]{flex:1;padding:.4rem}mark{background:#fff2a8}\
nav.crumbs{font-size:.9rem;margin:.5rem 0}ul.articles{padding-left:1.2rem}\
article img{max-width:100%}pre{overflow:auto;background:#f5f5f7;padding:.75rem}\
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25rem .5rem}footer{margin-top:2rem;font-size:.9rem;color:#555}";

/// Answers one help-center request. Errors are HTML pages too.
pub async fn dispatch<P: Platform>(
    p: &P,
    page: Page,
    args: &Args<'_>,
    req: &Request,
) -> (Option<String>, Result<Response, ApiError>) {
    let Ok(tenant_id) = args.tenant.parse::<TenantId>() else {
        return (None, Ok(error_page(&ApiError::not_found("help center"))));
    };
    let result = render(p, page, &tenant_id, args, req).await;
    (
        Some(tenant_id.to_string()),
        Ok(result.unwrap_or_else(|e| error_page(&e))),
    )
}

/// A help-center path asked with a method other than `GET` or `HEAD`: a 405 page.
pub fn method_not_allowed(args: &Args<'_>) -> (Option<String>, Result<Response, ApiError>) {
    let mut resp = error_page(&ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "method not allowed on this route",
    ));
    resp.headers_mut()
        .insert(http::header::ALLOW, HeaderValue::from_static("GET, HEAD"));
    let tenant = args.tenant.parse::<TenantId>().ok();
    (tenant.map(|t| t.to_string()), Ok(resp))
}

/// What every page of one tenant's help center needs.
struct Site {
    tenant: Tenant,
    tid: String,
    actor: String,
    /// Locales with published articles, in [`kb::LOCALES`] order.
    locales: Vec<&'static str>,
    /// Scheme and host for absolute links (`https://help.example.com`), if known.
    origin: Option<String>,
}

impl Site {
    fn abs(&self, path: &str) -> String {
        match &self.origin {
            Some(o) => format!("{o}{path}"),
            None => path.to_owned(),
        }
    }
}

/// The origin absolute links use: the `public_base_url` setting, else the request's authority
/// (when it looks like a host name) with its scheme or the forwarded one. Without either,
/// links stay relative.
fn origin_of<P: Platform>(p: &P, req: &Request) -> Option<String> {
    if let Some(base) = p.var("public_base_url").filter(|b| !b.is_empty()) {
        return Some(base.trim_end_matches('/').to_owned());
    }
    // Runtimes pass the authority in the URI (wasi:http) or as a `Host` header.
    let host = match req.uri().authority() {
        Some(a) => a.as_str(),
        None => req.headers().get(http::header::HOST)?.to_str().ok()?,
    };
    let plausible = !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    if !plausible {
        return None;
    }
    let https = req.uri().scheme_str() == Some("https")
        || req
            .headers()
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("https"));
    Some(format!("{}://{host}", if https { "https" } else { "http" }))
}

async fn site<P: Platform>(p: &P, tenant_id: &TenantId, req: &Request) -> Result<Site, ApiError> {
    let actor = tenant_actor(tenant_id);
    let tenant: Tenant = get_json(p, &actor, keys::tenant::TENANT)
        .await?
        .ok_or_else(|| ApiError::not_found("help center"))?;
    let mut locales = Vec::new();
    for l in kb::LOCALES {
        let probe = Scan {
            prefix: keys::tenant::kb_published_in(l),
            after: None,
            limit: 1,
            reverse: false,
        };
        if !p.scan(&actor, &probe).await?.is_empty() {
            locales.push(*l);
        }
    }
    Ok(Site {
        tenant,
        tid: tenant_id.to_string(),
        actor,
        locales,
        origin: origin_of(p, req),
    })
}

fn not_found() -> ApiError {
    ApiError::not_found("page")
}

async fn render<P: Platform>(
    p: &P,
    page: Page,
    tenant_id: &TenantId,
    args: &Args<'_>,
    req: &Request,
) -> Result<Response, ApiError> {
    let site = site(p, tenant_id, req).await?;
    let locale = match args.locale {
        "" => site.locales.first().copied().unwrap_or("en"),
        raw if page != Page::Sitemap => {
            let l = kb::canonical_locale(raw).ok_or_else(not_found)?;
            if raw != l {
                // One URL per page: send `zh-cn` to `zh-CN`.
                let rest = match page {
                    Page::Home | Page::Sitemap => String::new(),
                    Page::Search => "search".to_owned(),
                    Page::Category => format!("categories/{}", args.slug),
                    Page::Article => format!("articles/{}", args.slug),
                };
                let mut to = format!("/help/{}/{l}/{rest}", site.tid);
                if let Some(q) = req.uri().query() {
                    to.push('?');
                    to.push_str(q);
                }
                return Ok(redirect(&to));
            }
            l
        }
        _ => site.locales.first().copied().unwrap_or("en"),
    };
    match page {
        Page::Home => home(p, &site, locale).await,
        Page::Category => category_page(p, &site, locale, args.slug).await,
        Page::Article => article_page(p, &site, locale, args.slug).await,
        Page::Search => search_page(p, &site, locale, req).await,
        Page::Sitemap => sitemap(p, &site).await,
    }
}

fn redirect(to: &str) -> Response {
    let mut resp = Response::new(Vec::new());
    *resp.status_mut() = StatusCode::MOVED_PERMANENTLY;
    if let Ok(v) = HeaderValue::from_str(to) {
        resp.headers_mut().insert(http::header::LOCATION, v);
    }
    resp
}

/// The published articles of a locale, by title.
async fn published_in<S: Storage>(
    store: &S,
    actor: &str,
    locale: &str,
) -> Result<Vec<Published>, ApiError> {
    let mut out = Vec::new();
    let mut after = None;
    while out.len() < MAX_LISTED {
        let page: Vec<(String, Published)> = scan_json(
            store,
            actor,
            &Scan {
                prefix: keys::tenant::kb_published_in(locale),
                after: after.take(),
                limit: PAGE_SCAN,
                reverse: false,
            },
        )
        .await?;
        let full = page.len() == PAGE_SCAN;
        after = page.last().map(|(k, _)| k.clone());
        out.extend(page.into_iter().map(|(_, v)| v));
        if !full {
            break;
        }
    }
    sort_by(&mut out, |a, b| a.title.cmp(&b.title));
    Ok(out)
}

/// Words of the page chrome, per language.
struct Words {
    help_center: &'static str,
    search: &'static str,
    search_placeholder: &'static str,
    results_for: &'static str,
    no_results: &'static str,
    more: &'static str,
    other: &'static str,
    no_articles: &'static str,
    updated: &'static str,
    languages: &'static str,
}

fn words(locale: &str) -> Words {
    if locale.starts_with("zh") {
        Words {
            help_center: "帮助中心",
            search: "搜索",
            search_placeholder: "搜索帮助文章",
            results_for: "搜索结果：",
            no_results: "没有找到相关文章。",
            more: "查看全部",
            other: "其他",
            no_articles: "暂无文章。",
            updated: "更新于",
            languages: "其他语言",
        }
    } else {
        Words {
            help_center: "Help Center",
            search: "Search",
            search_placeholder: "Search help articles",
            results_for: "Results for ",
            no_results: "No articles match.",
            more: "See all",
            other: "Other",
            no_articles: "No articles yet.",
            updated: "Updated",
            languages: "Other languages",
        }
    }
}

/// Language names for the language switcher, in their own language.
fn language_name(locale: &str) -> &'static str {
    match locale {
        "en" => "English",
        "zh-CN" => "简体中文",
        "zh-TW" => "繁體中文",
        "ja" => "日本語",
        "ko" => "한국어",
        "fr" => "Français",
        "de" => "Deutsch",
        "es" => "Español",
        "pt-BR" => "Português (Brasil)",
        _ => "",
    }
}

/// Head extras of a page.
struct Meta<'a> {
    title: String,
    description: String,
    canonical: String,
    /// `(hreflang, absolute URL)`.
    alternates: Vec<(&'a str, String)>,
    noindex: bool,
}

fn layout(site: &Site, locale: &str, meta: &Meta<'_>, main: &str) -> String {
    let w = words(locale);
    let home = format!("/help/{}/{locale}/", site.tid);
    let mut h = String::with_capacity(main.len() + 2048);
    let _ = write!(
        h,
        "<!doctype html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<meta name=\"description\" content=\"{desc}\">\n\
         <link rel=\"canonical\" href=\"{canon}\">\n",
        lang = escape_html(locale),
        title = escape_html(&meta.title),
        desc = escape_html(&meta.description),
        canon = escape_html(&meta.canonical),
    );
    for (lang, url) in &meta.alternates {
        let _ = writeln!(
            h,
            "<link rel=\"alternate\" hreflang=\"{}\" href=\"{}\">",
            escape_html(lang),
            escape_html(url)
        );
    }
    if meta.noindex {
        h.push_str("<meta name=\"robots\" content=\"noindex\">\n");
    }
    let _ = write!(
        h,
        "<style>{STYLE}</style>\n</head>\n<body>\n<header><a href=\"{home}\"><strong>{name} {hc}</strong></a>\n\
         <form action=\"/help/{tid}/{locale}/search\" method=\"get\" role=\"search\">\
         <input type=\"search\" name=\"q\" aria-label=\"{search}\" placeholder=\"{ph}\">\
         <button type=\"submit\">{search}</button></form></header>\n<main>\n{main}\n</main>\n",
        home = escape_html(&home),
        name = escape_html(&site.tenant.name),
        hc = w.help_center,
        tid = escape_html(&site.tid),
        locale = escape_html(locale),
        search = w.search,
        ph = w.search_placeholder,
    );
    let others: Vec<&&str> = site.locales.iter().filter(|l| **l != locale).collect();
    if !others.is_empty() {
        let _ = write!(h, "<footer>{}: ", w.languages);
        for (i, l) in others.iter().enumerate() {
            if i > 0 {
                h.push_str(" · ");
            }
            let _ = write!(
                h,
                "<a href=\"/help/{}/{}/\" hreflang=\"{}\">{}</a>",
                escape_html(&site.tid),
                l,
                l,
                language_name(l)
            );
        }
        h.push_str("</footer>\n");
    }
    h.push_str("</body>\n</html>\n");
    h
}

fn html(status: StatusCode, body: String, cache: &'static str) -> Response {
    let mut resp = Response::new(body.into_bytes());
    *resp.status_mut() = status;
    let hdr = resp.headers_mut();
    hdr.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    hdr.insert("content-security-policy", HeaderValue::from_static(CSP));
    hdr.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    hdr.insert(CACHE_CONTROL, HeaderValue::from_static(cache));
    resp
}

fn error_page(e: &ApiError) -> Response {
    let (title, text) = if e.status == StatusCode::NOT_FOUND {
        ("Not found", "This page does not exist or is not published.")
    } else if e.status.is_server_error() {
        (
            "Unavailable",
            "The help center is unavailable right now. Please retry shortly.",
        )
    } else {
        ("Error", "The request could not be served.")
    };
    let body = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{title}</title>\n\
         <meta name=\"robots\" content=\"noindex\">\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{title}</h1>\n<p>{text}</p>\n</body>\n</html>\n"
    );
    html(e.status, body, "no-store")
}

fn list_articles(h: &mut String, site: &Site, locale: &str, items: &[&Published]) {
    h.push_str("<ul class=\"articles\">\n");
    for a in items {
        let _ = writeln!(
            h,
            "<li><a href=\"{}\">{}</a></li>",
            escape_html(&article_path(&site.tid, locale, &a.slug)),
            escape_html(&a.title)
        );
    }
    h.push_str("</ul>\n");
}

/// Alternates of a locale-level page: every locale with content, plus `x-default`.
fn locale_alternates<'a>(site: &'a Site, suffix: &str) -> Vec<(&'a str, String)> {
    let mut alts: Vec<(&str, String)> = site
        .locales
        .iter()
        .map(|l| (*l, site.abs(&format!("/help/{}/{l}/{suffix}", site.tid))))
        .collect();
    if let Some(first) = site.locales.first() {
        alts.push((
            "x-default",
            site.abs(&format!("/help/{}/{first}/{suffix}", site.tid)),
        ));
    }
    alts
}

async fn home<P: Platform>(p: &P, site: &Site, locale: &str) -> Result<Response, ApiError> {
    let w = words(locale);
    let cats = all_categories(p, &site.actor).await?;
    let articles = published_in(p, &site.actor, locale).await?;
    let mut by_cat: BTreeMap<Option<&str>, Vec<&Published>> = BTreeMap::new();
    for a in &articles {
        let known = a
            .category_id
            .as_deref()
            .filter(|c| cats.iter().any(|x| x.id == *c));
        by_cat.entry(known).or_default().push(a);
    }
    let mut main = format!("<h1>{}</h1>\n", w.help_center);
    if articles.is_empty() {
        let _ = writeln!(main, "<p>{}</p>", w.no_articles);
    }
    for cat in &cats {
        let Some(items) = by_cat.get(&Some(cat.id.as_str())) else {
            continue;
        };
        let (name, desc) = cat.text(locale);
        let url = format!("/help/{}/{locale}/categories/{}", site.tid, cat.slug);
        let _ = writeln!(
            main,
            "<section>\n<h2><a href=\"{}\">{}</a></h2>",
            escape_html(&url),
            escape_html(name)
        );
        if !desc.is_empty() {
            let _ = writeln!(main, "<p>{}</p>", escape_html(desc));
        }
        list_articles(
            &mut main,
            site,
            locale,
            &items[..items.len().min(HOME_PER_CATEGORY)],
        );
        if items.len() > HOME_PER_CATEGORY {
            let _ = writeln!(
                main,
                "<p><a href=\"{}\">{} ({})</a></p>",
                escape_html(&url),
                w.more,
                items.len()
            );
        }
        main.push_str("</section>\n");
    }
    if let Some(items) = by_cat.get(&None) {
        let _ = writeln!(main, "<section>\n<h2>{}</h2>", w.other);
        list_articles(&mut main, site, locale, items);
        main.push_str("</section>\n");
    }
    let meta = Meta {
        title: format!("{} {}", site.tenant.name, w.help_center),
        description: format!("{} {}", site.tenant.name, w.help_center),
        canonical: site.abs(&format!("/help/{}/{locale}/", site.tid)),
        alternates: locale_alternates(site, ""),
        noindex: false,
    };
    Ok(html(
        StatusCode::OK,
        layout(site, locale, &meta, &main),
        "public, max-age=60",
    ))
}

async fn category_page<P: Platform>(
    p: &P,
    site: &Site,
    locale: &str,
    slug: &str,
) -> Result<Response, ApiError> {
    let w = words(locale);
    // Category slugs made from an id (names without ASCII letters) hold an underscore, so
    // only the length is checked before the lookup.
    if slug.is_empty() || slug.len() > kb::MAX_SLUG_CHARS + 40 {
        return Err(not_found());
    }
    let id = p
        .get(&site.actor, &keys::tenant::kb_category_slug(slug))
        .await?
        .ok_or_else(not_found)?;
    let id = String::from_utf8(id).map_err(ApiError::internal_from)?;
    let cat: Category = get_json(p, &site.actor, &keys::tenant::kb_category(&id))
        .await?
        .ok_or_else(not_found)?;
    let articles = published_in(p, &site.actor, locale).await?;
    let items: Vec<&Published> = articles
        .iter()
        .filter(|a| a.category_id.as_deref() == Some(cat.id.as_str()))
        .collect();
    let (name, desc) = cat.text(locale);
    let mut main = format!(
        "<nav class=\"crumbs\"><a href=\"/help/{}/{locale}/\">{}</a></nav>\n<h1>{}</h1>\n",
        escape_html(&site.tid),
        w.help_center,
        escape_html(name)
    );
    if !desc.is_empty() {
        let _ = writeln!(main, "<p>{}</p>", escape_html(desc));
    }
    if items.is_empty() {
        let _ = writeln!(main, "<p>{}</p>", w.no_articles);
    } else {
        list_articles(&mut main, site, locale, &items);
    }
    let suffix = format!("categories/{}", cat.slug);
    let meta = Meta {
        title: format!("{name} – {} {}", site.tenant.name, w.help_center),
        description: if desc.is_empty() {
            name.to_owned()
        } else {
            kb::summary(desc, 160)
        },
        canonical: site.abs(&format!("/help/{}/{locale}/{suffix}", site.tid)),
        alternates: locale_alternates(site, &suffix),
        noindex: items.is_empty(),
    };
    Ok(html(
        StatusCode::OK,
        layout(site, locale, &meta, &main),
        "public, max-age=60",
    ))
}

async fn article_page<P: Platform>(
    p: &P,
    site: &Site,
    locale: &str,
    slug: &str,
) -> Result<Response, ApiError> {
    let w = words(locale);
    if slug.is_empty() || slug.len() > kb::MAX_SLUG_CHARS + 40 {
        return Err(not_found());
    }
    let id = p
        .get(&site.actor, &keys::tenant::kb_article_slug(locale, slug))
        .await?
        .ok_or_else(not_found)?;
    let id = String::from_utf8(id).map_err(ApiError::internal_from)?;
    let (article, version) = published_article(p, &site.actor, &id).await?;
    if article.locale != locale {
        return Err(not_found());
    }
    count_view(p, &site.actor, &article.id).await?;
    let translations: Vec<(String, Published)> = scan_json(
        p,
        &site.actor,
        &Scan {
            prefix: keys::tenant::kb_group_translations(&article.group),
            after: None,
            limit: kb::LOCALES.len() + 1,
            reverse: false,
        },
    )
    .await?;
    let mut alternates: Vec<(&str, String)> = Vec::new();
    let mut others = Vec::new();
    for (key, t) in &translations {
        let Some(l) = key.rsplit(':').next().and_then(kb::canonical_locale) else {
            continue;
        };
        let url = article_path(&site.tid, l, &t.slug);
        alternates.push((l, site.abs(&url)));
        if l != locale {
            others.push((l, url, t.title.clone()));
        }
    }
    let category = match &article.category_id {
        Some(c) => get_json::<_, Category>(p, &site.actor, &keys::tenant::kb_category(c)).await?,
        None => None,
    };
    let mut main = format!(
        "<nav class=\"crumbs\"><a href=\"/help/{}/{locale}/\">{}</a>",
        escape_html(&site.tid),
        w.help_center
    );
    if let Some(cat) = &category {
        let _ = write!(
            main,
            " › <a href=\"/help/{}/{locale}/categories/{}\">{}</a>",
            escape_html(&site.tid),
            escape_html(&cat.slug),
            escape_html(cat.text(locale).0)
        );
    }
    main.push_str("</nav>\n");
    let updated = article.published_at.unwrap_or(article.updated_at);
    let _ = write!(
        main,
        "<article>\n<h1>{}</h1>\n<p><small>{} <time datetime=\"{}\">{}</time></small></p>\n{}\n</article>\n",
        escape_html(&version.title),
        w.updated,
        updated.to_rfc3339(),
        updated.date_naive(),
        kb::render_markdown(&version.body)
    );
    if !others.is_empty() {
        let _ = write!(main, "<p>{}: ", w.languages);
        for (i, (l, url, title)) in others.iter().enumerate() {
            if i > 0 {
                main.push_str(" · ");
            }
            let _ = write!(
                main,
                "<a href=\"{}\" hreflang=\"{l}\" lang=\"{l}\">{}</a>",
                escape_html(url),
                escape_html(title)
            );
        }
        main.push_str("</p>\n");
    }
    let meta = Meta {
        title: format!("{} – {} {}", version.title, site.tenant.name, w.help_center),
        description: kb::summary(&kb::plain_text(&version.body), 160),
        canonical: site.abs(&article_path(&site.tid, locale, &article.slug)),
        alternates,
        noindex: false,
    };
    Ok(html(
        StatusCode::OK,
        layout(site, locale, &meta, &main),
        "no-cache",
    ))
}

async fn search_page<P: Platform>(
    p: &P,
    site: &Site,
    locale: &str,
    req: &Request,
) -> Result<Response, ApiError> {
    let w = words(locale);
    let q: String = req
        .uri()
        .query()
        .and_then(|q| serde_urlencoded::from_str::<Vec<(String, String)>>(q).ok())
        .and_then(|pairs| pairs.into_iter().find(|(k, _)| k == "q").map(|(_, v)| v))
        .unwrap_or_default();
    let q: String = q.trim().chars().take(200).collect();
    let mut main = format!(
        "<nav class=\"crumbs\"><a href=\"/help/{}/{locale}/\">{}</a></nav>\n",
        escape_html(&site.tid),
        w.help_center
    );
    if q.is_empty() {
        let _ = writeln!(main, "<h1>{}</h1>", w.search);
    } else {
        let tenant_id: TenantId = site.tid.parse().map_err(ApiError::internal_from)?;
        let results = run_search(p, &tenant_id, &q, Some(locale), 20, 0, false).await?;
        let _ = writeln!(main, "<h1>{}“{}”</h1>", w.results_for, escape_html(&q));
        if results.hits.is_empty() {
            let _ = writeln!(main, "<p>{}</p>", w.no_results);
        }
        main.push_str("<ol class=\"articles\">\n");
        for h in &results.hits {
            // The search crate escapes titles and excerpts and adds only `<mark>`.
            let _ = writeln!(
                main,
                "<li><a href=\"{}\">{}</a><p>{}</p></li>",
                escape_html(&h.url),
                h.title_html,
                h.snippet_html
            );
        }
        main.push_str("</ol>\n");
    }
    let meta = Meta {
        title: format!("{} – {} {}", w.search, site.tenant.name, w.help_center),
        description: format!("{} {}", site.tenant.name, w.help_center),
        canonical: site.abs(&format!("/help/{}/{locale}/search", site.tid)),
        alternates: Vec::new(),
        noindex: true,
    };
    Ok(html(
        StatusCode::OK,
        layout(site, locale, &meta, &main),
        "no-store",
    ))
}

async fn sitemap<P: Platform>(p: &P, site: &Site) -> Result<Response, ApiError> {
    let mut all: Vec<(&str, Published)> = Vec::new();
    for l in &site.locales {
        all.extend(
            published_in(p, &site.actor, l)
                .await?
                .into_iter()
                .map(|a| (*l, a)),
        );
    }
    let mut groups: BTreeMap<&str, Vec<(&str, &str)>> = BTreeMap::new();
    for (l, a) in &all {
        groups
            .entry(a.group.as_str())
            .or_default()
            .push((l, a.slug.as_str()));
    }
    let mut x = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\" xmlns:xhtml=\"http://www.w3.org/1999/xhtml\">\n",
    );
    for l in &site.locales {
        let _ = writeln!(
            x,
            "<url><loc>{}</loc></url>",
            escape_html(&site.abs(&format!("/help/{}/{l}/", site.tid)))
        );
    }
    for (l, a) in &all {
        let _ = write!(
            x,
            "<url><loc>{}</loc><lastmod>{}</lastmod>",
            escape_html(&site.abs(&article_path(&site.tid, l, &a.slug))),
            a.updated_at.date_naive()
        );
        let siblings = groups
            .get(a.group.as_str())
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        if siblings.len() > 1 {
            for (sl, slug) in siblings {
                let _ = write!(
                    x,
                    "<xhtml:link rel=\"alternate\" hreflang=\"{sl}\" href=\"{}\"/>",
                    escape_html(&site.abs(&article_path(&site.tid, sl, slug)))
                );
            }
        }
        x.push_str("</url>\n");
    }
    x.push_str("</urlset>\n");
    let mut resp = Response::new(x.into_bytes());
    resp.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/xml; charset=utf-8"),
    );
    resp.headers_mut().insert(
        CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    Ok(resp)
}
