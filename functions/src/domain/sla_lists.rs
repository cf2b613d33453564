//! SLA in lists: the most urgent target of each row, the `sla_state` filter and the
//! `sla_due` order of the ticket and conversation lists, read from the stored summaries.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ctx::Ctx;
use crate::error::ApiError;
use crate::keys;
use crate::ports::{Platform, Scan};
use crate::settings::SlaSettings;
use crate::store::{get_json, scan_json};
use edgedesk_shared::sla::{SlaConfig, SlaReport, TargetKind, TargetState};

/// Longest a policy or calendar list may get: the whole configuration is one record.
use crate::domain::sla::*;

// ---- SLA of list rows ------------------------------------------------------------------

/// The policy a row's clock runs under.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyRef {
    pub id: String,
    pub name: String,
}

/// The `sla` field of each item of `GET /v1/tickets` and `GET /v1/conversations`: the most
/// urgent target now, so a list shows every row's clock without one `/sla` request per row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RowSla {
    pub state: TargetState,
    pub target: TargetKind,
    /// The deadline of an open target; `null` while paused or once completed.
    pub due_at: Option<DateTime<Utc>>,
    pub warning_at: Option<DateTime<Utc>>,
    pub breached_at: Option<DateTime<Utc>>,
    pub policy: Option<PolicyRef>,
}

/// The row clock of a report: among open targets the most severe, the earliest deadline
/// breaking ties; once nothing is open, the last breached target if any breached, else the
/// last target. `None` when no target ever applied.
pub fn row_sla(report: &SlaReport, config: &SlaConfig) -> Option<RowSla> {
    let pick = edgedesk_shared::sla::row_target(&report.targets)?;
    let policy = pick
        .policy_id
        .as_ref()
        .or(report.policy_id.as_ref())
        .map(|id| PolicyRef {
            id: id.clone(),
            name: config
                .policies
                .iter()
                .find(|p| &p.id == id)
                .map(|p| p.name.clone())
                .unwrap_or_default(),
        });
    Some(RowSla {
        state: pick.state,
        target: pick.target,
        due_at: if pick.is_open() { pick.due_at } else { None },
        warning_at: if pick.is_open() {
            pick.warning_at
        } else {
            None
        },
        breached_at: pick.breached_at,
        policy,
    })
}

/// A list page whose items carry their [`RowSla`] (or `null`) as `sla`, evaluated now with the
/// same engine as `GET .../sla`, from each subject's stored clocks (its history only when the
/// settings changed since). One storage read per row, none per row over HTTP.
pub async fn page_with_sla<P: Platform, T: Serialize>(
    ctx: &Ctx<'_, P>,
    page: crate::ctx::Page<T>,
    id_of: impl Fn(&T) -> String,
) -> Result<serde_json::Value, ApiError> {
    let settings: SlaSettings = get_json(ctx.p, &ctx.actor, keys::tenant::SLA_SETTINGS)
        .await?
        .unwrap_or_default();
    let now = ctx.now();
    let mut engine = None;
    let mut data = Vec::with_capacity(page.data.len());
    for item in &page.data {
        let record: Option<SlaRecord> =
            get_json(ctx.p, &ctx.actor, &keys::tenant::sla_record(&id_of(item))).await?;
        let sla = match record {
            None => None,
            Some(r) => {
                if engine.is_none() {
                    engine = Some(settings.engine()?);
                }
                let engine = engine.as_ref().ok_or_else(ApiError::internal)?;
                let from_state = r
                    .state
                    .as_ref()
                    .filter(|_| r.state_version == settings.version)
                    .and_then(|state| engine.evaluate_state(state, now).ok());
                let report = match from_state {
                    Some(report) => report,
                    None => {
                        let history = load_history(ctx.p, &ctx.actor, &r).await?;
                        engine
                            .evaluate(&history, now)
                            .map_err(ApiError::internal_from)?
                    }
                };
                row_sla(&report, &settings.config)
            }
        };
        let mut value = crate::http::to_value(item).map_err(ApiError::internal_from)?;
        if let Some(obj) = value.as_object_mut() {
            obj.insert(
                "sla".to_owned(),
                crate::http::to_value(&sla).map_err(ApiError::internal_from)?,
            );
        }
        data.push(value);
    }
    Ok(serde_json::json!({"data": data, "next_cursor": page.next_cursor}))
}

// ---- list filters ---------------------------------------------------------------------

/// `sla_state` filter of ticket and conversation lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlaStateFilter {
    Breached,
    Warning,
}

impl SlaStateFilter {
    pub fn matches(self, state: Option<TargetState>) -> bool {
        match self {
            SlaStateFilter::Breached => state == Some(TargetState::Breached),
            SlaStateFilter::Warning => state == Some(TargetState::Warning),
        }
    }
}

/// The summaries of every subject whose id starts with `prefix` (`tkt_`, `cnv_`).
pub async fn summaries<P: Platform>(
    ctx: &Ctx<'_, P>,
    prefix: &str,
) -> Result<BTreeMap<String, Summary>, ApiError> {
    let mut out = BTreeMap::new();
    let mut after = None;
    loop {
        let scan = Scan {
            prefix: keys::tenant::sla_records_with_id_prefix(prefix),
            after: after.clone(),
            limit: 500,
            reverse: false,
        };
        let rows = scan_json::<_, SlaRecord>(ctx.p, &ctx.actor, &scan).await?;
        let n = rows.len();
        for (k, r) in rows {
            after = Some(k);
            out.insert(r.subject_id, r.summary);
        }
        if n < 500 {
            return Ok(out);
        }
    }
}

/// Records sorted by SLA deadline, earliest first, with a cursor made of the last deadline
/// and id. Subjects without a running deadline are not listed in this order.
pub fn by_due(
    summaries: &BTreeMap<String, Summary>,
    cursor: Option<&str>,
) -> Result<Vec<(DateTime<Utc>, String)>, ApiError> {
    let after = match cursor {
        None => None,
        Some(c) => {
            let (ms, id) = c.split_once('.').ok_or_else(bad_cursor)?;
            let ms: i64 = ms.parse().map_err(|_| bad_cursor())?;
            Some((
                DateTime::from_timestamp_millis(ms).ok_or_else(bad_cursor)?,
                id.to_owned(),
            ))
        }
    };
    let mut order: Vec<(DateTime<Utc>, String)> = summaries
        .iter()
        .filter_map(|(id, s)| s.due_at.map(|d| (d, id.clone())))
        .filter(|k| after.as_ref().is_none_or(|a| k > a))
        .collect();
    edgedesk_shared::sort::sort(&mut order);
    Ok(order)
}

pub fn due_cursor(due: DateTime<Utc>, id: &str) -> String {
    format!("{}.{id}", due.timestamp_millis())
}

pub(crate) fn bad_cursor() -> ApiError {
    ApiError::bad_request("invalid_cursor", "cursor is not valid for this list")
}

/// Sorting of ticket and conversation lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListSort {
    /// Newest first (the default).
    Created,
    /// Earliest SLA deadline first; lists only subjects with a running deadline.
    SlaDue,
}

/// A page of subjects sorted by deadline: loads each record by key and keeps those `keep`
/// accepts.
pub async fn page_by_due<P: Platform, T: serde::de::DeserializeOwned>(
    ctx: &Ctx<'_, P>,
    key_of: fn(&str) -> String,
    summaries: &BTreeMap<String, Summary>,
    limit: Option<usize>,
    cursor: Option<&str>,
    keep: impl Fn(&T) -> bool,
) -> Result<crate::ctx::Page<T>, ApiError> {
    let limit = limit.unwrap_or(edgedesk_shared::api::limits::DEFAULT_PAGE_SIZE);
    if limit == 0 || limit > edgedesk_shared::api::limits::MAX_PAGE_SIZE {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!(
                "limit must be 1 to {}",
                edgedesk_shared::api::limits::MAX_PAGE_SIZE
            ),
        ));
    }
    let mut data = Vec::new();
    let mut next_cursor = None;
    let order = by_due(summaries, cursor)?;
    let total = order.len();
    for (n, (due, id)) in order.into_iter().enumerate() {
        if let Some(item) = get_json::<_, T>(ctx.p, &ctx.actor, &key_of(&id)).await? {
            if keep(&item) {
                data.push(item);
            }
        }
        if data.len() == limit {
            if n + 1 < total {
                next_cursor = Some(due_cursor(due, &id));
            }
            break;
        }
    }
    Ok(crate::ctx::Page { data, next_cursor })
}
