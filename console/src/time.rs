//! Human-readable times: "3 min" in lists, local clock times in a conversation.
//!
//! The clock is the browser's; it comes in as an argument so the wording is testable. Local
//! times take the browser's UTC offset (minutes east of UTC) for the same reason.

use chrono::{DateTime, Duration, FixedOffset, Utc};

use crate::i18n::Locale;

/// A short relative age: "now", "4m", "3h", "2d", then the date.
pub fn ago(now: DateTime<Utc>, then: DateTime<Utc>, locale: Locale, offset_minutes: i32) -> String {
    let elapsed = now - then;
    let zh = locale == Locale::ZhCn;
    if elapsed < Duration::minutes(1) {
        return if zh { "刚刚" } else { "now" }.to_owned();
    }
    if elapsed < Duration::hours(1) {
        let m = elapsed.num_minutes();
        return if zh {
            format!("{m} 分钟前")
        } else {
            format!("{m}m")
        };
    }
    if elapsed < Duration::days(1) {
        let h = elapsed.num_hours();
        return if zh {
            format!("{h} 小时前")
        } else {
            format!("{h}h")
        };
    }
    if elapsed < Duration::days(7) {
        let d = elapsed.num_days();
        return if zh {
            format!("{d} 天前")
        } else {
            format!("{d}d")
        };
    }
    local(then, offset_minutes).format("%Y-%m-%d").to_string()
}

/// A timestamp in the browser's time zone: "14:05" today, "03-04 14:05" this year, or the
/// full date otherwise.
pub fn stamp(now: DateTime<Utc>, t: DateTime<Utc>, offset_minutes: i32) -> String {
    let (now_l, t_l) = (local(now, offset_minutes), local(t, offset_minutes));
    if now_l.date_naive() == t_l.date_naive() {
        t_l.format("%H:%M").to_string()
    } else if now_l.format("%Y").to_string() == t_l.format("%Y").to_string() {
        t_l.format("%m-%d %H:%M").to_string()
    } else {
        t_l.format("%Y-%m-%d %H:%M").to_string()
    }
}

fn local(t: DateTime<Utc>, offset_minutes: i32) -> DateTime<FixedOffset> {
    let offset = FixedOffset::east_opt(offset_minutes.clamp(-18 * 60, 18 * 60) * 60)
        .unwrap_or_else(|| FixedOffset::east_opt(0).expect("zero is a valid offset"));
    t.with_timezone(&offset)
}

/// Reads an RFC 3339 time (what the API sends); `None` for anything else.
pub fn parse(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, 4, h, m, 0)
            .single()
            .expect("valid time")
    }

    #[test]
    fn recent_times_read_as_short_ages_in_both_languages() {
        let now = t(12, 0);
        assert_eq!(ago(now, t(11, 59), Locale::En, 0), "1m");
        assert_eq!(ago(now, now, Locale::En, 0), "now");
        assert_eq!(ago(now, t(9, 0), Locale::En, 0), "3h");
        assert_eq!(ago(now, t(9, 0), Locale::ZhCn, 0), "3 小时前");
        assert_eq!(ago(now, now - Duration::days(2), Locale::En, 0), "2d");
        assert_eq!(
            ago(now, now - Duration::days(30), Locale::En, 0),
            "2025-02-02"
        );
    }

    #[test]
    fn stamps_use_the_browser_offset_and_drop_todays_date() {
        let now = t(12, 0);
        assert_eq!(stamp(now, t(11, 5), 0), "11:05");
        assert_eq!(stamp(now, t(11, 5), 8 * 60), "19:05");
        assert_eq!(stamp(now, t(11, 5) - Duration::days(1), 0), "03-03 11:05");
        assert_eq!(
            stamp(now, t(11, 5) - Duration::days(400), 0),
            "2024-01-29 11:05"
        );
    }

    #[test]
    fn a_time_in_the_future_reads_as_now_and_bad_offsets_are_clamped() {
        assert_eq!(ago(t(12, 0), t(12, 30), Locale::En, 0), "now");
        assert_eq!(stamp(t(12, 0), t(11, 0), 99_999), "05:00");
    }

    #[test]
    fn only_rfc3339_times_parse() {
        assert_eq!(parse("2025-03-04T12:00:00Z"), Some(t(12, 0)));
        assert_eq!(parse("2025-03-04T20:00:00+08:00"), Some(t(12, 0)));
        assert_eq!(parse("yesterday"), None);
    }
}
