//! Per-request context: who is calling, for which tenant, and the helpers every handler
//! shares (id minting, permission checks, event history, idempotency, pagination).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use http::StatusCode;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::http::{json, json_versioned, Request, Response};
use crate::keys::{self, tenant_actor};
use crate::ports::{Entropy, Platform, Scan};
use crate::store::{scan_json, Tx};
use edgedesk_shared::api::limits;
use edgedesk_shared::ids::{EventId, TenantId};
use edgedesk_shared::model::{Actor, ActorKind, Event, Role};
use edgedesk_shared::rbac::{role_allows, Permission};

/// Who is calling.
#[derive(Debug, Clone)]
pub struct Principal {
    pub kind: ActorKind,
    pub id: String,
    pub role: Role,
}

/// A request authenticated for one tenant.
pub struct Ctx<'a, P> {
    pub p: &'a P,
    pub tenant_id: TenantId,
    /// The tenant's storage actor.
    pub actor: String,
    pub principal: Principal,
}

/// `bytes` random bytes as lowercase hex (twice as many characters): secrets, session ids,
/// invitation and setup tokens.
pub fn random_hex<E: Entropy + ?Sized>(entropy: &E, bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    entropy.fill(&mut b);
    hex::encode(b)
}

/// Mints the parts of a new id: creation time and 80 random bits.
pub fn id_parts<P: Platform>(p: &P) -> (u64, u128) {
    let mut bytes = [0u8; 16];
    p.fill(&mut bytes[6..]);
    let ms = u64::try_from(p.now().timestamp_millis()).unwrap_or(0);
    (ms, u128::from_be_bytes(bytes))
}

impl<'a, P: Platform> Ctx<'a, P> {
    pub fn new(p: &'a P, tenant_id: TenantId, principal: Principal) -> Self {
        Self {
            p,
            tenant_id,
            actor: tenant_actor(&tenant_id),
            principal,
        }
    }

    /// The single permission gate: every handler calls this before touching data.
    pub fn require(&self, permission: Permission) -> Result<(), ApiError> {
        if role_allows(self.principal.role, permission) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "role `{}` may not perform this action",
                self.principal.role
            )))
        }
    }

    pub fn actor_ref(&self) -> Actor {
        Actor {
            kind: self.principal.kind,
            id: Some(self.principal.id.clone()),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.p.now()
    }

    pub fn mint<T>(&self, from_parts: fn(u64, u128) -> T) -> T {
        let (ms, r) = id_parts(self.p);
        from_parts(ms, r)
    }
}

/// Appends an entry to `subject`'s event history inside the transaction that makes the change.
pub fn record_event<P: Platform, S: crate::ports::Storage>(
    p: &P,
    tx: &mut Tx<'_, S>,
    subject: &str,
    kind: &str,
    actor: Actor,
    data: serde_json::Value,
) -> Result<(), ApiError> {
    let (ms, r) = id_parts(p);
    let event = Event {
        id: EventId::from_parts(ms, r),
        subject: subject.to_owned(),
        kind: kind.to_owned(),
        actor,
        at: p.now(),
        data,
    };
    if is_inbox_subject(subject) {
        note_activity(tx, subject, kind)?;
    }
    tx.put_json(keys::tenant::event(subject, &event.id), &event)
}

/// Conversations and tickets feed the agents' live inbox.
fn is_inbox_subject(subject: &str) -> bool {
    subject.starts_with("cnv_") || subject.starts_with("tkt_")
}

/// One entry of the tenant's activity stream, which the agents' inbox follows.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Activity {
    pub subject: String,
    pub kind: String,
}

/// Appends to the activity stream. Entries are numbered in commit order (a commit-ordered log,
/// see [`crate::ports::WriteBatch::appends`]), so an inbox cursor is just the last key read:
/// an entry minted earlier but committed later still lands after it.
pub fn note_activity<S: crate::ports::Storage>(
    tx: &mut Tx<'_, S>,
    subject: &str,
    kind: &str,
) -> Result<(), ApiError> {
    tx.append_json(
        keys::tenant::ACTIVITY_LOG,
        &Activity {
            subject: subject.to_owned(),
            kind: kind.to_owned(),
        },
    )
}

/// `{field: {from, to}}` for fields that differ between two JSON renderings of a record.
pub fn diff<T: Serialize>(before: &T, after: &T) -> serde_json::Value {
    let (Ok(serde_json::Value::Object(b)), Ok(serde_json::Value::Object(a))) =
        (crate::http::to_value(before), crate::http::to_value(after))
    else {
        return serde_json::Value::Null;
    };
    let mut out = serde_json::Map::new();
    for (k, av) in &a {
        if matches!(k.as_str(), "version" | "updated_at") {
            continue;
        }
        let bv = b.get(k).unwrap_or(&serde_json::Value::Null);
        if bv != av {
            out.insert(k.clone(), serde_json::json!({"from": bv, "to": av}));
        }
    }
    serde_json::Value::Object(out)
}

/// A response kept for an `Idempotency-Key`, replayed on retries.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredResponse {
    fingerprint: String,
    status: u16,
    body: serde_json::Value,
    version: Option<u64>,
    at: DateTime<Utc>,
}

/// An `Idempotency-Key` in force for a request.
pub struct Idempotency {
    storage_key: String,
    fingerprint: String,
}

/// How long a stored response is replayed.
const IDEMPOTENCY_HOURS: i64 = 24;

impl Idempotency {
    /// Reads the header; keys are scoped to the caller so two clients never collide.
    pub fn from_request(req: &Request, principal: &Principal) -> Result<Option<Self>, ApiError> {
        let Some(value) = req.headers().get("idempotency-key") else {
            return Ok(None);
        };
        let key = value
            .to_str()
            .ok()
            .filter(|k| {
                !k.is_empty()
                    && k.len() <= limits::MAX_IDEMPOTENCY_KEY_CHARS
                    && k.bytes().all(|b| b.is_ascii_graphic())
            })
            .ok_or_else(|| {
                ApiError::bad_request(
                    "invalid_idempotency_key",
                    "Idempotency-Key must be 1 to 255 visible ASCII characters",
                )
            })?;
        let mut h = Sha256::new();
        h.update(req.method().as_str());
        h.update(b" ");
        h.update(req.uri().path());
        h.update(b"\n");
        h.update(req.body());
        Ok(Some(Self {
            storage_key: crate::keys::idempotency(
                &principal.id,
                &hex::encode(Sha256::digest(key.as_bytes())),
            ),
            fingerprint: hex::encode(h.finalize()),
        }))
    }

    /// Inside the transaction: the stored response if this is a retry.
    pub async fn replay<S: crate::ports::Storage>(
        &self,
        tx: &mut Tx<'_, S>,
        now: DateTime<Utc>,
    ) -> Result<Option<Response>, ApiError> {
        let Some(stored) = tx.get_json::<StoredResponse>(&self.storage_key).await? else {
            return Ok(None);
        };
        if (now - stored.at).num_hours() >= IDEMPOTENCY_HOURS {
            return Ok(None);
        }
        if stored.fingerprint != self.fingerprint {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "this Idempotency-Key was used with a different request",
            ));
        }
        let status = StatusCode::from_u16(stored.status).map_err(ApiError::internal_from)?;
        let mut resp = match stored.version {
            Some(v) => json_versioned(status, &stored.body, v)?,
            None => json(status, &stored.body)?,
        };
        resp.headers_mut().insert(
            "idempotent-replayed",
            http::HeaderValue::from_static("true"),
        );
        Ok(Some(resp))
    }

    /// Inside the transaction: keeps the response for retries.
    pub fn store<S: crate::ports::Storage, T: Serialize>(
        &self,
        tx: &mut Tx<'_, S>,
        now: DateTime<Utc>,
        status: StatusCode,
        body: &T,
        version: Option<u64>,
    ) -> Result<(), ApiError> {
        let stored = StoredResponse {
            fingerprint: self.fingerprint.clone(),
            status: status.as_u16(),
            body: crate::http::to_value(body)?,
            version,
            at: now,
        };
        tx.put_json(self.storage_key.clone(), &stored)
    }
}

/// A page of a list endpoint.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub data: Vec<T>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct CursorData {
    /// The last storage key returned.
    k: String,
    /// The tenant the cursor belongs to.
    t: String,
    /// Fingerprint of the filters the cursor was made with.
    f: String,
}

/// Records examined per request at most; past it the page is returned short, with a cursor.
const SCAN_BUDGET: usize = 5_000;

/// Pages through records under `prefix` (newest first), keeping those `keep` accepts.
/// The cursor is bound to the tenant and the filters: a cursor from another tenant or
/// another filter is refused rather than silently mis-applied.
pub async fn paginate<P: Platform, T: DeserializeOwned>(
    ctx: &Ctx<'_, P>,
    actor: &str,
    prefix: &str,
    reverse: bool,
    limit: Option<usize>,
    cursor: Option<&str>,
    filter_fingerprint: &str,
    keep: impl Fn(&T) -> bool,
) -> Result<Page<T>, ApiError> {
    let limit = limit.unwrap_or(limits::DEFAULT_PAGE_SIZE);
    if limit == 0 || limit > limits::MAX_PAGE_SIZE {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("limit must be 1 to {}", limits::MAX_PAGE_SIZE),
        ));
    }
    let tenant = ctx.tenant_id.to_string();
    let mut after = match cursor {
        None => None,
        Some(c) => {
            let data: CursorData = URL_SAFE_NO_PAD
                .decode(c)
                .ok()
                .and_then(|b| edgedesk_json::from_slice(&b).ok())
                .ok_or_else(invalid_cursor)?;
            if data.t != tenant || data.f != filter_fingerprint || !data.k.starts_with(prefix) {
                return Err(invalid_cursor());
            }
            Some(data.k)
        }
    };
    let mut items = Vec::new();
    let mut last_key = None;
    let mut examined = 0;
    let mut exhausted = false;
    while items.len() < limit && examined < SCAN_BUDGET {
        let chunk = (limit * 2).clamp(20, 200);
        let scan = Scan {
            prefix: prefix.to_owned(),
            after: after.clone(),
            limit: chunk,
            reverse,
        };
        let rows = scan_json::<_, T>(ctx.p, actor, &scan).await?;
        let n = rows.len();
        for (k, v) in rows {
            examined += 1;
            after = Some(k.clone());
            if keep(&v) {
                items.push(v);
                last_key = Some(k);
                if items.len() == limit {
                    break;
                }
            } else {
                last_key = Some(k);
            }
        }
        if n < chunk && items.len() < limit {
            exhausted = true;
            break;
        }
    }
    let next_cursor = match (exhausted, last_key) {
        (false, Some(k)) => {
            let data = CursorData {
                k,
                t: tenant,
                f: filter_fingerprint.to_owned(),
            };
            Some(URL_SAFE_NO_PAD.encode(serde_json::to_vec(&data)?))
        }
        _ => None,
    };
    Ok(Page {
        data: items,
        next_cursor,
    })
}

fn invalid_cursor() -> ApiError {
    ApiError::bad_request(
        "invalid_cursor",
        "cursor is not valid for this list and these filters",
    )
}

/// A stable fingerprint of a query's filters (everything but `limit` and `cursor`).
pub fn filter_fingerprint<T: Serialize>(filters: &T) -> String {
    let text = serde_json::to_string(filters).unwrap_or_default();
    hex::encode(&Sha256::digest(text.as_bytes())[..8])
}

/// An actor that is not the request's principal: the bot, a rule, a contact writing through a
/// channel.
pub fn system_actor(kind: ActorKind, id: String) -> Actor {
    Actor { kind, id: Some(id) }
}

#[cfg(test)]
mod tests {
    use super::random_hex;
    use crate::ports::Entropy;
    use std::cell::Cell;

    /// Counts up from 0: each byte asked for is the next number.
    struct Counter(Cell<u8>);

    impl Entropy for Counter {
        fn fill(&self, buf: &mut [u8]) {
            for b in buf {
                *b = self.0.get();
                self.0.set(self.0.get().wrapping_add(1));
            }
        }
    }

    #[test]
    fn random_hex_gives_as_many_random_bytes_as_asked_in_lowercase_hex() {
        let entropy = Counter(Cell::new(0x0a));
        assert_eq!(random_hex(&entropy, 3), "0a0b0c");
        assert_eq!(random_hex(&entropy, 32).len(), 64);
        assert_eq!(random_hex(&entropy, 0), "");
    }
}

/// The tenant a channel belongs to, from the directory: what a channel's unauthenticated
/// inbound webhook (API or email) reads before it knows its tenant.
pub async fn channel_tenant<P: Platform>(
    p: &P,
    id: &edgedesk_shared::ids::ChannelId,
) -> Result<TenantId, ApiError> {
    let raw: Vec<u8> = p
        .get(
            crate::keys::GLOBAL,
            &crate::keys::global::channel_tenant(id),
        )
        .await?
        .ok_or_else(|| ApiError::not_found("channel"))?;
    std::str::from_utf8(&raw)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(ApiError::internal)
}
