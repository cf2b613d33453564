//! Canned responses in storage: the tenant's whole list.

use crate::error::ApiError;
use crate::keys;
use crate::ports::{Platform, Scan};
use crate::store::scan_json;
use edgedesk_shared::routing::CannedResponse;

/// All canned responses of the tenant (at most a thousand).
pub async fn all_canned<P: Platform>(p: &P, tactor: &str) -> Result<Vec<CannedResponse>, ApiError> {
    let rows = scan_json::<_, CannedResponse>(
        p,
        tactor,
        &Scan {
            prefix: keys::tenant::CANNED_RESPONSES.into(),
            after: None,
            limit: edgedesk_shared::routing::canned::MAX_CANNED_RESPONSES + 1,
            reverse: false,
        },
    )
    .await?;
    Ok(rows.into_iter().map(|(_, c)| c).collect())
}
