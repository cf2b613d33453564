//! HMAC-SHA256 signatures: inbound channel webhooks, outbound webhooks, widget identity.
//!
//! Webhook signatures cover `"{timestamp}.{body}"` so a captured request cannot be replayed
//! later; the header reads `t=<unix seconds>,v1=<hex>` (the shape Stripe and others use, so
//! tenants' existing verification code fits).

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// How far a webhook's timestamp may be from the receiver's clock.
pub const MAX_SKEW_SECONDS: i64 = 300;

/// Why a signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("signature header missing")]
    Missing,
    #[error("signature header malformed; expected `t=<unix seconds>,v1=<hex hmac>`")]
    Malformed,
    #[error("signature timestamp outside the allowed window")]
    Stale,
    #[error("signature does not match")]
    Mismatch,
}

/// HMAC-SHA256 of `message` under `secret`, hex.
pub fn hmac_hex(secret: &[u8], message: &[u8]) -> String {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(message);
    hex::encode(mac.finalize().into_bytes())
}

/// The header value for a webhook body sent at `timestamp`.
pub fn sign_webhook(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    format!(
        "t={timestamp},v1={}",
        hmac_hex(secret, &signed_payload(timestamp, body))
    )
}

/// Checks a webhook signature header against the body and the receiver's clock.
pub fn verify_webhook(
    secret: &[u8],
    header: Option<&str>,
    body: &[u8],
    now_unix: i64,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => {
                timestamp = Some(v.parse::<i64>().map_err(|_| SignatureError::Malformed)?)
            }
            Some(("v1", v)) => {
                signatures.push(hex::decode(v).map_err(|_| SignatureError::Malformed)?)
            }
            _ => return Err(SignatureError::Malformed),
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    if (now_unix - timestamp).abs() > MAX_SKEW_SECONDS {
        return Err(SignatureError::Stale);
    }
    let payload = signed_payload(timestamp, body);
    // Several v1 entries let a tenant rotate secrets without downtime.
    let ok = signatures.iter().any(|sig| {
        let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC accepts keys of any length");
        mac.update(&payload);
        mac.verify_slice(sig).is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

fn signed_payload(timestamp: i64, body: &[u8]) -> Vec<u8> {
    let mut payload = format!("{timestamp}.").into_bytes();
    payload.extend_from_slice(body);
    payload
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    #[test]
    fn a_signed_body_verifies() {
        let header = sign_webhook(b"s3cret", NOW, b"{\"a\":1}");
        assert_eq!(
            verify_webhook(b"s3cret", Some(&header), b"{\"a\":1}", NOW + 10),
            Ok(())
        );
    }

    #[test]
    fn a_changed_body_or_wrong_secret_is_a_mismatch() {
        let header = sign_webhook(b"s3cret", NOW, b"{\"a\":1}");
        assert_eq!(
            verify_webhook(b"s3cret", Some(&header), b"{\"a\":2}", NOW),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_webhook(b"other", Some(&header), b"{\"a\":1}", NOW),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn an_old_signature_is_stale() {
        let header = sign_webhook(b"k", NOW - MAX_SKEW_SECONDS - 1, b"x");
        assert_eq!(
            verify_webhook(b"k", Some(&header), b"x", NOW),
            Err(SignatureError::Stale)
        );
    }

    #[test]
    fn missing_and_malformed_headers_are_refused() {
        assert_eq!(
            verify_webhook(b"k", None, b"x", NOW),
            Err(SignatureError::Missing)
        );
        for bad in ["", "v1=00", "t=abc,v1=00", "t=1,v1=zz", "sha256=abcd"] {
            assert_eq!(
                verify_webhook(b"k", Some(bad), b"x", NOW),
                Err(SignatureError::Malformed),
                "{bad}"
            );
        }
    }

    #[test]
    fn hmac_matches_the_rfc_4231_vector() {
        // RFC 4231 test case 2.
        assert_eq!(
            hmac_hex(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
