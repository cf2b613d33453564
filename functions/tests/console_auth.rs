//! Console sign-in in process: setup link (platform token), first-run setup, session cookie,
//! CSRF header, me, invites, login, password change and logout.

mod common;
use common::*;

/// A browser holding the session cookie it was last given.
struct Browser<'a> {
    app: &'a TestApp,
    cookie: Option<String>,
}

impl<'a> Browser<'a> {
    fn new(app: &'a TestApp) -> Self {
        Browser { app, cookie: None }
    }

    fn call(&mut self, method: &str, path: &str, body: Option<Value>, csrf: bool) -> TestResponse {
        let mut req = self.app.request(method, path);
        if let Some(c) = &self.cookie {
            req = req.header("cookie", c);
        }
        if csrf {
            req = req.header("x-edgedesk-csrf", "1");
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send();
        if let Some(set) = r.header("set-cookie") {
            assert!(
                set.contains("HttpOnly") && set.contains("SameSite=Strict"),
                "{set}"
            );
            self.cookie = set.split(';').next().map(str::to_owned);
        }
        r
    }
}

fn setup_token(app: &TestApp) -> String {
    let link = expect(
        app.request("POST", "/v1/system/setup-link")
            .header("x-platform-token", PLATFORM_TOKEN)
            .send(),
        200,
    );
    link["url"]
        .as_str()
        .unwrap()
        .split("setup=")
        .nth(1)
        .unwrap()
        .to_owned()
}

fn set_up_owner(app: &TestApp) -> Browser<'_> {
    let token = setup_token(app);
    let mut owner = Browser::new(app);
    let r = owner.call(
        "POST",
        "/v1/setup",
        Some(
            json!({"token": token, "tenant_name": "Acme", "name": "Olga",
                    "email": "olga@acme.test", "password": "correct horse battery"}),
        ),
        false,
    );
    let me = expect(r, 200);
    assert_eq!(me["agent"]["role"], "owner");
    owner
}

#[test]
fn the_setup_link_needs_the_platform_token() {
    let app = TestApp::new();
    let r = app.anon().post("/v1/system/setup-link", json!({}));
    assert_eq!((r.status, r.error_code().as_str()), (401, "unauthorized"));
    let r = app
        .request("POST", "/v1/system/setup-link")
        .header("x-platform-token", "wrong")
        .send();
    assert_eq!(r.status, 401);
    app.platform.remove_var("platform_token");
    let r = app
        .request("POST", "/v1/system/setup-link")
        .header("x-platform-token", PLATFORM_TOKEN)
        .send();
    assert_eq!((r.status, r.error_code().as_str()), (403, "forbidden"));
}

#[test]
fn first_run_setup_signs_the_owner_in_once() {
    let app = TestApp::new();
    let token = setup_token(&app);
    let mut owner = Browser::new(&app);
    let body = json!({"token": token, "tenant_name": "Acme", "name": "Olga",
                      "email": "olga@acme.test", "password": "correct horse battery"});
    let me = expect(
        owner.call("POST", "/v1/setup", Some(body.clone()), false),
        200,
    );
    assert_eq!(
        (me["agent"]["role"].as_str(), me["tenant"]["name"].as_str()),
        (Some("owner"), Some("Acme"))
    );
    assert!(owner
        .cookie
        .as_deref()
        .is_some_and(|c| c.starts_with("edgedesk_session=")));
    let again = Browser::new(&app).call("POST", "/v1/setup", Some(body), false);
    assert_eq!(again.status, 404, "a setup link works once");
    let r = app
        .request("POST", "/v1/system/setup-link")
        .header("x-platform-token", PLATFORM_TOKEN)
        .send();
    assert_eq!((r.status, r.error_code().as_str()), (409, "setup_done"));
    let me = expect(owner.call("GET", "/v1/auth/me", None, false), 200);
    assert_eq!(me["agent"]["email"], "olga@acme.test");
}

#[test]
fn a_session_writes_only_with_the_csrf_header() {
    let app = TestApp::new();
    let mut owner = set_up_owner(&app);
    let r = owner.call("POST", "/v1/tickets", Some(json!({"subject": "x"})), false);
    assert_eq!((r.status, r.error_code().as_str()), (403, "forbidden"));
    let t = expect(
        owner.call(
            "POST",
            "/v1/tickets",
            Some(json!({"subject": "from the console"})),
            true,
        ),
        201,
    );
    assert_eq!(t["subject"], "from the console");
}

#[test]
fn an_invited_viewer_accepts_signs_in_and_can_only_read() {
    let app = TestApp::new();
    let mut owner = set_up_owner(&app);
    expect(
        owner.call("POST", "/v1/tickets", Some(json!({"subject": "one"})), true),
        201,
    );
    let viewer = expect(
        owner.call(
            "POST",
            "/v1/agents",
            Some(json!({"email": "vic@acme.test", "name": "Vic", "role": "viewer"})),
            true,
        ),
        201,
    );
    let inv = expect(
        owner.call(
            "POST",
            &format!("/v1/agents/{}/invite", id(&viewer)),
            None,
            true,
        ),
        200,
    );
    let token = inv["url"]
        .as_str()
        .unwrap()
        .split("invite=")
        .nth(1)
        .unwrap()
        .to_owned();
    let mut vic = Browser::new(&app);
    let weak = vic.call(
        "POST",
        "/v1/auth/accept-invite",
        Some(json!({"token": token, "password": "short"})),
        false,
    );
    assert_eq!(
        (weak.status, weak.error_code().as_str()),
        (422, "validation_failed")
    );
    let acc = expect(
        vic.call(
            "POST",
            "/v1/auth/accept-invite",
            Some(json!({"token": token, "password": "viewer password 1"})),
            false,
        ),
        200,
    );
    assert_eq!(acc["permissions"], json!(["read"]));
    let r = vic.call(
        "POST",
        "/v1/tickets",
        Some(json!({"subject": "viewer writes"})),
        true,
    );
    assert_eq!((r.status, r.error_code().as_str()), (403, "forbidden"));
    let page = expect(vic.call("GET", "/v1/tickets", None, false), 200);
    assert_eq!(data(&page).len(), 1);
    let reused = Browser::new(&app).call(
        "POST",
        "/v1/auth/accept-invite",
        Some(json!({"token": token, "password": "another password 2"})),
        false,
    );
    assert_eq!(reused.status, 404, "an invitation works once");
}

#[test]
fn login_password_change_and_logout_end_sessions() {
    let app = TestApp::new();
    let mut owner = set_up_owner(&app);
    let mut stranger = Browser::new(&app);
    let bad = stranger.call(
        "POST",
        "/v1/auth/login",
        Some(json!({"email": "olga@acme.test", "password": "wrong password!"})),
        false,
    );
    assert_eq!(
        (bad.status, bad.error_code().as_str()),
        (401, "unauthorized")
    );
    assert!(stranger.cookie.is_none());
    let good = stranger.call(
        "POST",
        "/v1/auth/login",
        Some(json!({"email": "OLGA@acme.test", "password": "correct horse battery"})),
        false,
    );
    assert_eq!(good.status, 200, "{}", good.text());
    let pw = stranger.call(
        "POST",
        "/v1/auth/password",
        Some(json!({"current_password": "correct horse battery", "new_password": "a new long password"})),
        true,
    );
    assert_eq!(pw.status, 204, "{}", pw.text());
    assert_eq!(
        owner.call("GET", "/v1/auth/me", None, false).status,
        401,
        "changing the password ends other sessions"
    );
    assert_eq!(stranger.call("GET", "/v1/auth/me", None, false).status, 200);
    let out = stranger.call("POST", "/v1/auth/logout", None, true);
    assert_eq!(out.status, 204);
    assert_eq!(stranger.call("GET", "/v1/auth/me", None, false).status, 401);
}

#[test]
fn a_session_expires_after_its_lifetime() {
    let app = TestApp::new();
    let mut owner = set_up_owner(&app);
    assert_eq!(owner.call("GET", "/v1/auth/me", None, false).status, 200);
    app.platform
        .advance(std::time::Duration::from_secs(60 * 60 * 24 * 31));
    assert_eq!(owner.call("GET", "/v1/auth/me", None, false).status, 401);
}

#[test]
fn a_deactivated_or_deleted_agent_loses_the_session_and_cannot_sign_in() {
    let app = TestApp::new();
    let mut owner = set_up_owner(&app);
    let vic = expect(
        owner.call(
            "POST",
            "/v1/agents",
            Some(json!({"email": "vic@acme.test", "name": "Vic", "role": "agent"})),
            true,
        ),
        201,
    );
    let mut browser = invite_and_accept(&app, &mut owner, &id(&vic), "vic password 1");
    assert_eq!(browser.call("GET", "/v1/auth/me", None, false).status, 200);
    expect(
        owner.call(
            "PATCH",
            &format!("/v1/agents/{}", id(&vic)),
            Some(json!({"active": false})),
            true,
        ),
        200,
    );
    assert_eq!(browser.call("GET", "/v1/auth/me", None, false).status, 401);
    let login = json!({"email": "vic@acme.test", "password": "vic password 1"});
    assert_eq!(
        Browser::new(&app)
            .call("POST", "/v1/auth/login", Some(login.clone()), false)
            .status,
        401
    );
    expect(
        owner.call(
            "PATCH",
            &format!("/v1/agents/{}", id(&vic)),
            Some(json!({"active": true, "role": "viewer"})),
            true,
        ),
        200,
    );
    let mut again = Browser::new(&app);
    assert_eq!(
        again
            .call("POST", "/v1/auth/login", Some(login.clone()), false)
            .status,
        200
    );
    let r = again.call("POST", "/v1/tickets", Some(json!({"subject": "x"})), true);
    assert_eq!(r.status, 403, "a demoted agent's session has the new role");
    assert_eq!(
        owner
            .call("DELETE", &format!("/v1/agents/{}", id(&vic)), None, true)
            .status,
        204
    );
    assert_eq!(again.call("GET", "/v1/auth/me", None, false).status, 401);
    assert_eq!(
        Browser::new(&app)
            .call("POST", "/v1/auth/login", Some(login), false)
            .status,
        401
    );
}

#[test]
#[ignore = "handler bug: deleting an agent leaves its email's sign-in claim (actor `g`) naming the deleted agent, so a new agent with that email can never accept an invitation (409 email_taken)"]
fn a_new_agent_may_reuse_the_email_of_a_deleted_one() {
    let app = TestApp::new();
    let mut owner = set_up_owner(&app);
    let vic = expect(
        owner.call(
            "POST",
            "/v1/agents",
            Some(json!({"email": "vic@acme.test", "name": "Vic", "role": "agent"})),
            true,
        ),
        201,
    );
    invite_and_accept(&app, &mut owner, &id(&vic), "vic password 1");
    assert_eq!(
        owner
            .call("DELETE", &format!("/v1/agents/{}", id(&vic)), None, true)
            .status,
        204
    );
    let again = expect(
        owner.call(
            "POST",
            "/v1/agents",
            Some(json!({"email": "vic@acme.test", "name": "Vic again", "role": "agent"})),
            true,
        ),
        201,
    );
    let mut browser = invite_and_accept(&app, &mut owner, &id(&again), "vic password 2");
    let me = expect(browser.call("GET", "/v1/auth/me", None, false), 200);
    assert_eq!(me["agent"]["id"], again["id"]);
}

/// Invites the agent and accepts with `password`; returns the agent's signed-in browser.
fn invite_and_accept<'a>(
    app: &'a TestApp,
    owner: &mut Browser<'_>,
    agent: &str,
    password: &str,
) -> Browser<'a> {
    let inv = expect(
        owner.call("POST", &format!("/v1/agents/{agent}/invite"), None, true),
        200,
    );
    let token = inv["url"]
        .as_str()
        .unwrap()
        .split("invite=")
        .nth(1)
        .unwrap()
        .to_owned();
    let mut browser = Browser::new(app);
    let r = browser.call(
        "POST",
        "/v1/auth/accept-invite",
        Some(json!({"token": token, "password": password})),
        false,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    browser
}

#[test]
fn ten_failed_sign_ins_pause_the_email_for_fifteen_minutes_on_the_clock() {
    let app = TestApp::new();
    set_up_owner(&app);
    let login = |password: &str| {
        Browser::new(&app).call(
            "POST",
            "/v1/auth/login",
            Some(json!({"email": "olga@acme.test", "password": password})),
            false,
        )
    };
    for _ in 0..10 {
        assert_eq!(login("wrong password!").status, 401);
    }
    let r = login("correct horse battery");
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (429, "too_many_attempts"),
        "even the right password waits"
    );
    app.platform
        .advance(std::time::Duration::from_secs(14 * 60));
    assert_eq!(login("correct horse battery").status, 429);
    app.platform.advance(std::time::Duration::from_secs(2 * 60));
    assert_eq!(
        login("correct horse battery").status,
        200,
        "the window has passed"
    );
}

#[test]
fn an_invitation_expires_after_seven_days() {
    let app = TestApp::new();
    let mut owner = set_up_owner(&app);
    let vic = expect(
        owner.call(
            "POST",
            "/v1/agents",
            Some(json!({"email": "vic@acme.test", "name": "Vic", "role": "agent"})),
            true,
        ),
        201,
    );
    let inv = expect(
        owner.call(
            "POST",
            &format!("/v1/agents/{}/invite", id(&vic)),
            None,
            true,
        ),
        200,
    );
    let token = inv["url"]
        .as_str()
        .unwrap()
        .split("invite=")
        .nth(1)
        .unwrap()
        .to_owned();
    app.platform
        .advance(std::time::Duration::from_secs(7 * 24 * 3600 + 1));
    let r = Browser::new(&app).call(
        "POST",
        "/v1/auth/accept-invite",
        Some(json!({"token": token, "password": "vic password 1"})),
        false,
    );
    assert_eq!((r.status, r.error_code().as_str()), (404, "not_found"));
}

#[test]
fn a_password_change_needs_the_current_password() {
    let app = TestApp::new();
    let mut owner = set_up_owner(&app);
    let r = owner.call(
        "POST",
        "/v1/auth/password",
        Some(json!({"current_password": "not my password", "new_password": "a new long password"})),
        true,
    );
    assert_eq!((r.status, r.error_code().as_str()), (401, "unauthorized"));
    assert_eq!(
        owner.call("GET", "/v1/auth/me", None, false).status,
        200,
        "the session is untouched"
    );
    let r = Browser::new(&app).call(
        "POST",
        "/v1/auth/login",
        Some(json!({"email": "olga@acme.test", "password": "correct horse battery"})),
        false,
    );
    assert_eq!(r.status, 200, "the old password still works");
}
