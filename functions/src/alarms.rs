//! Timers: work due at an instant (a snoozed conversation waking up, an SLA warning or
//! deadline, a webhook delivery or its retry).
//!
//! Due work is stored as `due:<ms>:<job id>` records in the scheduler actor
//! ([`crate::keys::scheduler`]), so it survives restarts, and `crate::flows::sweep` runs every
//! entry whose time has come. Deleting the entry and doing the work are separate commits, but
//! the delete is checked and every job is idempotent, so an entry fires once even if two
//! sweeps overlap or a host restarts mid-sweep. The [`Alarms`] port asks the runtime to run a
//! sweep at the next due time (a Durable Object alarm on Cloudflare); hosts without alarms
//! sweep on a short interval or from a scheduled call to `POST /v1/system/sweep`.
//!
//! [`Alarms`]: crate::ports::Alarms

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ctx::id_parts;
use crate::error::ApiError;
use crate::keys;
use crate::ports::Platform;
use crate::store::transact;
use edgedesk_shared::ids::{ConversationId, TenantId};

/// Work to do at a time. Decoded by hand (see the `Deserialize` impl below); the attributes
/// here shape its encoding.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Job {
    /// Reopen a conversation snoozed until `until`, unless it was changed since.
    Unsnooze {
        tenant_id: TenantId,
        conversation_id: ConversationId,
        until: DateTime<Utc>,
    },
    /// Act on the SLA warnings and breaches of a ticket or conversation that are due.
    Sla {
        tenant_id: TenantId,
        /// The ticket or conversation id.
        subject: String,
    },
    /// Try to send a webhook from the outbox.
    Webhook {
        tenant_id: TenantId,
        delivery: String,
    },
    /// Evaluate the tenant's `time_elapsed` automation rules over its open conversations and
    /// tickets (hourly, while such rules exist).
    AutomationTick { tenant_id: TenantId },
    /// Try to send a mail from the email outbox.
    Mail {
        tenant_id: TenantId,
        delivery: String,
    },
    /// Mail the daily digest to the tenant's agents who asked for it.
    MailDigest { tenant_id: TenantId },
    /// Look again at who is online when the last live `Online` report known at `until`
    /// expires, so the tenant's public channel stops saying someone is online when the
    /// console that said so went quiet.
    PublicRecheck {
        tenant_id: TenantId,
        until: DateTime<Utc>,
    },
}

edgedesk_shared::tag_set! {
    /// The job kinds, as `kind` names them.
    enum JobKind {
        Unsnooze = "unsnooze",
        Sla = "sla",
        Webhook = "webhook",
        AutomationTick = "automation_tick",
        Mail = "mail",
        MailDigest = "mail_digest",
        PublicRecheck = "public_recheck",
    }
}

/// Every field a job has, whatever its kind.
const JOB_FIELDS: &[&str] = &[
    "kind",
    "tenant_id",
    "conversation_id",
    "until",
    "subject",
    "delivery",
];

/// serde's derive for an internally tagged enum buffers the object and runs a decoder per
/// variant over the buffer (about 12 KB of WebAssembly with its encoder for this enum); every
/// sweep decodes jobs. One pass over the fields takes what the derive took (unknown fields
/// ignored) with the same messages.
impl<'de> Deserialize<'de> for Job {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(JobVisitor)
    }
}

struct JobVisitor;

impl<'de> serde::de::Visitor<'de> for JobVisitor {
    type Value = Job;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        // As the derived decoder said it.
        f.write_str("internally tagged enum Job")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Job, A::Error> {
        use edgedesk_shared::tagged::field;
        use serde::de::{Error, IgnoredAny};
        let mut kind = None;
        let mut tenant_id = None;
        let mut conversation_id = None;
        let mut until = None;
        let mut subject = None;
        let mut delivery = None;
        while let Some(key) = map.next_key::<String>()? {
            let Some(name) = field(&key, JOB_FIELDS) else {
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            let seen = match name {
                "kind" => kind.replace(map.next_value::<JobKind>()?).is_some(),
                "tenant_id" => tenant_id.replace(map.next_value()?).is_some(),
                "conversation_id" => conversation_id.replace(map.next_value()?).is_some(),
                "until" => until.replace(map.next_value()?).is_some(),
                "subject" => subject.replace(map.next_value()?).is_some(),
                _ => delivery.replace(map.next_value()?).is_some(),
            };
            if seen {
                return Err(A::Error::duplicate_field(name));
            }
        }
        fn needs<T, E: Error>(value: Option<T>, name: &'static str) -> Result<T, E> {
            value.ok_or_else(|| E::missing_field(name))
        }
        let kind = needs(kind, "kind")?;
        let tenant_id = needs(tenant_id, "tenant_id")?;
        Ok(match kind {
            JobKind::Unsnooze => Job::Unsnooze {
                tenant_id,
                conversation_id: needs(conversation_id, "conversation_id")?,
                until: needs(until, "until")?,
            },
            JobKind::Sla => Job::Sla {
                tenant_id,
                subject: needs(subject, "subject")?,
            },
            JobKind::Webhook => Job::Webhook {
                tenant_id,
                delivery: needs(delivery, "delivery")?,
            },
            JobKind::AutomationTick => Job::AutomationTick { tenant_id },
            JobKind::Mail => Job::Mail {
                tenant_id,
                delivery: needs(delivery, "delivery")?,
            },
            JobKind::MailDigest => Job::MailDigest { tenant_id },
            JobKind::PublicRecheck => Job::PublicRecheck {
                tenant_id,
                until: needs(until, "until")?,
            },
        })
    }
}

/// Stores `job` to run at `at` and asks the runtime for a wake-up.
pub async fn schedule<P: Platform>(p: &P, at: DateTime<Utc>, job: &Job) -> Result<(), ApiError> {
    let (ms, r) = id_parts(p);
    let key = keys::scheduler::due_job(at, &format!("{ms:x}{r:x}"));
    transact(p, keys::SCHEDULER, async |tx| tx.put_json(key.clone(), job)).await?;
    p.set_alarm(at).await?;
    Ok(())
}

#[cfg(test)]
mod decode_tests {
    //! The hand-written decoder against the decoder serde derives for the same enum.

    use super::*;

    /// What `Job` was before its decoder was written by hand.
    #[derive(Debug, Serialize, Deserialize)]
    #[serde(tag = "kind", rename_all = "snake_case")]
    enum Derived {
        Unsnooze {
            tenant_id: TenantId,
            conversation_id: ConversationId,
            until: DateTime<Utc>,
        },
        Sla {
            tenant_id: TenantId,
            subject: String,
        },
        Webhook {
            tenant_id: TenantId,
            delivery: String,
        },
        AutomationTick {
            tenant_id: TenantId,
        },
        Mail {
            tenant_id: TenantId,
            delivery: String,
        },
        MailDigest {
            tenant_id: TenantId,
        },
        PublicRecheck {
            tenant_id: TenantId,
            until: DateTime<Utc>,
        },
    }

    #[test]
    fn the_hand_written_decoder_accepts_and_refuses_what_the_derived_one_does() {
        let tenant = TenantId::from_parts(1_700_000_000_000, 7).to_string();
        let conversation = ConversationId::from_parts(1_700_000_000_000, 9).to_string();
        let cases = [
            format!(
                r#"{{"kind":"unsnooze","tenant_id":"{tenant}","conversation_id":"{conversation}","until":"2026-01-05T09:00:00Z"}}"#
            ),
            format!(
                r#"{{"until":"2026-01-05T09:00:00+01:00","conversation_id":"{conversation}","tenant_id":"{tenant}","kind":"unsnooze"}}"#
            ),
            format!(r#"{{"kind":"sla","tenant_id":"{tenant}","subject":"tkt_1"}}"#),
            format!(r#"{{"kind":"webhook","tenant_id":"{tenant}","delivery":"d1","attempt":3}}"#),
            format!(r#"{{"kind":"automation_tick","tenant_id":"{tenant}"}}"#),
            r#"{"kind":"automation_tick"}"#.to_owned(),
            // Refused: no kind, an unknown kind, a missing field, a field twice.
            format!(r#"{{"tenant_id":"{tenant}","subject":"tkt_1"}}"#),
            format!(r#"{{"kind":"email","tenant_id":"{tenant}"}}"#),
            format!(r#"{{"kind":"mail","tenant_id":"{tenant}","delivery":"mlo_1"}}"#),
            format!(r#"{{"kind":"mail","tenant_id":"{tenant}"}}"#),
            format!(r#"{{"kind":"mail_digest","tenant_id":"{tenant}"}}"#),
            format!(
                r#"{{"kind":"public_recheck","tenant_id":"{tenant}","until":"2026-01-05T09:05:00Z"}}"#
            ),
            format!(r#"{{"kind":"public_recheck","tenant_id":"{tenant}"}}"#),
            // Refused: an unknown kind with the fields of the last one, or spelt differently.
            format!(r#"{{"kind":"email","tenant_id":"{tenant}","delivery":"dlv_1"}}"#),
            format!(r#"{{"kind":"Webhook","tenant_id":"{tenant}","delivery":"dlv_1"}}"#),
            format!(r#"{{"kind":"sla","tenant_id":"{tenant}"}}"#),
            r#"{"kind":"sla","subject":"tkt_1"}"#.to_owned(),
            format!(
                r#"{{"kind":"unsnooze","tenant_id":"{tenant}","conversation_id":"{conversation}"}}"#
            ),
            format!(r#"{{"kind":"sla","tenant_id":"{tenant}","subject":"a","subject":"b"}}"#),
            // Refused: a value of the wrong type or form.
            r#"{"kind":"sla","tenant_id":"not an id","subject":"tkt_1"}"#.to_owned(),
            format!(r#"{{"kind":"webhook","tenant_id":"{tenant}","delivery":5}}"#),
            format!(
                r#"{{"kind":"unsnooze","tenant_id":"{tenant}","conversation_id":"{conversation}","until":"soon"}}"#
            ),
            r#"null"#.to_owned(),
        ];
        let cases: Vec<&str> = cases.iter().map(String::as_str).collect();
        edgedesk_shared::tagged::testing::assert_decodes_as_derived::<Job, Derived>("Job", &cases);
    }
}
