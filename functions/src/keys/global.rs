//! Keys of the directory actor ([`super::GLOBAL`]): what a request must find before it knows
//! its tenant.

use edgedesk_shared::ids::ChannelId;

/// The agent who signs in with `email` and their tenant; one entry per email, so an email
/// signs in to one workspace. Emails are compared trimmed and lowercase.
pub fn login(email: &str) -> String {
    format!("login:{}", email.trim().to_lowercase())
}

/// Recent failed sign-ins for an email (by the SHA-256 hex of the trimmed, lowercase email),
/// which pause sign-in after too many.
pub fn login_failures(email_digest: &str) -> String {
    format!("login_fail:{email_digest}")
}

/// When a setup link (by the SHA-256 hex of its token) expires.
pub fn setup_token(token_digest: &str) -> String {
    format!("setup_token:{token_digest}")
}

/// The id of the first tenant, once setup made it: setup links stop working.
pub const SETUP_DONE: &str = "setup_done";

/// The id of the tenant an API channel belongs to, so its unauthenticated inbound webhook
/// finds the tenant. (The tenant holds the channel itself under the same key,
/// [`super::tenant::channel`].)
pub fn channel_tenant(id: &ChannelId) -> String {
    format!("channel:{id}")
}

/// The tenant and email channel that receive mail for a support address (lowercase), so a
/// host's SMTP listener or Email Routing finds them; one channel per address.
pub fn mailbox(address: &str) -> String {
    format!("mailbox:{}", address.trim().to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directory_keys_stay_as_stored() {
        let channel: ChannelId = "chn_01J8Z3Q4W5E6R7T8Y9V0A1B2C3".parse().expect("an id");
        assert_eq!(login(" Grace@Example.com "), "login:grace@example.com");
        assert_eq!(login_failures("ab12"), "login_fail:ab12");
        assert_eq!(setup_token("cd34"), "setup_token:cd34");
        assert_eq!(SETUP_DONE, "setup_done");
        assert_eq!(
            channel_tenant(&channel),
            "channel:chn_01J8Z3Q4W5E6R7T8Y9V0A1B2C3"
        );
    }
}
