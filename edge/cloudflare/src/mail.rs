//! Email on Cloudflare: Email Routing hands each mail for the tenants' support addresses to
//! the Worker's `email` handler, which delivers it to the functions the way the local host's
//! SMTP listener does (`edgedesk_functions::deliver_mail`, what `POST /v1/system/mail` runs); and the functions' mail relay
//! (`http://mail-relay.invalid/v1/send`, see `edgedesk_functions::domain::email::transport`)
//! sends through the channel's `send_email` binding.

use base64::Engine;
use serde::Deserialize;
use worker::{event, Context, Env, ForwardableEmailMessage};

use crate::platform::CfPlatform;

/// Delivers one routed mail. A mailbox nobody here has is refused (Email Routing bounces it
/// with the reason); a mail the functions refuse for good is refused with their message; any
/// other failure is raised, so Email Routing reports a temporary failure and the sender's
/// server tries again.
#[event(email)]
pub async fn email(
    message: ForwardableEmailMessage,
    env: Env,
    _ctx: Context,
) -> worker::Result<()> {
    crate::datasets::ensure(&env).await?;
    let p = CfPlatform::new(env);
    let raw = message.raw_bytes().await?;
    let mut resp = edgedesk_functions::deliver_mail(&p, &message.to(), &raw).await;
    crate::entry::take_labels(&mut resp);
    let status = resp.status().as_u16();
    let said = || {
        serde_json::from_slice::<serde_json::Value>(resp.body())
            .ok()
            .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
            .unwrap_or_else(|| format!("refused ({status})"))
    };
    match status {
        200..=299 => Ok(()),
        404 => reject(&message, "550 5.1.1 no such mailbox here").await,
        400 | 413 | 422 => reject(&message, &format!("554 5.6.0 {}", said())).await,
        _ => Err(worker::Error::RustError(format!(
            "mail not taken, try again later: {}",
            said()
        ))),
    }
}

/// Refuses the mail with `reason`. `setReject` answers nothing in production, but a promise
/// where the message is a stub of another isolate (as under `wrangler dev`): it is awaited, so
/// the refusal is made before the handler returns.
async fn reject(message: &ForwardableEmailMessage, reason: &str) -> worker::Result<()> {
    use wasm_bindgen::JsCast;
    let set_reject: js_sys::Function =
        js_sys::Reflect::get(message.as_ref(), &"setReject".into())?.dyn_into()?;
    let answer = set_reject.call1(message.as_ref(), &reason.into())?;
    if let Ok(promise) = answer.dyn_into::<js_sys::Promise>() {
        wasm_bindgen_futures::JsFuture::from(promise).await?;
    }
    Ok(())
}

#[derive(Deserialize)]
struct RelayRequest {
    transport: RelayTransport,
    from: String,
    to: Vec<String>,
    raw: String,
}

#[derive(Deserialize)]
struct RelayTransport {
    kind: String,
    #[serde(default)]
    binding: Option<String>,
}

/// Answers a relay request of the functions: sends through the `send_email` binding the
/// channel names, one message per recipient (an `EmailMessage` has one envelope recipient).
pub async fn relay(env: &Env, body: &[u8]) -> (u16, Vec<u8>) {
    let answer = |status: u16, code: &str, message: String| {
        let v = serde_json::json!({"error": {"code": code, "message": message}});
        (status, serde_json::to_vec(&v).unwrap_or_default())
    };
    let req: RelayRequest = match serde_json::from_slice(body) {
        Ok(r) => r,
        Err(e) => return answer(400, "bad_request", e.to_string()),
    };
    if req.transport.kind != "cloudflare" {
        return answer(
            501,
            "unsupported_transport",
            format!("the Worker cannot send by {}", req.transport.kind),
        );
    }
    let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(&req.raw) else {
        return answer(400, "bad_request", "raw is not base64".into());
    };
    let binding = req.transport.binding.unwrap_or_else(|| "EMAIL".into());
    let sender = match env.send_email(&binding) {
        Ok(s) => s,
        Err(e) => {
            return answer(
                422,
                "rejected",
                format!("no send_email binding {binding} in wrangler.toml: {e}"),
            )
        }
    };
    // Composed mail is 7-bit (encoded words, quoted-printable, base64), so it is text.
    let text = String::from_utf8_lossy(&raw);
    let mut ids = Vec::new();
    for to in &req.to {
        let message = match worker::EmailMessage::new(&req.from, to, &text) {
            Ok(m) => m,
            Err(e) => return answer(422, "rejected", format!("{e:?}")),
        };
        match sender.send(&message).await {
            Ok(result) => ids.push(result.message_id()),
            // The binding refuses an unverified or suppressed recipient: not worth a retry.
            Err(e) => return answer(422, "rejected", format!("{to}: {e:?}")),
        }
    }
    let ok = serde_json::json!({"id": ids.join(", ")});
    (200, serde_json::to_vec(&ok).unwrap_or_default())
}
