//! The knowledge base end to end: articles with drafts, versions, diff and restore; search in
//! English and Chinese; the widget's search, suggestions and votes; the public help-center
//! pages; permissions and tenant isolation.

use edgedesk_e2e::{error_code, Api, Host, Visitor};
use serde_json::{json, Value};

fn create(api: &Api, body: Value) -> Value {
    let (s, a) = api.post("/v1/kb/articles", &body);
    assert_eq!(s, 201, "create article: {a}");
    a
}

fn id(v: &Value) -> String {
    v["id"].as_str().expect("an id").to_owned()
}

/// Fetches a help-center page as text.
fn page(host: &Host, path: &str) -> (u16, String, edgedesk_e2e::Resp) {
    let r = host.anon().send("GET", path, None, &[]);
    let text = match &r.body {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    (r.status, text, r)
}

fn hit_ids(body: &Value) -> Vec<String> {
    body["hits"]
        .as_array()
        .unwrap_or_else(|| panic!("no hits array: {body}"))
        .iter()
        .map(|h| h["id"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn search(api: &Api, q: &str, locale: Option<&str>) -> Value {
    let mut path = format!("/v1/kb/search?q={}", urlencode(q));
    if let Some(l) = locale {
        path.push_str(&format!("&locale={l}"));
    }
    let (s, b) = api.get(&path);
    assert_eq!(s, 200, "search {q}: {b}");
    b
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn an_article_is_drafted_published_versioned_diffed_and_restored() {
    let host = Host::start();
    let api = host.tenant("Shop");
    let t = api.tenant_id();
    let (s, cat) = api.post(
        "/v1/kb/categories",
        &json!({"name": "Billing", "description": "Money matters"}),
    );
    assert_eq!(s, 201, "{cat}");
    assert_eq!(cat["slug"], "billing");

    let a = create(
        &api,
        json!({"title": "Refund policy", "body": "Refunds take five business days.\n\nContact us.\n",
               "locale": "en", "category_id": cat["id"], "tags": ["billing"]}),
    );
    let aid = id(&a);
    assert_eq!(
        (
            a["status"].as_str(),
            a["version"].as_u64(),
            a["slug"].as_str()
        ),
        (Some("draft"), Some(1), Some("refund-policy"))
    );

    // A draft is nowhere public.
    let (s, _, _) = page(&host, &format!("/help/{t}/en/articles/refund-policy"));
    assert_eq!(s, 404);
    assert!(hit_ids(&search(&api, "refund", None)).is_empty());
    let (s, w) = host
        .anon()
        .get(&format!("/v1/widget/{t}/kb/search?q=refund"));
    assert_eq!((s, hit_ids(&w).len()), (200, 0), "{w}");
    let (s, _) = host
        .anon()
        .get(&format!("/v1/widget/{t}/kb/articles/{aid}"));
    assert_eq!(s, 404);

    let (s, p) = api.post(&format!("/v1/kb/articles/{aid}/publish"), &json!({}));
    assert_eq!(
        (s, p["status"].as_str(), p["published_version"].as_u64()),
        (200, Some("published"), Some(1)),
        "{p}"
    );
    assert_eq!(hit_ids(&search(&api, "refund", None)), vec![aid.clone()]);

    // An edit makes version 2, a draft: the public keeps seeing version 1.
    let (s, u) = api.patch(
        &format!("/v1/kb/articles/{aid}"),
        &json!({"body": "Refunds take ten business days.\n\nContact us.\n", "tags": ["billing", "policy"]}),
    );
    assert_eq!(
        (s, u["version"].as_u64(), u["published_version"].as_u64()),
        (200, Some(2), Some(1)),
        "{u}"
    );
    let (s, html, _) = page(&host, &format!("/help/{t}/en/articles/refund-policy"));
    assert_eq!(s, 200);
    assert!(
        html.contains("five business days") && !html.contains("ten business days"),
        "{html}"
    );

    let (s, versions) = api.get(&format!("/v1/kb/articles/{aid}/versions"));
    assert_eq!(s, 200);
    let numbers: Vec<u64> = versions["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, vec![2, 1]);
    let (s, v1) = api.get(&format!("/v1/kb/articles/{aid}/versions/1"));
    assert_eq!(
        (s, v1["body"].as_str()),
        (
            200,
            Some("Refunds take five business days.\n\nContact us.\n")
        )
    );

    let (s, d) = api.get(&format!("/v1/kb/articles/{aid}/diff?from=1&to=2"));
    assert_eq!(s, 200, "{d}");
    let unified = d["body"]["unified"].as_str().unwrap();
    assert!(
        unified.contains("-Refunds take five business days.")
            && unified.contains("+Refunds take ten business days."),
        "{unified}"
    );
    assert_eq!(d["tags"]["added"], json!(["policy"]));
    assert!(d["title"].is_null());
    let (s, b) = api.get(&format!("/v1/kb/articles/{aid}/diff?from=1&to=9"));
    assert_eq!((s, error_code(&b)), (422, "validation_failed"));

    // Publishing version 2, then restoring version 1 as version 3.
    let (s, _) = api.post(&format!("/v1/kb/articles/{aid}/publish"), &json!({}));
    assert_eq!(s, 200);
    let (_, html, _) = page(&host, &format!("/help/{t}/en/articles/refund-policy"));
    assert!(html.contains("ten business days"), "{html}");
    let (s, r) = api.post(
        &format!("/v1/kb/articles/{aid}/restore"),
        &json!({"version": 1}),
    );
    assert_eq!(
        (s, r["version"].as_u64(), r["body"].as_str()),
        (
            200,
            Some(3),
            Some("Refunds take five business days.\n\nContact us.\n")
        ),
        "{r}"
    );
    let (_, v3) = api.get(&format!("/v1/kb/articles/{aid}/versions/3"));
    assert_eq!(v3["restored_from"], 1);
    let (_, html, _) = page(&host, &format!("/help/{t}/en/articles/refund-policy"));
    assert!(
        html.contains("ten business days"),
        "restore must not publish by itself"
    );
    let (_, p) = api.post(&format!("/v1/kb/articles/{aid}/publish"), &json!({}));
    assert_eq!(p["published_version"], 3);
    let (_, html, _) = page(&host, &format!("/help/{t}/en/articles/refund-policy"));
    assert!(html.contains("five business days"), "{html}");

    // ETags guard concurrent edits.
    let r = api.call("GET", &format!("/v1/kb/articles/{aid}"), None, &[]);
    let etag = r.etag.clone().expect("an ETag");
    let stale = api.call(
        "PATCH",
        &format!("/v1/kb/articles/{aid}"),
        Some(&json!({"title": "Refunds"})),
        &[("if-match", "\"v1\"")],
    );
    assert_eq!(stale.status, 412);
    let ok = api.call(
        "PATCH",
        &format!("/v1/kb/articles/{aid}"),
        Some(&json!({"title": "Refunds"})),
        &[("if-match", &etag)],
    );
    assert_eq!(ok.status, 200, "{}", ok.body);

    // Unpublish hides it; a category with articles cannot be deleted; deleting the article can.
    let (s, _) = api.post(&format!("/v1/kb/articles/{aid}/unpublish"), &json!({}));
    assert_eq!(s, 200);
    assert!(hit_ids(&search(&api, "refund", None)).is_empty());
    let (s, _, _) = page(&host, &format!("/help/{t}/en/articles/refund-policy"));
    assert_eq!(s, 404);
    let (s, b) = api.delete(&format!("/v1/kb/categories/{}", id(&cat)));
    assert_eq!((s, error_code(&b)), (409, "category_not_empty"));
    let (s, _) = api.delete(&format!("/v1/kb/articles/{aid}"));
    assert_eq!(s, 204);
    let (s, _) = api.get(&format!("/v1/kb/articles/{aid}/versions/1"));
    assert_eq!(s, 404);
    let (s, _) = api.delete(&format!("/v1/kb/categories/{}", id(&cat)));
    assert_eq!(s, 204);
}

#[test]
fn search_ranks_the_right_article_in_english_and_chinese() {
    let host = Host::start();
    let api = host.tenant("Shop");
    let t = api.tenant_id();
    let mut ids = std::collections::HashMap::new();
    for (key, locale, title, body) in [
        (
            "refund",
            "en",
            "How refunds work",
            "We refund your card within five business days after the return arrives.",
        ),
        (
            "password",
            "en",
            "Reset your password",
            "Open settings, choose security and follow the link we email you.",
        ),
        (
            "shipping",
            "en",
            "Shipping times",
            "Orders ship within two days; delivery takes three to five days.",
        ),
        (
            "invoice",
            "en",
            "Download an invoice",
            "Invoices for every order are under billing in your account.",
        ),
        (
            "zh_refund",
            "zh-CN",
            "如何申请退款",
            "退款将在三个工作日内原路退回您的银行卡。",
        ),
        (
            "zh_shipping",
            "zh-CN",
            "发货与物流",
            "订单通常在两天内发货，快递需要三到五天。",
        ),
        (
            "zh_password",
            "zh-CN",
            "修改登录密码",
            "在设置中选择安全，然后按照短信验证码的提示修改密码。",
        ),
    ] {
        let a = create(
            &api,
            json!({"title": title, "body": body, "locale": locale, "publish": true}),
        );
        ids.insert(key, id(&a));
    }
    let top = |q: &str, locale: Option<&str>| {
        hit_ids(&search(&api, q, locale))
            .first()
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(top("refund", None), ids["refund"]);
    assert_eq!(top("refunded card", Some("en")), ids["refund"], "stemming");
    assert_eq!(top("pasword", Some("en")), ids["password"], "one typo");
    assert_eq!(top("delivery time", Some("en")), ids["shipping"]);
    assert_eq!(top("退款", None), ids["zh_refund"]);
    assert_eq!(top("快递多久", Some("zh-CN")), ids["zh_shipping"]);
    assert_eq!(top("修改密码", Some("zh")), ids["zh_password"]);
    // The locale filter keeps Chinese articles out of English results.
    let en = search(&api, "退款", Some("en"));
    assert!(hit_ids(&en).is_empty(), "{en}");
    let hit = &search(&api, "refund", None)["hits"][0];
    assert_eq!(
        hit["url"].as_str(),
        Some(format!("/help/{t}/en/articles/how-refunds-work").as_str())
    );
    assert!(
        hit["title_html"].as_str().unwrap().contains("<mark>"),
        "{hit}"
    );

    // Widget search and type-ahead suggestions answer without a key, with CORS.
    let r = host.anon().call(
        "GET",
        &format!("/v1/widget/{t}/kb/suggest?q=inv&locale=en"),
        None,
        &[("origin", "https://shop.example")],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(hit_ids(&r.body).first(), Some(&ids["invoice"]));
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://shop.example")
    );
    let (s, w) = host
        .anon()
        .get(&format!("/v1/widget/{t}/kb/search?q={}", urlencode("发货")));
    assert_eq!((s, hit_ids(&w).first()), (200, Some(&ids["zh_shipping"])));

    let (s, b) = api.get("/v1/kb/search?q=");
    assert_eq!((s, error_code(&b)), (400, "invalid_query"));
    let (s, b) = api.get("/v1/kb/search?q=x&locale=klingon");
    assert_eq!((s, error_code(&b)), (400, "invalid_query"));
}

#[test]
fn a_widget_vote_counts_once_per_visitor_and_views_are_counted() {
    let host = Host::start();
    let api = host.tenant("Shop");
    let t = api.tenant_id();
    let a = create(
        &api,
        json!({"title": "Track an order", "body": "Use the tracking link.", "locale": "en", "publish": true}),
    );
    let aid = id(&a);
    let vote = |body: Value, auth: Option<&str>| {
        let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("authorization", *a)).collect();
        host.anon().call(
            "POST",
            &format!("/v1/widget/{t}/kb/articles/{aid}/vote"),
            Some(&body),
            &headers,
        )
    };
    let r = vote(json!({"helpful": true}), None);
    assert_eq!(
        (r.status, r.body["helpful"].as_u64()),
        (200, Some(1)),
        "{}",
        r.body
    );

    let (_, sess) = host
        .anon()
        .post(&format!("/v1/widget/{t}/session"), &json!({}));
    let auth = format!("Visitor {}", sess["token"].as_str().expect("visitor token"));
    let r = vote(json!({"helpful": true}), Some(&auth));
    assert_eq!(r.body["helpful"], 2);
    let r = vote(json!({"helpful": true}), Some(&auth));
    assert_eq!(r.body["helpful"], 2, "a visitor counts once");
    let r = vote(json!({"helpful": false}), Some(&auth));
    assert_eq!(
        (r.body["helpful"].as_u64(), r.body["not_helpful"].as_u64()),
        (Some(1), Some(1))
    );
    let r = vote(json!({"helpful": true}), Some("Visitor forged"));
    assert_eq!(r.status, 401);
    let r = vote(json!({"helpful": "yes"}), None);
    assert_eq!(r.status, 400);

    let (s, w) = host
        .anon()
        .get(&format!("/v1/widget/{t}/kb/articles/{aid}"));
    assert_eq!(s, 200, "{w}");
    assert!(w["html"].as_str().unwrap().contains("tracking link"));
    let (s, _, _) = page(&host, &format!("/help/{t}/en/articles/track-an-order"));
    assert_eq!(s, 200);
    let (_, got) = api.get(&format!("/v1/kb/articles/{aid}"));
    assert_eq!(
        got["stats"],
        json!({"views": 2, "helpful": 1, "not_helpful": 1})
    );

    // Drafts take no votes.
    let d = create(
        &api,
        json!({"title": "Secret", "body": "x", "locale": "en"}),
    );
    let r = host.anon().call(
        "POST",
        &format!("/v1/widget/{t}/kb/articles/{}/vote", id(&d)),
        Some(&json!({"helpful": true})),
        &[],
    );
    assert_eq!(r.status, 404);
}

#[test]
fn a_widget_article_carries_the_calling_visitors_own_vote_and_no_one_elses() {
    let host = Host::start();
    let api = host.tenant("Shop");
    let t = api.tenant_id();
    let aid = id(&create(
        &api,
        json!({"title": "Track an order", "body": "Use the tracking link.", "locale": "en", "publish": true}),
    ));
    let other = id(&create(
        &api,
        json!({"title": "Return a parcel", "body": "Print the label.", "locale": "en", "publish": true}),
    ));
    let ada = Visitor::new(&host, &t, "Ada");
    let bob = Visitor::new(&host, &t, "Bob");
    let article = format!("/kb/articles/{aid}");
    let open = |v: &Visitor, path: &str| {
        let (s, body) = v.call("GET", path, None);
        assert_eq!(s, 200, "{body}");
        body
    };
    let vote = |v: &Visitor, helpful: bool| {
        let (s, body) = v.call(
            "POST",
            &format!("{article}/vote"),
            Some(&json!({ "helpful": helpful })),
        );
        assert_eq!((s, &body["vote"]), (200, &json!(helpful)), "{body}");
    };

    let first = open(&ada, &article);
    assert!(
        first.get("my_vote").is_some_and(Value::is_null),
        "before any vote the field is there and null: {first}"
    );
    vote(&ada, true);
    assert_eq!(open(&ada, &article)["my_vote"], json!(true));
    vote(&ada, false);
    let switched = open(&ada, &article);
    assert_eq!(
        (
            &switched["my_vote"],
            &switched["helpful"],
            &switched["not_helpful"]
        ),
        (&json!(false), &json!(0), &json!(1)),
        "the changed vote is the one on record: {switched}"
    );
    assert_eq!(
        open(&bob, &article)["my_vote"],
        Value::Null,
        "another visitor never sees Ada's vote"
    );
    assert_eq!(
        open(&ada, &format!("/kb/articles/{other}"))["my_vote"],
        Value::Null,
        "a vote belongs to its own article"
    );
    vote(&bob, true);
    assert_eq!(open(&bob, &article)["my_vote"], json!(true));
    assert_eq!(
        open(&ada, &article)["my_vote"],
        json!(false),
        "Bob's vote leaves Ada's alone"
    );

    // Without a token there is no visitor, so no vote; a token this tenant did not sign (a
    // forged one, or a visitor of another tenant) is refused as it is when voting.
    let (s, anon) = host
        .anon()
        .get(&format!("/v1/widget/{t}/kb/articles/{aid}"));
    assert_eq!((s, &anon["my_vote"]), (200, &Value::Null), "{anon}");
    let elsewhere = host.tenant("Elsewhere");
    let stranger = Visitor::new(&host, &elsewhere.tenant_id(), "Eve");
    for auth in [
        "Visitor forged".to_owned(),
        format!("Visitor {}", stranger.token),
        format!("Bearer {}", ada.token),
    ] {
        let r = host.anon().call(
            "GET",
            &format!("/v1/widget/{t}/kb/articles/{aid}"),
            None,
            &[("authorization", &auth)],
        );
        assert_eq!(
            (r.status, error_code(&r.body)),
            (401, "unauthorized"),
            "{auth}: {}",
            r.body
        );
    }
}

#[test]
fn help_pages_render_escaped_html_with_seo_tags_and_translations() {
    let host = Host::start();
    let api = host.tenant("Shop <&> Co");
    let t = api.tenant_id();
    let (_, cat) = api.post(
        "/v1/kb/categories",
        &json!({"name": "Orders", "slug": "orders", "translations": {"zh-CN": {"name": "订单"}}}),
    );
    let en = create(
        &api,
        json!({"title": "Cancel <script>alert(1)</script> an order", "slug": "cancel-order", "locale": "en",
               "category_id": cat["id"], "publish": true,
               "body": "# Steps\n\nOpen **Orders** and press cancel.\n\n<img src=x onerror=alert(2)>\n\n[bad](javascript:alert(3)) [good](https://example.com/help)\n"}),
    );
    let zh = create(
        &api,
        json!({"title": "取消订单", "locale": "zh-CN", "translation_of": en["id"], "slug": "cancel-order",
               "category_id": cat["id"], "publish": true, "body": "打开订单页面并点击取消。"}),
    );
    assert_eq!(zh["group"], en["id"]);

    let (s, html, r) = page(&host, &format!("/help/{t}/en/articles/cancel-order"));
    assert_eq!(s, 200, "{html}");
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    assert!(r.header("content-security-policy").is_some());
    assert!(!html.contains("<script"), "{html}");
    assert!(!html.contains("<img"), "{html}");
    assert!(!html.to_ascii_lowercase().contains("javascript:"), "{html}");
    assert!(
        html.contains("Cancel &lt;script&gt;alert(1)&lt;/script&gt; an order"),
        "{html}"
    );
    assert!(html.contains("<strong>Orders</strong>"), "{html}");
    assert!(
        html.contains(r#"href="https://example.com/help""#),
        "{html}"
    );
    assert!(html.contains("<title>Cancel &lt;script&gt;alert(1)&lt;/script&gt; an order – Shop &lt;&amp;&gt; Co Help Center</title>"), "{html}");
    assert!(
        html.contains(r#"<meta name="description" content="Steps Open Orders and press cancel."#),
        "{html}"
    );
    assert!(
        html.contains(&format!(
            r#"<link rel="canonical" href="{}/help/{t}/en/articles/cancel-order">"#,
            host.base
        )),
        "{html}"
    );
    assert!(
        html.contains(&format!(
            r#"hreflang="zh-CN" href="{}/help/{t}/zh-CN/articles/cancel-order""#,
            host.base
        )),
        "{html}"
    );
    assert!(html.contains(r#"<html lang="en">"#));

    let (s, zh_html, _) = page(&host, &format!("/help/{t}/zh-CN/articles/cancel-order"));
    assert_eq!(s, 200);
    assert!(
        zh_html.contains("<title>取消订单") && zh_html.contains(r#"<html lang="zh-CN">"#),
        "{zh_html}"
    );
    assert!(zh_html.contains(r#"hreflang="en""#));

    let (s, home, _) = page(&host, &format!("/help/{t}/"));
    assert_eq!(s, 200);
    assert!(
        home.contains("Orders") && home.contains(&format!("/help/{t}/en/articles/cancel-order")),
        "{home}"
    );
    let (_, zh_home, _) = page(&host, &format!("/help/{t}/zh-CN/"));
    assert!(
        zh_home.contains("订单") && zh_home.contains("帮助中心"),
        "{zh_home}"
    );
    let (s, catpage, _) = page(&host, &format!("/help/{t}/en/categories/orders"));
    assert_eq!(s, 200);
    assert!(catpage.contains("/articles/cancel-order"), "{catpage}");

    let (s, results, _) = page(&host, &format!("/help/{t}/en/search?q=cancel+%3Cb%3E"));
    assert_eq!(s, 200);
    assert!(
        results.contains("/articles/cancel-order") && results.contains("<mark>"),
        "{results}"
    );
    assert!(
        results.contains("&lt;b&gt;") && !results.contains("<b>"),
        "{results}"
    );

    // The article was published a moment ago: its page and the sitemap show that day.
    let published_day = |text: &str, before: &str| -> chrono::NaiveDate {
        let at = text
            .find(before)
            .unwrap_or_else(|| panic!("no {before}: {text}"))
            + before.len();
        let day = text.get(at..at + 10).unwrap_or_default();
        chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
            .unwrap_or_else(|e| panic!("{day:?} after {before}: {e}"))
    };
    let near_today =
        |day: chrono::NaiveDate| (day - chrono::Utc::now().date_naive()).num_days().abs() <= 1;
    let time_tag = html.find("<time datetime=").expect("a <time> element");
    assert!(
        near_today(published_day(&html[time_tag..], "\">")),
        "{html}"
    );

    let (s, xml, r) = page(&host, &format!("/help/{t}/sitemap.xml"));
    assert!(near_today(published_day(&xml, "<lastmod>")), "{xml}");
    assert_eq!(s, 200);
    assert!(r
        .header("content-type")
        .unwrap()
        .starts_with("application/xml"));
    assert!(
        xml.contains(&format!(
            "<loc>{}/help/{t}/en/articles/cancel-order</loc>",
            host.base
        )),
        "{xml}"
    );
    assert!(
        xml.contains(&format!(
            "<loc>{}/help/{t}/zh-CN/articles/cancel-order</loc>",
            host.base
        )),
        "{xml}"
    );
    assert!(
        xml.contains(r#"<xhtml:link rel="alternate" hreflang="zh-CN""#),
        "{xml}"
    );

    // A category named without ASCII letters gets a slug from its id, and its page works.
    let (_, faq) = api.post("/v1/kb/categories", &json!({"name": "常见问题"}));
    create(
        &api,
        json!({"title": "营业时间", "locale": "zh-CN", "category_id": faq["id"], "publish": true}),
    );
    let slug = faq["slug"].as_str().unwrap();
    let (s, faq_page, _) = page(&host, &format!("/help/{t}/zh-CN/categories/{slug}"));
    assert_eq!(s, 200, "{faq_page}");
    assert!(faq_page.contains("营业时间"), "{faq_page}");

    let (s, _, _) = page(&host, &format!("/help/{t}/en/articles/no-such-article"));
    assert_eq!(s, 404);
    let (s, _, _) = page(&host, "/help/ten_01JD3QXV6ZK8M5N2P4R7S9T0WX/en/");
    assert_eq!(s, 404);
    // A locale in the wrong case redirects to the one canonical spelling.
    let (s, redirected, _) = page(&host, &format!("/help/{t}/zh-cn/"));
    assert_eq!(s, 200);
    assert!(
        redirected.contains(r#"<html lang="zh-CN">"#),
        "{redirected}"
    );
}

#[test]
fn viewers_read_the_knowledge_base_and_agents_write_it() {
    let host = Host::start();
    let admin = host.tenant("Shop");
    let (_, ro) = admin.post(
        "/v1/api-keys",
        &json!({"name": "reports", "scope": "read_only"}),
    );
    let viewer = admin.with_key(ro["key"].as_str().unwrap());
    let (_, ag) = admin.post("/v1/api-keys", &json!({"name": "writer", "scope": "agent"}));
    let agent = admin.with_key(ag["key"].as_str().unwrap());

    let a = create(
        &agent,
        json!({"title": "Written by an agent", "locale": "en", "publish": true}),
    );
    let (s, b) = viewer.post("/v1/kb/articles", &json!({"title": "Nope", "locale": "en"}));
    assert_eq!((s, error_code(&b)), (403, "forbidden"));
    let (s, b) = viewer.post(&format!("/v1/kb/articles/{}/publish", id(&a)), &json!({}));
    assert_eq!((s, error_code(&b)), (403, "forbidden"));
    let (s, b) = viewer.post("/v1/kb/categories", &json!({"name": "Nope"}));
    assert_eq!((s, error_code(&b)), (403, "forbidden"));
    let (s, list) = viewer.get("/v1/kb/articles?status=published&locale=en");
    assert_eq!((s, list["data"].as_array().map(Vec::len)), (200, Some(1)));
    assert_eq!(hit_ids(&search(&viewer, "agent", None)), vec![id(&a)]);
    let (s, _) = host.anon().get("/v1/kb/articles");
    assert_eq!(s, 401);

    let (s, b) = agent.post("/v1/kb/articles", &json!({"title": "Bad", "locale": "xx"}));
    assert_eq!((s, error_code(&b)), (422, "validation_failed"));
    let (s, b) = agent.post(
        "/v1/kb/articles",
        &json!({"title": "Dup", "locale": "en", "slug": "written-by-an-agent"}),
    );
    assert_eq!((s, error_code(&b)), (409, "slug_taken"));
    let (s, b) = agent.post(
        "/v1/kb/articles",
        &json!({"title": "X", "locale": "en", "unknown": 1}),
    );
    assert_eq!((s, error_code(&b)), (400, "invalid_body"));
}

#[test]
fn another_tenants_articles_are_never_found() {
    let host = Host::start();
    let a = host.tenant("Alpha");
    let b = host.tenant("Beta");
    let ta = a.tenant_id();
    let tb = b.tenant_id();
    let art = create(
        &a,
        json!({"title": "Alpha secret refund", "slug": "alpha-secret", "locale": "en", "publish": true, "body": "zebra"}),
    );
    create(
        &b,
        json!({"title": "Beta article", "locale": "en", "publish": true, "body": "giraffe"}),
    );
    let aid = id(&art);

    assert!(hit_ids(&search(&b, "zebra", None)).is_empty());
    assert!(hit_ids(&search(&b, "alpha secret", None)).is_empty());
    assert_eq!(hit_ids(&search(&a, "zebra", None)), vec![aid.clone()]);
    let (s, _) = b.get(&format!("/v1/kb/articles/{aid}"));
    assert_eq!(s, 404);
    let (s, _) = b.patch(
        &format!("/v1/kb/articles/{aid}"),
        &json!({"title": "stolen"}),
    );
    assert_eq!(s, 404);
    let (s, _) = b.post(&format!("/v1/kb/articles/{aid}/unpublish"), &json!({}));
    assert_eq!(s, 404);
    let (_, w) = host
        .anon()
        .get(&format!("/v1/widget/{tb}/kb/search?q=zebra"));
    assert!(hit_ids(&w).is_empty(), "{w}");
    let (s, _) = host
        .anon()
        .get(&format!("/v1/widget/{tb}/kb/articles/{aid}"));
    assert_eq!(s, 404);
    let r = host.anon().call(
        "POST",
        &format!("/v1/widget/{tb}/kb/articles/{aid}/vote"),
        Some(&json!({"helpful": true})),
        &[],
    );
    assert_eq!(r.status, 404);
    let (s, _, _) = page(&host, &format!("/help/{tb}/en/articles/alpha-secret"));
    assert_eq!(s, 404);
    let (_, xml, _) = page(&host, &format!("/help/{tb}/sitemap.xml"));
    assert!(!xml.contains("alpha-secret"), "{xml}");
    let (s, _, _) = page(&host, &format!("/help/{ta}/en/articles/alpha-secret"));
    assert_eq!(s, 200);
}

#[test]
fn a_bulk_import_creates_every_article_or_none() {
    let host = Host::start();
    let api = host.tenant("Shop");
    let (s, b) = api.post(
        "/v1/kb/articles/import",
        &json!({"articles": [
            {"title": "Gift cards", "body": "Redeem a gift card at checkout.", "locale": "en", "publish": true},
            {"title": "礼品卡", "body": "结账时使用礼品卡。", "locale": "zh-CN"}
        ]}),
    );
    assert_eq!(
        (s, b["ids"].as_array().map(Vec::len)),
        (201, Some(2)),
        "{b}"
    );
    assert_eq!(
        hit_ids(&search(&api, "gift card", None)),
        vec![b["ids"][0].as_str().unwrap().to_owned()]
    );
    let (s, b) = api.post(
        "/v1/kb/articles/import",
        &json!({"articles": [
            {"title": "Loyalty points", "locale": "en", "publish": true},
            {"title": "Broken", "locale": "xx"}
        ]}),
    );
    assert_eq!((s, error_code(&b)), (422, "validation_failed"));
    assert!(
        b["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("articles[1]"),
        "{b}"
    );
    let (_, list) = api.get("/v1/kb/articles");
    assert_eq!(
        list["data"].as_array().map(Vec::len),
        Some(2),
        "nothing of a refused import is kept"
    );
    assert!(hit_ids(&search(&api, "loyalty", None)).is_empty());
}
