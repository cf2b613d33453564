//! The knowledge base in process: categories, articles with drafts, versions, diff and
//! restore, search, the widget's search, suggestions and votes, and the public help-centre
//! pages.

mod common;
use common::*;

fn create(api: &Client, body: Value) -> Value {
    expect(api.post("/v1/kb/articles", body), 201)
}

fn hit_ids(body: &Value) -> Vec<String> {
    body["hits"]
        .as_array()
        .unwrap_or_else(|| panic!("no hits array: {body}"))
        .iter()
        .map(|h| h["id"].as_str().unwrap_or_default().to_owned())
        .collect()
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

fn search(api: &Client, q: &str, locale: Option<&str>) -> Value {
    let mut path = format!("/v1/kb/search?q={}", urlencode(q));
    if let Some(l) = locale {
        path.push_str(&format!("&locale={l}"));
    }
    expect(api.get(&path), 200)
}

/// A help-centre page: status and text.
fn page(app: &TestApp, path: &str) -> (u16, String, TestResponse) {
    let r = app.anon().get(path);
    (r.status, r.text(), r)
}

#[test]
fn categories_are_created_renamed_listed_and_deleted() {
    let app = TestApp::new();
    let api = app.create_tenant("Shop");
    let cat = expect(
        api.post(
            "/v1/kb/categories",
            json!({"name": "Billing", "description": "Money matters"}),
        ),
        201,
    );
    assert_eq!(cat["slug"], "billing");
    let path = format!("/v1/kb/categories/{}", id(&cat));
    let u = expect(api.patch(&path, json!({"name": "Billing & invoices"})), 200);
    assert_eq!(u["name"], "Billing & invoices");
    assert_eq!(expect(api.get(&path), 200)["name"], "Billing & invoices");
    assert_eq!(data(&expect(api.get("/v1/kb/categories"), 200)).len(), 1);
    assert_eq!(api.delete(&path).status, 204);
    assert_eq!(api.get(&path).status, 404);
}

#[test]
fn an_article_is_drafted_published_versioned_diffed_and_restored() {
    let app = TestApp::new();
    let api = app.create_tenant("Shop");
    let t = api.tenant_id();
    let cat = expect(
        api.post("/v1/kb/categories", json!({"name": "Billing"})),
        201,
    );
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
    let article_page = format!("/help/{t}/en/articles/refund-policy");
    assert_eq!(page(&app, &article_page).0, 404, "a draft is not public");
    assert!(hit_ids(&search(&api, "refund", None)).is_empty());
    let w = expect(
        app.anon()
            .get(&format!("/v1/widget/{t}/kb/search?q=refund")),
        200,
    );
    assert!(hit_ids(&w).is_empty(), "{w}");
    assert_eq!(
        app.anon()
            .get(&format!("/v1/widget/{t}/kb/articles/{aid}"))
            .status,
        404
    );

    let p = expect(
        api.post(&format!("/v1/kb/articles/{aid}/publish"), json!({})),
        200,
    );
    assert_eq!(
        (p["status"].as_str(), p["published_version"].as_u64()),
        (Some("published"), Some(1))
    );
    assert_eq!(
        hit_ids(&search(&api, "refund", None)),
        std::slice::from_ref(&aid)
    );

    let u = expect(
        api.patch(&format!("/v1/kb/articles/{aid}"), json!({"body": "Refunds take ten business days.\n\nContact us.\n", "tags": ["billing", "policy"]})),
        200,
    );
    assert_eq!(
        (u["version"].as_u64(), u["published_version"].as_u64()),
        (Some(2), Some(1))
    );
    let (s, html, _) = page(&app, &article_page);
    assert_eq!(s, 200);
    assert!(
        html.contains("five business days") && !html.contains("ten business days"),
        "{html}"
    );

    let versions = expect(api.get(&format!("/v1/kb/articles/{aid}/versions")), 200);
    let numbers: Vec<u64> = data(&versions)
        .iter()
        .map(|v| v["version"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, [2, 1]);
    let v1 = expect(api.get(&format!("/v1/kb/articles/{aid}/versions/1")), 200);
    assert_eq!(
        v1["body"],
        "Refunds take five business days.\n\nContact us.\n"
    );
    let d = expect(
        api.get(&format!("/v1/kb/articles/{aid}/diff?from=1&to=2")),
        200,
    );
    let unified = d["body"]["unified"].as_str().unwrap();
    assert!(
        unified.contains("-Refunds take five business days.")
            && unified.contains("+Refunds take ten business days."),
        "{unified}"
    );
    assert_eq!(d["tags"]["added"], json!(["policy"]));
    assert!(d["title"].is_null());
    let r = api.get(&format!("/v1/kb/articles/{aid}/diff?from=1&to=9"));
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (422, "validation_failed")
    );

    expect(
        api.post(&format!("/v1/kb/articles/{aid}/publish"), json!({})),
        200,
    );
    assert!(page(&app, &article_page).1.contains("ten business days"));
    let r = expect(
        api.post(
            &format!("/v1/kb/articles/{aid}/restore"),
            json!({"version": 1}),
        ),
        200,
    );
    assert_eq!(
        (r["version"].as_u64(), r["body"].as_str()),
        (
            Some(3),
            Some("Refunds take five business days.\n\nContact us.\n")
        )
    );
    assert_eq!(
        expect(api.get(&format!("/v1/kb/articles/{aid}/versions/3")), 200)["restored_from"],
        1
    );
    assert!(
        page(&app, &article_page).1.contains("ten business days"),
        "restore does not publish by itself"
    );
    let p = expect(
        api.post(&format!("/v1/kb/articles/{aid}/publish"), json!({})),
        200,
    );
    assert_eq!(p["published_version"], 3);
    assert!(page(&app, &article_page).1.contains("five business days"));

    let etag = api
        .get(&format!("/v1/kb/articles/{aid}"))
        .header("etag")
        .expect("an ETag")
        .to_owned();
    let stale = api
        .request("PATCH", &format!("/v1/kb/articles/{aid}"))
        .header("if-match", "\"v1\"")
        .json(&json!({"title": "Refunds"}))
        .send();
    assert_eq!(stale.status, 412);
    let ok = api
        .request("PATCH", &format!("/v1/kb/articles/{aid}"))
        .header("if-match", &etag)
        .json(&json!({"title": "Refunds"}))
        .send();
    assert_eq!(ok.status, 200, "{}", ok.text());

    expect(
        api.post(&format!("/v1/kb/articles/{aid}/unpublish"), json!({})),
        200,
    );
    assert!(hit_ids(&search(&api, "refund", None)).is_empty());
    assert_eq!(page(&app, &article_page).0, 404);
    let r = api.delete(&format!("/v1/kb/categories/{}", id(&cat)));
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (409, "category_not_empty")
    );
    assert_eq!(api.delete(&format!("/v1/kb/articles/{aid}")).status, 204);
    assert_eq!(
        api.get(&format!("/v1/kb/articles/{aid}/versions/1")).status,
        404
    );
    assert_eq!(
        api.delete(&format!("/v1/kb/categories/{}", id(&cat)))
            .status,
        204
    );
}

#[test]
fn search_ranks_the_right_article_in_english_and_chinese_and_the_widget_searches_too() {
    let app = TestApp::new();
    let api = app.create_tenant("Shop");
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
    assert!(
        hit_ids(&search(&api, "退款", Some("en"))).is_empty(),
        "the locale filter applies"
    );
    let hit = &search(&api, "refund", None)["hits"][0];
    assert_eq!(
        hit["url"].as_str(),
        Some(format!("/help/{t}/en/articles/how-refunds-work").as_str())
    );

    let r = app
        .request("GET", &format!("/v1/widget/{t}/kb/suggest?q=inv&locale=en"))
        .header("origin", "https://shop.example")
        .send();
    assert_eq!(
        hit_ids(&expect(r.clone(), 200)).first(),
        Some(&ids["invoice"])
    );
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://shop.example")
    );
    let w = expect(
        app.anon()
            .get(&format!("/v1/widget/{t}/kb/search?q={}", urlencode("发货"))),
        200,
    );
    assert_eq!(hit_ids(&w).first(), Some(&ids["zh_shipping"]));
    let r = api.get("/v1/kb/search?q=");
    assert_eq!((r.status, r.error_code().as_str()), (400, "invalid_query"));
    let r = api.get("/v1/kb/search?q=x&locale=klingon");
    assert_eq!((r.status, r.error_code().as_str()), (400, "invalid_query"));
}

#[test]
fn a_widget_vote_counts_once_per_visitor_and_views_are_counted() {
    let app = TestApp::new();
    let api = app.create_tenant("Shop");
    let t = api.tenant_id();
    let aid = id(&create(
        &api,
        json!({"title": "Track an order", "body": "Use the tracking link.", "locale": "en", "publish": true}),
    ));
    let vote = |body: Value, auth: Option<&str>| {
        let mut r = app
            .request("POST", &format!("/v1/widget/{t}/kb/articles/{aid}/vote"))
            .json(&body);
        if let Some(a) = auth {
            r = r.header("authorization", a);
        }
        r.send()
    };
    assert_eq!(
        expect(vote(json!({"helpful": true}), None), 200)["helpful"],
        1
    );
    let v = Visitor::new(&app, &t, json!({}));
    let auth = format!("Visitor {}", v.token);
    assert_eq!(
        expect(vote(json!({"helpful": true}), Some(&auth)), 200)["helpful"],
        2
    );
    assert_eq!(
        expect(vote(json!({"helpful": true}), Some(&auth)), 200)["helpful"],
        2,
        "a visitor counts once"
    );
    let switched = expect(vote(json!({"helpful": false}), Some(&auth)), 200);
    assert_eq!(
        (
            switched["helpful"].as_u64(),
            switched["not_helpful"].as_u64()
        ),
        (Some(1), Some(1))
    );
    assert_eq!(
        vote(json!({"helpful": true}), Some("Visitor forged")).status,
        401
    );
    assert_eq!(vote(json!({"helpful": "yes"}), None).status, 400);
    let w = expect(
        app.anon().get(&format!("/v1/widget/{t}/kb/articles/{aid}")),
        200,
    );
    assert!(w["html"].as_str().unwrap().contains("tracking link"));
    assert_eq!(w["my_vote"], Value::Null);
    assert_eq!(
        expect(v.call("GET", &format!("/kb/articles/{aid}"), None), 200)["my_vote"],
        false
    );
    assert_eq!(
        page(&app, &format!("/help/{t}/en/articles/track-an-order")).0,
        200
    );
    let got = expect(api.get(&format!("/v1/kb/articles/{aid}")), 200);
    assert_eq!(
        got["stats"],
        json!({"views": 3, "helpful": 1, "not_helpful": 1})
    );
    let draft = id(&create(
        &api,
        json!({"title": "Secret", "body": "x", "locale": "en"}),
    ));
    let r = app
        .request("POST", &format!("/v1/widget/{t}/kb/articles/{draft}/vote"))
        .json(&json!({"helpful": true}))
        .send();
    assert_eq!(r.status, 404, "drafts take no votes");
}

#[test]
fn help_pages_render_escaped_html_with_seo_tags_translations_and_a_sitemap() {
    let app = TestApp::new();
    let api = app.create_tenant("Shop <&> Co");
    let t = api.tenant_id();
    let cat = expect(
        api.post("/v1/kb/categories", json!({"name": "Orders", "slug": "orders", "translations": {"zh-CN": {"name": "订单"}}})),
        201,
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
    let (s, html, r) = page(&app, &format!("/help/{t}/en/articles/cancel-order"));
    assert_eq!(s, 200, "{html}");
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    assert!(r.header("content-security-policy").is_some());
    assert!(
        !html.contains("<script") && !html.contains("<img"),
        "{html}"
    );
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
    assert!(
        html.contains(&format!(r#"/help/{t}/en/articles/cancel-order">"#)),
        "a canonical link: {html}"
    );
    assert!(html.contains(r#"hreflang="zh-CN""#), "{html}");
    assert!(html.contains(r#"<html lang="en">"#));
    assert!(
        html.contains("2026-01-05"),
        "the publication day on the test clock: {html}"
    );
    let (s, zh_html, _) = page(&app, &format!("/help/{t}/zh-CN/articles/cancel-order"));
    assert_eq!(s, 200);
    assert!(
        zh_html.contains("<title>取消订单") && zh_html.contains(r#"<html lang="zh-CN">"#),
        "{zh_html}"
    );
    let (s, home, _) = page(&app, &format!("/help/{t}/"));
    assert_eq!(s, 200);
    assert!(
        home.contains("Orders") && home.contains(&format!("/help/{t}/en/articles/cancel-order")),
        "{home}"
    );
    let (s, catpage, _) = page(&app, &format!("/help/{t}/en/categories/orders"));
    assert_eq!(s, 200);
    assert!(catpage.contains("/articles/cancel-order"), "{catpage}");
    let (s, results, _) = page(&app, &format!("/help/{t}/en/search?q=cancel+%3Cb%3E"));
    assert_eq!(s, 200);
    assert!(
        results.contains("/articles/cancel-order") && results.contains("<mark>"),
        "{results}"
    );
    assert!(
        results.contains("&lt;b&gt;") && !results.contains("<b>"),
        "{results}"
    );
    let (s, xml, r) = page(&app, &format!("/help/{t}/sitemap.xml"));
    assert_eq!(s, 200);
    assert!(r
        .header("content-type")
        .unwrap()
        .starts_with("application/xml"));
    assert!(
        xml.contains(&format!("/help/{t}/zh-CN/articles/cancel-order</loc>")),
        "{xml}"
    );
    assert!(xml.contains("<lastmod>2026-01-05"), "{xml}");
    assert_eq!(
        page(&app, &format!("/help/{t}/en/articles/no-such-article")).0,
        404
    );
    assert_eq!(
        page(&app, "/help/ten_01JD3QXV6ZK8M5N2P4R7S9T0WX/en/").0,
        404
    );
}

#[test]
fn viewers_read_the_knowledge_base_and_agents_write_it() {
    let app = TestApp::new();
    let admin = app.create_tenant("Shop");
    let viewer = admin.key_client("read_only");
    let agent = admin.key_client("agent");
    let a = create(
        &agent,
        json!({"title": "Written by an agent", "locale": "en", "publish": true}),
    );
    for (path, body) in [
        (
            "/v1/kb/articles".to_owned(),
            json!({"title": "Nope", "locale": "en"}),
        ),
        (format!("/v1/kb/articles/{}/publish", id(&a)), json!({})),
        ("/v1/kb/categories".to_owned(), json!({"name": "Nope"})),
    ] {
        let r = viewer.post(&path, body);
        assert_eq!(
            (r.status, r.error_code().as_str()),
            (403, "forbidden"),
            "{path}"
        );
    }
    let list = expect(
        viewer.get("/v1/kb/articles?status=published&locale=en"),
        200,
    );
    assert_eq!(data(&list).len(), 1);
    assert_eq!(hit_ids(&search(&viewer, "agent", None)), [id(&a)]);
    assert_eq!(app.anon().get("/v1/kb/articles").status, 401);
    let other = app.create_tenant("Other");
    assert_eq!(
        other.get(&format!("/v1/kb/articles/{}", id(&a))).status,
        404
    );
    assert!(
        hit_ids(&search(&other, "agent", None)).is_empty(),
        "search stays inside the tenant"
    );
}

#[test]
fn an_import_creates_every_article_in_one_batch_or_none() {
    let app = TestApp::new();
    let api = app.create_tenant("Shop");
    let tenant = api.tenant_actor();
    let r = api.post(
        "/v1/kb/articles/import",
        json!({"articles": [
            {"title": "Returns", "locale": "en", "body": "Send it back within 30 days.", "publish": true},
            {"title": "Exchanges", "locale": "en", "body": "Swap sizes for free."}]}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.commits_to(&tenant), 1, "one transaction: {:?}", r.commits);
    let ids: Vec<String> = r.json()["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 2);
    assert_eq!(hit_ids(&search(&api, "returns", None)), ids[..1]);
    assert_eq!(
        expect(api.get(&format!("/v1/kb/articles/{}", ids[1])), 200)["status"],
        "draft"
    );
    let bad = api.post(
        "/v1/kb/articles/import",
        json!({"articles": [
            {"title": "Fine", "locale": "en"},
            {"title": "Broken", "locale": "xx"}]}),
    );
    assert_eq!(
        (bad.status, bad.error_code().as_str()),
        (422, "validation_failed")
    );
    assert!(bad.commits.is_empty(), "all or none");
    let all = expect(api.get("/v1/kb/articles"), 200);
    assert_eq!(data(&all).len(), 2);
}
