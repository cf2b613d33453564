//! Tenant settings read by more than one part of the functions: the SLA configuration
//! (calendars, policies, escalations, the webhook target) and the automation webhook secret.
//! A leaf below the handlers, the flows and the domain modules.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::keys;
use crate::ports::{Platform, Storage};
use crate::store::{get_json, transact, Tx};
use edgedesk_shared::sla::{validate_rules, EscalationRule, SlaConfig, SlaEngine};

/// Where signed SLA webhooks go.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookTarget {
    pub url: String,
    /// HMAC secret the receiver verifies `X-EdgeDesk-Signature` with.
    pub secret: String,
    pub updated_at: DateTime<Utc>,
}

/// A tenant's SLA configuration, stored as one record so it is validated as a whole.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct SlaSettings {
    #[serde(default)]
    pub config: SlaConfig,
    #[serde(default)]
    pub escalations: Vec<EscalationRule>,
    #[serde(default)]
    pub webhook: Option<WebhookTarget>,
    /// Increases on every change; recorded with each recomputation.
    #[serde(default)]
    pub version: u64,
}

impl SlaSettings {
    pub fn engine(&self) -> Result<SlaEngine, ApiError> {
        // Stored settings were validated when written; failing now is a server fault.
        SlaEngine::new(self.config.clone()).map_err(ApiError::internal_from)
    }

    pub fn validate(&self) -> Result<SlaEngine, ApiError> {
        let engine = SlaEngine::new(self.config.clone()).map_err(ApiError::unprocessable)?;
        validate_rules(&self.escalations, &self.config).map_err(ApiError::unprocessable)?;
        Ok(engine)
    }
}

/// Reads the tenant's settings inside a transaction (so a concurrent change conflicts).
pub async fn settings_in<S: Storage>(tx: &mut Tx<'_, S>) -> Result<SlaSettings, ApiError> {
    Ok(tx
        .get_json(keys::tenant::SLA_SETTINGS)
        .await?
        .unwrap_or_default())
}

/// The tenant's automation webhook secret, made on first use.
pub async fn automation_webhook_secret<P: Platform>(
    p: &P,
    tactor: &str,
) -> Result<String, ApiError> {
    if let Some(s) =
        get_json::<_, String>(p, tactor, keys::tenant::AUTOMATION_WEBHOOK_SECRET).await?
    {
        return Ok(s);
    }
    let mut b = [0u8; 32];
    p.fill(&mut b);
    let fresh = hex::encode(b);
    transact(p, tactor, async |tx| {
        if let Some(s) = tx
            .get_json::<String>(keys::tenant::AUTOMATION_WEBHOOK_SECRET)
            .await?
        {
            return Ok(s);
        }
        tx.put_json(keys::tenant::AUTOMATION_WEBHOOK_SECRET, &fresh)?;
        Ok(fresh.clone())
    })
    .await
}
