//! The email channel's records: the channels and the mailbox directory (`channels`), threads
//! and how a received mail finds its conversation (`threads`), mail kept aside and the
//! addresses that bounce (`intake`), and the outbox that sends the team's replies (`outbox`,
//! through `transport`).

pub mod channels;
pub mod intake;
pub mod notices;
pub mod outbox;
pub mod threads;
pub mod transport;

use sha2::{Digest, Sha256};

/// The SHA-256 hex of a Message-ID, lowercase and without brackets: what thread keys hold.
pub fn id_digest(message_id: &str) -> String {
    let id = message_id
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>');
    hex::encode(Sha256::digest(id.to_lowercase().as_bytes()))
}
