//! Console sign-in over HTTP: setup link, login, sessions, CSRF, roles, invites, logout.

use edgedesk_e2e::{error_code, Host, Resp};
use serde_json::{json, Value};

/// A browser-like client holding a session cookie.
struct Browser {
    base: String,
    cookie: Option<String>,
}

impl Browser {
    fn call(&mut self, method: &str, path: &str, body: Option<&Value>, csrf: bool) -> Resp {
        let api = edgedesk_e2e::Api {
            base: self.base.clone(),
            key: None,
        };
        let mut headers: Vec<(&str, String)> = Vec::new();
        if let Some(c) = &self.cookie {
            headers.push(("cookie", c.clone()));
        }
        if csrf {
            headers.push(("x-edgedesk-csrf", "1".into()));
        }
        let hs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = api.call(method, path, body, &hs);
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

#[test]
fn first_run_setup_then_login_sessions_csrf_roles_invites_and_logout() {
    let host = Host::start();
    if !host.is_local() {
        return;
    }
    let link = host.setup_link().expect("a fresh host offers a setup link");
    let token = link.split("setup=").nth(1).unwrap().to_owned();
    let mut owner = Browser {
        base: host.base.clone(),
        cookie: None,
    };
    let r = owner.call("POST", "/v1/setup", Some(&json!({"token": token, "tenant_name": "Acme", "name": "Olga", "email": "olga@acme.test", "password": "correct horse battery"})), false);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["agent"]["role"], "owner");
    let again = owner.call("POST", "/v1/setup", Some(&json!({"token": token, "tenant_name": "X", "name": "X", "email": "x@x.test", "password": "another long one"})), false);
    assert_eq!(again.status, 404, "a setup link works once");
    let me = owner.call("GET", "/v1/auth/me", None, false);
    assert_eq!(
        (me.status, me.body["tenant"]["name"].as_str()),
        (200, Some("Acme"))
    );
    let no_csrf = owner.call("POST", "/v1/tickets", Some(&json!({"subject": "x"})), false);
    assert_eq!(
        (no_csrf.status, error_code(&no_csrf.body)),
        (403, "forbidden")
    );
    let ok = owner.call(
        "POST",
        "/v1/tickets",
        Some(&json!({"subject": "from the console"})),
        true,
    );
    assert_eq!(ok.status, 201);

    let viewer = owner.call(
        "POST",
        "/v1/agents",
        Some(&json!({"email": "vic@acme.test", "name": "Vic", "role": "viewer"})),
        true,
    );
    assert_eq!(viewer.status, 201);
    let inv = owner.call(
        "POST",
        &format!("/v1/agents/{}/invite", viewer.body["id"].as_str().unwrap()),
        None,
        true,
    );
    let inv_token = inv.body["url"]
        .as_str()
        .unwrap()
        .split("invite=")
        .nth(1)
        .unwrap()
        .to_owned();
    let mut vic = Browser {
        base: host.base.clone(),
        cookie: None,
    };
    let weak = vic.call(
        "POST",
        "/v1/auth/accept-invite",
        Some(&json!({"token": inv_token, "password": "short"})),
        false,
    );
    assert_eq!(
        (weak.status, error_code(&weak.body)),
        (422, "validation_failed")
    );
    let acc = vic.call(
        "POST",
        "/v1/auth/accept-invite",
        Some(&json!({"token": inv_token, "password": "viewer password 1"})),
        false,
    );
    assert_eq!(acc.status, 200, "{}", acc.body);
    assert_eq!(acc.body["permissions"], json!(["read"]));
    let forged = vic.call(
        "POST",
        "/v1/tickets",
        Some(&json!({"subject": "viewer writes"})),
        true,
    );
    assert_eq!(
        (forged.status, error_code(&forged.body)),
        (403, "forbidden")
    );
    let (_, page) = {
        let r = vic.call("GET", "/v1/tickets", None, false);
        (r.status, r.body)
    };
    assert_eq!(page["data"].as_array().unwrap().len(), 1);

    let mut stranger = Browser {
        base: host.base.clone(),
        cookie: None,
    };
    let bad = stranger.call(
        "POST",
        "/v1/auth/login",
        Some(&json!({"email": "olga@acme.test", "password": "wrong password!"})),
        false,
    );
    assert_eq!((bad.status, error_code(&bad.body)), (401, "unauthorized"));
    let good = stranger.call(
        "POST",
        "/v1/auth/login",
        Some(&json!({"email": "OLGA@acme.test", "password": "correct horse battery"})),
        false,
    );
    assert_eq!(good.status, 200);
    let pw = stranger.call("POST", "/v1/auth/password", Some(&json!({"current_password": "correct horse battery", "new_password": "a new long password"})), true);
    assert_eq!(pw.status, 204);
    let old_session = owner.call("GET", "/v1/auth/me", None, false);
    assert_eq!(
        old_session.status, 401,
        "changing the password ends other sessions"
    );
    let out = stranger.call("POST", "/v1/auth/logout", None, true);
    assert_eq!(out.status, 204);
    let after = stranger.call("GET", "/v1/auth/me", None, false);
    assert_eq!(after.status, 401);
}
