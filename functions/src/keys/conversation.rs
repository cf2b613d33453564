//! Keys of a conversation's actor ([`super::conversation_actor`]): its messages and what must
//! commit with them (the sequence head, live state, the bot's dialogue state). The record the
//! inbox lists is the tenant's ([`super::tenant::conversation`]).

/// The sequence number of the conversation's newest message.
pub const HEAD: &str = "head";

/// The message numbered `seq` (from 1); fixed-width decimal, so keys sort as their numbers.
pub fn message(seq: u64) -> String {
    format!("msg:{seq:020}")
}
/// Prefix of every [`message`].
pub const MESSAGES: &str = "msg:";

/// The sequence number of the message a channel delivered with this external id, so a
/// redelivery finds it instead of adding it twice.
pub fn message_by_external_id(external_id: &str) -> String {
    format!("msg_ext:{external_id}")
}

/// What is visible in real time besides messages: typing and read receipts.
pub const LIVE: &str = "live";

/// The bot's dialogue state and the last contact message it answered.
pub const BOT_STATE: &str = "bot";

/// The conversation's status as its visitor sees it, copied from the tenant's record when it
/// changes: the write wakes the feeds that watch this actor, so a visitor hears of a
/// resolution without watching the whole tenant.
pub const STATUS: &str = "status";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversation_keys_stay_as_stored() {
        assert_eq!(message(42), "msg:00000000000000000042");
        assert_eq!(message_by_external_id("ext-1"), "msg_ext:ext-1");
        assert_eq!(
            [HEAD, LIVE, BOT_STATE, STATUS],
            ["head", "live", "bot", "status"]
        );
    }

    #[test]
    fn message_keys_sort_as_their_sequence_numbers() {
        let keys: Vec<String> = [0, 1, 9, 10, 99, 100, u64::MAX].map(message).to_vec();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(sorted, keys);
    }

    #[test]
    fn the_message_prefix_scans_messages_and_nothing_else() {
        assert!(message(1).starts_with(MESSAGES));
        for other in [HEAD, LIVE, BOT_STATE, STATUS].map(str::to_owned) {
            assert!(!other.starts_with(MESSAGES), "{other}");
        }
        assert!(!message_by_external_id("ext-1").starts_with(MESSAGES));
    }
}
