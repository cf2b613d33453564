//! API keys in storage: minting a key (the secret is shown once, only its hash is kept).

use serde::Serialize;
use utoipa::ToSchema;

use crate::ctx::Ctx;
use crate::error::ApiError;
use crate::keys;
use crate::ports::{Platform, Storage};
use crate::store::Tx;
use edgedesk_shared::auth::{format_key, hash_secret, parse_key};
use edgedesk_shared::ids::ApiKeyId;
use edgedesk_shared::model::{ApiKeyRecord, ApiKeyView, KeyScope};

/// A freshly created key: `key` is shown this once and never again.
#[derive(Debug, Serialize, ToSchema)]
pub struct NewKey {
    #[serde(flatten)]
    pub view: ApiKeyView,
    pub key: String,
}

/// Creates a key inside a tenant transaction.
pub fn mint_key<P: Platform, S: Storage>(
    ctx: &Ctx<'_, P>,
    tx: &mut Tx<'_, S>,
    name: &str,
    scope: KeyScope,
) -> Result<NewKey, ApiError> {
    let id = ctx.mint(ApiKeyId::from_parts);
    let mut secret = [0u8; 32];
    ctx.p.fill(&mut secret);
    let key = format_key(&ctx.tenant_id, &id, &secret);
    let parsed = parse_key(&key).map_err(ApiError::internal_from)?;
    let record = ApiKeyRecord {
        id,
        tenant_id: ctx.tenant_id,
        name: name.trim().to_owned(),
        scope,
        secret_sha256: hash_secret(parsed.secret),
        created_at: ctx.now(),
        revoked_at: None,
    };
    tx.put_json(keys::tenant::api_key(&id), &record)?;
    Ok(NewKey {
        view: record.view(),
        key,
    })
}
