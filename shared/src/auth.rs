//! API key format, hashing and verification.
//!
//! A key reads `edk.<tenant id>.<key id>.<secret>`. The tenant and key ids are public (they
//! route the lookup straight to the tenant's storage and form the prefix shown in listings);
//! the secret is 256 random bits, base64url, shown once at creation and stored only as its
//! SHA-256.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::ids::{ApiKeyId, TenantId};

const SCHEME: &str = "edk";

/// Why a presented key was not accepted (all map to 401; the reasons stay internal).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("malformed API key")]
    Malformed,
}

/// A key split into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresentedKey<'a> {
    pub tenant_id: TenantId,
    pub id: ApiKeyId,
    pub secret: &'a str,
}

/// Builds the full key string from its id and 32 random bytes.
pub fn format_key(tenant_id: &TenantId, id: &ApiKeyId, secret_bytes: &[u8; 32]) -> String {
    format!(
        "{SCHEME}.{tenant_id}.{id}.{}",
        URL_SAFE_NO_PAD.encode(secret_bytes)
    )
}

/// What listings show of a key.
pub fn key_prefix(tenant_id: &TenantId, id: &ApiKeyId) -> String {
    format!("{SCHEME}.{tenant_id}.{id}")
}

/// Splits a presented key; refuses anything not in the canonical form.
pub fn parse_key(key: &str) -> Result<PresentedKey<'_>, KeyError> {
    let mut parts = key.splitn(4, '.');
    let (Some(SCHEME), Some(tenant_id), Some(id), Some(secret)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(KeyError::Malformed);
    };
    let tenant_id = tenant_id.parse().map_err(|_| KeyError::Malformed)?;
    let id = id.parse().map_err(|_| KeyError::Malformed)?;
    if secret.len() != 43 || URL_SAFE_NO_PAD.decode(secret).is_err() {
        return Err(KeyError::Malformed);
    }
    Ok(PresentedKey {
        tenant_id,
        id,
        secret,
    })
}

/// SHA-256 of a secret, hex: what is stored.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Compares a presented secret with a stored hash in constant time.
pub fn verify_secret(secret: &str, stored_sha256_hex: &str) -> bool {
    let presented = hash_secret(secret);
    constant_time_eq(presented.as_bytes(), stored_sha256_hex.as_bytes())
}

/// Equality that does not leak where two byte strings first differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_formatted_key_parses_back_and_verifies_against_its_hash() {
        let tenant = TenantId::from_parts(3, 4);
        let id = ApiKeyId::from_parts(5, 6);
        let key = format_key(&tenant, &id, &[7u8; 32]);
        let parsed = parse_key(&key).unwrap();
        assert_eq!((parsed.tenant_id, parsed.id), (tenant, id));
        let stored = hash_secret(parsed.secret);
        assert!(verify_secret(parsed.secret, &stored));
        assert!(!verify_secret("x", &stored));
    }

    #[test]
    fn keys_in_other_shapes_are_malformed() {
        for bad in [
            "",
            "edk",
            "edk.key_x.y",
            "Bearer abc",
            "edk..",
            "sk.key_01.abc",
        ] {
            assert_eq!(parse_key(bad), Err(KeyError::Malformed), "{bad}");
        }
        let key = format_key(
            &TenantId::from_parts(3, 4),
            &ApiKeyId::from_parts(5, 6),
            &[7u8; 32],
        );
        assert!(parse_key(&key[..key.len() - 1]).is_err());
    }
}
