//! Keys of the scheduler's actor ([`super::SCHEDULER`]): jobs due at a time.

use chrono::{DateTime, Utc};

/// A job due at `at` (`id` tells jobs due at the same millisecond apart). The time is
/// zero-padded milliseconds since the epoch, so keys sort by when they are due.
pub fn due_job(at: DateTime<Utc>, id: &str) -> String {
    format!("due:{:015}:{id}", at.timestamp_millis().max(0))
}
/// Prefix of every [`due_job`], earliest first.
pub const DUE_JOBS: &str = "due:";

/// When a [`due_job`] key is due, or `None` for any other key.
pub fn due_at(key: &str) -> Option<DateTime<Utc>> {
    let ms = key.strip_prefix(DUE_JOBS)?.get(..15)?;
    DateTime::from_timestamp_millis(ms.parse().ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(ms).expect("a time")
    }

    #[test]
    fn due_job_keys_stay_as_stored() {
        assert_eq!(
            due_job(at(1_767_600_000_000), "18f2a"),
            "due:001767600000000:18f2a"
        );
        assert_eq!(due_job(at(-5), "x"), "due:000000000000000:x");
    }

    #[test]
    fn due_jobs_sort_by_when_they_are_due_and_tell_it_back() {
        let keys: Vec<String> = [9, 10, 1_767_600_000_000]
            .map(|ms| due_job(at(ms), "ffff"))
            .to_vec();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(sorted, keys);
        assert!(keys.iter().all(|k| k.starts_with(DUE_JOBS)));
        assert_eq!(due_at(&keys[2]), Some(at(1_767_600_000_000)));
        assert_eq!(due_at("due:soon"), None);
    }
}
