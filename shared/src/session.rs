//! Console sign-in: password hashing and session tokens.
//!
//! Passwords are hashed with Argon2id (RFC 9106 defaults of the `argon2` crate) and a random
//! salt. A session token (`ses1.<agent id>.<session id>.<expiry>.<hex HMAC>`) is signed with a
//! per-tenant secret; the server also keeps a record per session so logout revokes it at once.

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;

use crate::api::ValidationError;
use crate::auth::constant_time_eq;
use crate::ids::{AgentId, TenantId};
use crate::signature::hmac_hex;

pub const MIN_PASSWORD_CHARS: usize = 10;
pub const MAX_PASSWORD_BYTES: usize = 128;
/// How long a console session lasts.
pub const SESSION_HOURS: i64 = 12;

/// Checks a new password against the policy.
pub fn validate_password(field: &str, password: &str) -> Result<(), ValidationError> {
    let err = |m: &str| {
        Err(ValidationError {
            field: field.into(),
            message: m.into(),
        })
    };
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return err("must be at least 10 characters");
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return err("must be at most 128 bytes");
    }
    if password
        .chars()
        .all(|c| c == password.chars().next().unwrap_or(' '))
    {
        return err("must not repeat one character");
    }
    Ok(())
}

/// Why hashing failed (never the caller's input: bad salts are a bug).
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed")]
pub struct HashError;

/// Argon2id PHC string of `password` with a 16-byte random `salt`.
pub fn hash_password(password: &str, salt: &[u8; 16]) -> Result<String, HashError> {
    Argon2::default()
        .hash_password_with_salt(password.as_bytes(), salt)
        .map(|h| h.to_string())
        .map_err(|_| HashError)
}

/// Whether `password` matches a stored PHC string.
pub fn verify_password(password: &str, phc: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), phc)
        .is_ok()
}

const SCHEME: &str = "ses1";

/// The parts of a genuine session token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionClaims {
    pub agent_id: AgentId,
    pub session_id: String,
    pub expires_unix: i64,
}

fn mac_input(tenant: &TenantId, agent: &AgentId, sid: &str, exp: i64) -> String {
    format!("{tenant}.{agent}.{sid}.{exp}")
}

/// Issues a session token.
pub fn session_token(
    secret: &str,
    tenant: &TenantId,
    agent: &AgentId,
    sid: &str,
    expires_unix: i64,
) -> String {
    let mac = hmac_hex(
        secret.as_bytes(),
        mac_input(tenant, agent, sid, expires_unix).as_bytes(),
    );
    format!("{SCHEME}.{tenant}.{agent}.{sid}.{expires_unix}.{mac}")
}

/// The tenant a token claims, read before its signature can be checked (the secret is the
/// tenant's).
pub fn token_tenant(token: &str) -> Option<TenantId> {
    let mut parts = token.split('.');
    (parts.next() == Some(SCHEME))
        .then(|| parts.next()?.parse().ok())
        .flatten()
}

/// Verifies a token's signature and expiry.
pub fn verify_session_token(
    secret: &str,
    tenant: &TenantId,
    token: &str,
    now_unix: i64,
) -> Option<SessionClaims> {
    let parts: Vec<&str> = token.split('.').collect();
    let [SCHEME, t, agent, sid, exp, mac] = parts.as_slice() else {
        return None;
    };
    if *t != tenant.to_string() || sid.is_empty() || !sid.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let agent_id: AgentId = agent.parse().ok()?;
    let exp: i64 = exp.parse().ok()?;
    let expected = hmac_hex(
        secret.as_bytes(),
        mac_input(tenant, &agent_id, sid, exp).as_bytes(),
    );
    if !constant_time_eq(expected.as_bytes(), mac.as_bytes()) || exp <= now_unix {
        return None;
    }
    Some(SessionClaims {
        agent_id,
        session_id: (*sid).to_owned(),
        expires_unix: exp,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hashed_password_verifies_and_a_wrong_one_does_not() {
        let phc = hash_password("correct horse battery", &[7; 16]).unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &phc));
        assert!(!verify_password("correct horse battery!", &phc));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn weak_passwords_are_refused() {
        assert!(validate_password("p", "short").is_err());
        assert!(validate_password("p", "aaaaaaaaaaaa").is_err());
        assert!(validate_password("p", &"x".repeat(200)).is_err());
        assert!(validate_password("p", "a long enough phrase").is_ok());
    }

    #[test]
    fn a_session_token_verifies_until_it_expires_and_only_for_its_tenant() {
        let t = TenantId::from_parts(1, 1);
        let a = AgentId::from_parts(2, 2);
        let token = session_token("sec", &t, &a, "abc123", 1000);
        assert_eq!(token_tenant(&token), Some(t));
        let c = verify_session_token("sec", &t, &token, 999).unwrap();
        assert_eq!((c.agent_id, c.session_id.as_str()), (a, "abc123"));
        assert!(
            verify_session_token("sec", &t, &token, 1000).is_none(),
            "expired"
        );
        assert!(verify_session_token("other", &t, &token, 0).is_none());
        assert!(verify_session_token("sec", &TenantId::from_parts(3, 3), &token, 0).is_none());
        let tampered = token.replace(".1000.", ".9999.");
        assert!(verify_session_token("sec", &t, &tampered, 0).is_none());
    }
}
