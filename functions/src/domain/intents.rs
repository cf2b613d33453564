//! The tenant's trained intent model (`bot:model` in the tenant actor, written by the bot's
//! intents API): what routing rules and the bot read to name a message's intent.

use edgedesk_nlp::IntentModel;

use crate::error::ApiError;
use crate::keys;
use crate::ports::Platform;

/// The intent the tenant's model recognises in a text (for routing rules on intents).
pub async fn intent_of<P: Platform>(
    p: &P,
    tactor: &str,
    text: &str,
) -> Result<Option<String>, ApiError> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    Ok(match p.get(tactor, keys::tenant::BOT_MODEL).await? {
        Some(bytes) => {
            IntentModel::from_bytes(&bytes)
                .map_err(ApiError::internal_from)?
                .predict(text)
                .intent
        }
        None => None,
    })
}
