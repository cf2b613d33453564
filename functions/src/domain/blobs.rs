//! A tenant's stored files (the blob actor): a widget upload, an email's attachments and the
//! raw original of a received mail, each reached through a link signed with the tenant's
//! widget token secret, so it works in an `<img src>` without a session.

use serde::{Deserialize, Serialize};

use crate::ctx::id_parts;
use crate::error::ApiError;
use crate::keys::{self, blob_actor};
use crate::ports::Platform;
use crate::store::transact;
use edgedesk_shared::ids::{ContactId, TenantId};
use edgedesk_shared::model::Attachment;
use edgedesk_shared::widget::attachment_signature;

/// What is kept beside a file's bytes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BlobMeta {
    pub name: String,
    pub content_type: String,
    pub size: u64,
    /// Who sent it.
    pub contact_id: ContactId,
}

/// Stores a file and answers the attachment a message carries, with its signed link.
pub async fn store<P: Platform>(
    p: &P,
    tenant_id: &TenantId,
    token_secret: &str,
    meta: BlobMeta,
    bytes: Vec<u8>,
) -> Result<Attachment, ApiError> {
    let (ms, r) = id_parts(p);
    let blob_id = format!("{:x}{:x}", ms, r);
    transact(p, &blob_actor(tenant_id), async |tx| {
        tx.put(keys::blob::content(&blob_id), bytes.clone());
        tx.put_json(keys::blob::meta(&blob_id), &meta)
    })
    .await?;
    Ok(Attachment {
        url: Some(link(tenant_id, token_secret, &blob_id)),
        name: meta.name,
        content_type: meta.content_type,
        size: meta.size,
    })
}

/// The signed download link of blob `blob_id`.
pub fn link(tenant_id: &TenantId, token_secret: &str, blob_id: &str) -> String {
    let sig = attachment_signature(token_secret, blob_id);
    format!("/v1/widget/{tenant_id}/attachments/{blob_id}?sig={sig}")
}
