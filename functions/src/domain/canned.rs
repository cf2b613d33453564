//! Canned responses in storage: their keys (`canned:<id>`, and `canned_shortcode:<code>`,
//! which keeps shortcodes unique) and the tenant's whole list.

use crate::error::ApiError;
use crate::ports::{Platform, Scan};
use crate::store::scan_json;
use edgedesk_shared::routing::CannedResponse;

pub const PREFIX: &str = "canned:";

pub fn record_key(id: &str) -> String {
    format!("{PREFIX}{id}")
}

pub fn shortcode_key(shortcode: &str) -> String {
    format!("canned_shortcode:{shortcode}")
}

/// All canned responses of the tenant (at most a thousand).
pub async fn all_canned<P: Platform>(p: &P, tactor: &str) -> Result<Vec<CannedResponse>, ApiError> {
    let rows = scan_json::<_, CannedResponse>(
        p,
        tactor,
        &Scan {
            prefix: PREFIX.into(),
            after: None,
            limit: edgedesk_shared::routing::canned::MAX_CANNED_RESPONSES + 1,
            reverse: false,
        },
    )
    .await?;
    Ok(rows.into_iter().map(|(_, c)| c).collect())
}
