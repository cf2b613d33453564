//! Entity extraction: order numbers (tenant-defined patterns), emails, phone numbers, amounts with
//! currency, and dates and times in English and Chinese, relative ones resolved from a given `now`
//! in a given IANA timezone.
//!
//! Candidates of every kind are collected, then resolved so spans never overlap: emails win over
//! order numbers, which win over dates, amounts and phone numbers (an order number such as
//! `20240315001` must not become a date or a phone number). Offsets are byte offsets into the
//! text as given.
//!
//! Calendar arithmetic is done on local dates, never by adding 24-hour durations, so "tomorrow"
//! and "in 3 days" keep their wall-clock meaning across daylight-saving changes; "in 3 hours" is
//! an elapsed duration. A local time that does not exist (skipped by a DST change) moves forward
//! to the first one that does; an ambiguous one (repeated) takes the earlier instant.

use chrono::{
    DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Offset,
    TimeZone, Utc, Weekday,
};
use edgedesk_tz::Zone;
use regex_lite::{Captures, Regex, RegexBuilder};
use serde::{Deserialize, Serialize};

use crate::NlpError;

/// A tenant's order-number pattern, e.g. `ORD-\d{6}`: the `regex` crate's syntax with ASCII-only
/// classes (`regex-lite`: `\d`, `\s`, `\w`, `\b` and `(?i)` cover ASCII; `\p{..}` is refused).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderPattern {
    pub name: String,
    pub regex: String,
}

/// Per-tenant extraction settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtractorConfig {
    pub order_patterns: Vec<OrderPattern>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    OrderNumber,
    Email,
    Phone,
    Amount,
    DateTime,
}

/// The normalised value of an entity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EntityValue {
    /// An order number and the name of the pattern that matched it.
    Order { pattern: String, value: String },
    /// An email address, lower-cased.
    Email { value: String },
    /// A phone number: digits with a leading `+` when one was written.
    Phone { value: String },
    /// An amount as a plain decimal string ("1234.50") with an ISO 4217 currency code.
    Amount { amount: String, currency: String },
    /// A date, with a time when one was given, and the instant it denotes in the timezone
    /// (local midnight for a date alone).
    DateTime {
        date: NaiveDate,
        time: Option<NaiveTime>,
        instant: DateTime<FixedOffset>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entity {
    pub kind: EntityKind,
    pub start: usize,
    pub end: usize,
    pub text: String,
    pub value: EntityValue,
}

/// Compiled extractor for one tenant. Build once, use for many messages.
#[derive(Debug, Clone)]
pub struct Extractor {
    orders: Vec<(String, Regex)>,
    email: Regex,
    phone: Regex,
    amount_pre: Regex,
    amount_post: Regex,
    date_rules: Vec<(Regex, DateRule)>,
    time_rules: Vec<(Regex, TimeRule)>,
}

#[derive(Debug, Clone, Copy)]
enum DateRule {
    EnDay,
    EnWeekday,
    EnOffset,
    EnAgo,
    EnPeriod,
    Iso,
    EnMonthDay,
    EnDayMonth,
    ZhDay,
    ZhWeekday,
    ZhOffset,
    ZhPeriod,
    ZhDate,
}

#[derive(Debug, Clone, Copy)]
enum TimeRule {
    EnAmPm,
    Clock,
    EnWord,
    Zh,
}

/// What a date or time span means before it is combined and resolved.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Spec {
    /// A local date; `evening` marks "tonight"/"今晚" so a following "8" means 20:00.
    Date {
        date: NaiveDate,
        evening: bool,
    },
    /// An instant given as an elapsed duration from now.
    Instant(DateTime<Utc>),
    Time(NaiveTime),
}

const EN_NUM: &str =
    r"\d+|an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|a couple of|a few";
const EN_WEEKDAY: &str = r"monday|tuesday|wednesday|thursday|friday|saturday|sunday|mon|tues|tue|wed|thurs|thur|thu|fri|sat|sun";
const EN_MONTH: &str = r"january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec";
const ZH_NUM: &str = r"[0-9]+|[零一二三四五六七八九十两半]+";

/// Unicode's White_Space set, which the built-in patterns mean by `\s`: Chinese text puts
/// ideographic (U+3000) and no-break spaces between words and numbers, and regex-lite's own
/// `\s` is ASCII only.
const WHITE_SPACE: &str =
    r"\x09-\x0D\x20\x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}";

/// Compiles a built-in pattern, with `\s` standing for [`WHITE_SPACE`].
fn re(pattern: &str) -> Regex {
    let mut spelled = String::with_capacity(pattern.len() * 2);
    let mut in_class = false;
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('s') if in_class => spelled.push_str(WHITE_SPACE),
                Some('s') => {
                    spelled.push('[');
                    spelled.push_str(WHITE_SPACE);
                    spelled.push(']');
                }
                Some(escaped) => {
                    spelled.push('\\');
                    spelled.push(escaped);
                }
                None => spelled.push('\\'),
            },
            '[' => {
                in_class = true;
                spelled.push(c);
            }
            ']' => {
                in_class = false;
                spelled.push(c);
            }
            _ => spelled.push(c),
        }
    }
    RegexBuilder::new(&spelled)
        .case_insensitive(true)
        .build()
        .expect("built-in pattern compiles")
}

impl Extractor {
    /// Compiles the tenant's order patterns; a bad pattern is an error naming it.
    pub fn new(cfg: &ExtractorConfig) -> Result<Extractor, NlpError> {
        let mut orders = Vec::with_capacity(cfg.order_patterns.len());
        for p in &cfg.order_patterns {
            // Tenant input: cap the compiled size so a pattern cannot exhaust memory.
            let regex = RegexBuilder::new(&p.regex)
                .size_limit(1 << 20)
                .build()
                .map_err(|e| NlpError::BadPattern {
                    name: p.name.clone(),
                    message: e.to_string(),
                })?;
            if regex.is_match("") {
                return Err(NlpError::BadPattern {
                    name: p.name.clone(),
                    message: "matches the empty string".into(),
                });
            }
            orders.push((p.name.clone(), regex));
        }
        let date_rules = vec![
            (
                re(
                    r"(?-u:\b)(the day after tomorrow|day after tomorrow|the day before yesterday|day before yesterday|today|tonight|tomorrow|tmrw|yesterday)(?-u:\b)",
                ),
                DateRule::EnDay,
            ),
            (
                re(&format!(
                    r"(?-u:\b)(?:(next|this|last|coming)\s+|on\s+)?({EN_WEEKDAY})(?-u:\b)"
                )),
                DateRule::EnWeekday,
            ),
            (
                re(&format!(
                    r"(?-u:\b)(?:in|within)\s+({EN_NUM})\s+(minutes?|mins?|hours?|hrs?|days?|weeks?|months?)(?-u:\b)|(?-u:\b)({EN_NUM})\s+(minutes?|mins?|hours?|hrs?|days?|weeks?|months?)\s+(?:from now|later)(?-u:\b)"
                )),
                DateRule::EnOffset,
            ),
            (
                re(&format!(
                    r"(?-u:\b)({EN_NUM})\s+(minutes?|mins?|hours?|hrs?|days?|weeks?|months?)\s+ago(?-u:\b)"
                )),
                DateRule::EnAgo,
            ),
            (
                re(r"(?-u:\b)(next|this|last)\s+(week|month)(?-u:\b)"),
                DateRule::EnPeriod,
            ),
            (
                re(r"(?-u:\b)(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?-u:\b)"),
                DateRule::Iso,
            ),
            (
                re(&format!(
                    r"(?-u:\b)({EN_MONTH})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?(?-u:\b)(?:,?\s+(\d{{4}})(?-u:\b))?"
                )),
                DateRule::EnMonthDay,
            ),
            (
                re(&format!(
                    r"(?-u:\b)(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({EN_MONTH})(?-u:\b)\.?(?:,?\s+(\d{{4}})(?-u:\b))?"
                )),
                DateRule::EnDayMonth,
            ),
            (
                re(r"大后天|大前天|今天|今日|明天|明日|后天|昨天|昨日|前天|今晚|明晚|今早|明早"),
                DateRule::ZhDay,
            ),
            (
                re(r"(下下|下|这|本|上)?个?(?:周|星期|礼拜)([一二三四五六日天1-7])"),
                DateRule::ZhWeekday,
            ),
            (
                re(&format!(
                    r"({ZH_NUM})\s*个?(分钟|小时|天|周|星期|个月|月)\s*(以后|之后|后|以前|之前|前)"
                )),
                DateRule::ZhOffset,
            ),
            (re(r"(下|上|这|本)个?(周|星期|礼拜|月)"), DateRule::ZhPeriod),
            (
                re(r"(?:(\d{4})\s*年\s*)?(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]"),
                DateRule::ZhDate,
            ),
        ];
        let time_rules = vec![
            (
                re(
                    r"(?-u:\b)(?:at\s+)?(\d{1,2})(?::([0-5]\d))?\s*(a\.?m\.?|p\.?m\.?)(?:\s|$|[^\w])",
                ),
                TimeRule::EnAmPm,
            ),
            (
                re(r"(?:(?-u:\b)at\s+)?(?-u:\b)([01]?\d|2[0-3]):([0-5]\d)(?-u:\b)"),
                TimeRule::Clock,
            ),
            (
                re(r"(?-u:\b)(?:at\s+)?(noon|midnight)(?-u:\b)"),
                TimeRule::EnWord,
            ),
            (
                re(&format!(
                    r"(凌晨|早上|早晨|上午|中午|下午|傍晚|晚上|夜里)?\s*({ZH_NUM})\s*[点點时](?:\s*(半|一刻|三刻|{ZH_NUM})\s*分?)?"
                )),
                TimeRule::Zh,
            ),
        ];
        Ok(Extractor {
            orders,
            email: re(r"[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}"),
            phone: re(r"(?:\+\d{1,3}[\s-]?)?(?:\(\d{1,4}\)[\s-]?)?\d(?:[\s-]?\d){6,14}"),
            amount_pre: re(
                r"(us\$|hk\$|c\$|a\$|\$|€|£|¥|￥|₹|(?-u:\b)(?:usd|eur|gbp|cny|rmb|jpy|hkd)(?-u:\b))\s?(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)",
            ),
            amount_post: re(
                r"(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)\s?(?:(dollars?|bucks|usd|euros?|eur|pounds?|gbp|yuan|rmb|cny|yen|jpy|hkd)(?-u:\b)|(块钱|块|元|人民币|美元|美金|欧元|英镑|日元|港币|港元))",
            ),
            date_rules,
            time_rules,
        })
    }

    /// Extracts every entity of `text`, in text order, resolving dates from `now` in `tz`.
    pub fn extract(&self, text: &str, now: DateTime<Utc>, tz: &Zone) -> Vec<Entity> {
        let mut accepted: Vec<Entity> = Vec::new();
        let free = |accepted: &[Entity], s: usize, e: usize| {
            accepted.iter().all(|a| e <= a.start || s >= a.end)
        };

        for m in self.email.find_iter(text) {
            accepted.push(Entity {
                kind: EntityKind::Email,
                start: m.start(),
                end: m.end(),
                text: m.as_str().to_string(),
                value: EntityValue::Email {
                    value: m.as_str().to_lowercase(),
                },
            });
        }
        for (name, regex) in &self.orders {
            for m in regex.find_iter(text) {
                if m.start() < m.end() && free(&accepted, m.start(), m.end()) {
                    accepted.push(Entity {
                        kind: EntityKind::OrderNumber,
                        start: m.start(),
                        end: m.end(),
                        text: m.as_str().to_string(),
                        value: EntityValue::Order {
                            pattern: name.clone(),
                            value: m.as_str().to_string(),
                        },
                    });
                }
            }
        }
        for (s, e, value) in self.datetimes(text, now, tz) {
            if free(&accepted, s, e) {
                accepted.push(Entity {
                    kind: EntityKind::DateTime,
                    start: s,
                    end: e,
                    text: text[s..e].to_string(),
                    value,
                });
            }
        }
        for (s, e, amount, currency) in self.amounts(text) {
            if free(&accepted, s, e) {
                accepted.push(Entity {
                    kind: EntityKind::Amount,
                    start: s,
                    end: e,
                    text: text[s..e].to_string(),
                    value: EntityValue::Amount { amount, currency },
                });
            }
        }
        for m in self.phone.find_iter(text) {
            let (s, e) = (m.start(), m.end());
            // Part of a longer run of digits or letters (an id, a card number): not a phone.
            let before = text[..s].chars().next_back();
            let after = text[e..].chars().next();
            if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '.' || c == '/')
                || after.is_some_and(|c| c.is_ascii_alphanumeric() || c == '/')
            {
                continue;
            }
            let digits: String = m.as_str().chars().filter(|c| c.is_ascii_digit()).collect();
            let grouped = m.as_str().contains(['-', ' ', '(', '+']);
            let ok =
                (10..=15).contains(&digits.len()) || ((7..=9).contains(&digits.len()) && grouped);
            if ok && free(&accepted, s, e) {
                let plus = if m.as_str().starts_with('+') { "+" } else { "" };
                accepted.push(Entity {
                    kind: EntityKind::Phone,
                    start: s,
                    end: e,
                    text: m.as_str().to_string(),
                    value: EntityValue::Phone {
                        value: format!("{plus}{digits}"),
                    },
                });
            }
        }
        edgedesk_sort::sort_by_key(&mut accepted, |e| (e.start, e.end));
        accepted
    }

    fn amounts(&self, text: &str) -> Vec<(usize, usize, String, String)> {
        let mut out = Vec::new();
        for c in self.amount_pre.captures_iter(text) {
            let m = c.get(0).expect("match");
            if let Some(cur) = currency(&c[1]) {
                out.push((m.start(), m.end(), c[2].replace(',', ""), cur.to_string()));
            }
        }
        for c in self.amount_post.captures_iter(text) {
            let m = c.get(0).expect("match");
            let unit = c
                .get(2)
                .or_else(|| c.get(3))
                .map(|u| u.as_str())
                .unwrap_or_default();
            if let Some(cur) = currency(unit) {
                if out
                    .iter()
                    .all(|o: &(usize, usize, String, String)| m.end() <= o.0 || m.start() >= o.1)
                {
                    out.push((m.start(), m.end(), c[1].replace(',', ""), cur.to_string()));
                }
            }
        }
        out
    }

    fn datetimes(
        &self,
        text: &str,
        now: DateTime<Utc>,
        tz: &Zone,
    ) -> Vec<(usize, usize, EntityValue)> {
        let local_now = now.with_timezone(tz);
        let today = local_now.date_naive();
        let mut cands: Vec<(usize, usize, Spec)> = Vec::new();
        for (regex, rule) in &self.date_rules {
            for c in regex.captures_iter(text) {
                let m = c.get(0).expect("match");
                if let Some(spec) = date_spec(*rule, &c, today, now) {
                    cands.push((m.start(), m.end(), spec));
                }
            }
        }
        for (regex, rule) in &self.time_rules {
            for c in regex.captures_iter(text) {
                let m = c.get(0).expect("match");
                // The am/pm rule consumes one following delimiter; give it back.
                let mut end = m.end();
                if matches!(rule, TimeRule::EnAmPm) {
                    let t = m.as_str();
                    if let Some(last) = t.chars().last() {
                        if !last.is_alphanumeric() && last != '.' {
                            end -= last.len_utf8();
                        }
                    }
                }
                let start = m.start() + (m.as_str().len() - m.as_str().trim_start().len());
                if let Some(t) = time_spec(*rule, &c) {
                    cands.push((start, end, Spec::Time(t)));
                }
            }
        }
        // Longest first, then earliest: keep non-overlapping spans.
        edgedesk_sort::sort_by(&mut cands, |a, b| {
            (b.1 - b.0).cmp(&(a.1 - a.0)).then(a.0.cmp(&b.0))
        });
        let mut kept: Vec<(usize, usize, Spec)> = Vec::new();
        for c in cands {
            if kept.iter().all(|k| c.1 <= k.0 || c.0 >= k.1) {
                kept.push(c);
            }
        }
        edgedesk_sort::sort_by_key(&mut kept, |k| k.0);

        // Join a date and a time written next to each other, in either order.
        let joinable = |gap: &str| {
            let g = gap.trim().to_lowercase();
            g.is_empty() || g == "at" || g == "," || g == "的" || g == "on"
        };
        let mut out = Vec::new();
        let mut i = 0;
        while i < kept.len() {
            let (s, e, spec) = kept[i];
            let next = kept.get(i + 1).copied();
            let joined = match (spec, next) {
                (Spec::Date { date, evening }, Some((s2, e2, Spec::Time(t))))
                    if joinable(&text[e..s2]) =>
                {
                    Some((s, e2, date, Some(evening_time(t, evening))))
                }
                (Spec::Time(t), Some((s2, e2, Spec::Date { date, evening })))
                    if joinable(&text[e..s2]) =>
                {
                    Some((s, e2, date, Some(evening_time(t, evening))))
                }
                _ => None,
            };
            if let Some((s, e, date, time)) = joined {
                out.push((s, e, date_value(date, time, tz)));
                i += 2;
                continue;
            }
            let value = match spec {
                Spec::Date { date, .. } => date_value(date, None, tz),
                Spec::Time(t) => date_value(today, Some(t), tz),
                Spec::Instant(at) => {
                    let local = at.with_timezone(tz);
                    EntityValue::DateTime {
                        date: local.date_naive(),
                        time: Some(local.time()),
                        instant: local.fixed_offset(),
                    }
                }
            };
            out.push((s, e, value));
            i += 1;
        }
        out
    }
}

fn evening_time(t: NaiveTime, evening: bool) -> NaiveTime {
    use chrono::Timelike;
    if evening && t.hour() < 12 {
        t + Duration::hours(12)
    } else {
        t
    }
}

/// The instant of a local date and time in `tz`, DST-safe (see the module docs).
pub fn resolve_local(date: NaiveDate, time: NaiveTime, tz: &Zone) -> DateTime<FixedOffset> {
    let ndt = NaiveDateTime::new(date, time);
    if let Some(dt) = tz.from_local_datetime(&ndt).earliest() {
        return dt.fixed_offset();
    }
    // In a gap: read the wall time with the offset in force just before the change, which lands
    // as far past the gap as the time was into it (02:30 in a 02:00→03:00 gap becomes 03:30).
    let before = (1..=6)
        .find_map(|h| {
            tz.from_local_datetime(&(ndt - Duration::hours(h)))
                .earliest()
        })
        .map(|dt| dt.offset().fix().local_minus_utc())
        .unwrap_or(0);
    let utc = ndt - Duration::seconds(before as i64);
    Utc.from_utc_datetime(&utc).with_timezone(tz).fixed_offset()
}

fn date_value(date: NaiveDate, time: Option<NaiveTime>, tz: &Zone) -> EntityValue {
    let instant = resolve_local(date, time.unwrap_or(NaiveTime::MIN), tz);
    EntityValue::DateTime {
        date,
        time,
        instant,
    }
}

fn currency(token: &str) -> Option<&'static str> {
    Some(match token.to_lowercase().as_str() {
        "$" | "us$" | "usd" | "dollar" | "dollars" | "bucks" | "美元" | "美金" => "USD",
        "hk$" | "hkd" | "港币" | "港元" => "HKD",
        "c$" => "CAD",
        "a$" => "AUD",
        "€" | "eur" | "euro" | "euros" | "欧元" => "EUR",
        "£" | "gbp" | "pound" | "pounds" | "英镑" => "GBP",
        "¥" | "￥" | "cny" | "rmb" | "yuan" | "元" | "块" | "块钱" | "人民币" => "CNY",
        "jpy" | "yen" | "日元" => "JPY",
        "₹" => "INR",
        _ => return None,
    })
}

fn en_number(s: &str) -> Option<i64> {
    let s = s.to_lowercase();
    Some(match s.as_str() {
        "a" | "an" | "one" => 1,
        "two" | "a couple of" => 2,
        "three" | "a few" => 3,
        "four" => 4,
        "five" => 5,
        "six" => 6,
        "seven" => 7,
        "eight" => 8,
        "nine" => 9,
        "ten" => 10,
        "eleven" => 11,
        "twelve" => 12,
        _ => return s.parse().ok().filter(|n| *n <= 100_000),
    })
}

/// Parses Arabic digits or a Chinese numeral up to 99 ("十五", "二十三", "两").
pub fn zh_number(s: &str) -> Option<i64> {
    if let Ok(n) = s.parse::<i64>() {
        return (n <= 100_000).then_some(n);
    }
    let digit = |c: char| {
        "零一二三四五六七八九"
            .chars()
            .position(|d| d == c)
            .map(|p| p as i64)
            .or((c == '两').then_some(2))
    };
    let chars: Vec<char> = s.chars().collect();
    match chars.as_slice() {
        [c] if *c == '十' => Some(10),
        [c] => digit(*c),
        ['十', u] => digit(*u).map(|u| 10 + u),
        [t, '十'] => digit(*t).map(|t| t * 10),
        [t, '十', u] => Some(digit(*t)? * 10 + digit(*u)?),
        _ => None,
    }
}

fn en_weekday(s: &str) -> Option<Weekday> {
    let s = s.to_lowercase();
    Some(match &s[..3.min(s.len())] {
        "mon" => Weekday::Mon,
        "tue" => Weekday::Tue,
        "wed" => Weekday::Wed,
        "thu" => Weekday::Thu,
        "fri" => Weekday::Fri,
        "sat" => Weekday::Sat,
        "sun" => Weekday::Sun,
        _ => return None,
    })
}

fn zh_weekday(s: &str) -> Option<Weekday> {
    Some(match s {
        "一" | "1" => Weekday::Mon,
        "二" | "2" => Weekday::Tue,
        "三" | "3" => Weekday::Wed,
        "四" | "4" => Weekday::Thu,
        "五" | "5" => Weekday::Fri,
        "六" | "6" => Weekday::Sat,
        "日" | "天" | "7" => Weekday::Sun,
        _ => return None,
    })
}

fn en_month(s: &str) -> Option<u32> {
    let s = s.to_lowercase();
    [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ]
    .iter()
    .position(|m| s.starts_with(m))
    .map(|p| p as u32 + 1)
}

fn monday_of(d: NaiveDate) -> NaiveDate {
    d - Duration::days(d.weekday().num_days_from_monday() as i64)
}

/// The date of `wd` in the week starting `weeks` weeks after the week of `today`.
fn weekday_in_week(today: NaiveDate, weeks: i64, wd: Weekday) -> NaiveDate {
    monday_of(today) + Duration::weeks(weeks) + Duration::days(wd.num_days_from_monday() as i64)
}

fn add_months(d: NaiveDate, months: i64) -> Option<NaiveDate> {
    let total = d.year() as i64 * 12 + d.month0() as i64 + months;
    let (y, m) = (total.div_euclid(12) as i32, total.rem_euclid(12) as u32 + 1);
    // Clamp the day to the month's length ("in 1 month" from 31 January is 28/29 February).
    (1..=d.day())
        .rev()
        .find_map(|day| NaiveDate::from_ymd_opt(y, m, day))
}

/// Offsets a date or an instant by `n` units (negative for the past).
fn offset(unit: &str, n: i64, today: NaiveDate, now: DateTime<Utc>) -> Option<Spec> {
    let date = |d: Option<NaiveDate>| {
        d.map(|date| Spec::Date {
            date,
            evening: false,
        })
    };
    let u = unit.to_lowercase();
    if u.starts_with("min") || u == "分钟" {
        Some(Spec::Instant(now + Duration::minutes(n)))
    } else if u.starts_with('h') || u == "小时" {
        Some(Spec::Instant(now + Duration::hours(n)))
    } else if u.starts_with("day") || u == "天" {
        date(today.checked_add_signed(Duration::days(n)))
    } else if u.starts_with("week") || u == "周" || u == "星期" {
        date(today.checked_add_signed(Duration::weeks(n)))
    } else if u.starts_with("month") || u == "个月" || u == "月" {
        date(add_months(today, n))
    } else {
        None
    }
}

fn date_spec(rule: DateRule, c: &Captures, today: NaiveDate, now: DateTime<Utc>) -> Option<Spec> {
    let day = |n: i64, evening: bool| {
        Some(Spec::Date {
            date: today + Duration::days(n),
            evening,
        })
    };
    let ymd = |y: i32, m: u32, d: u32| {
        NaiveDate::from_ymd_opt(y, m, d).map(|date| Spec::Date {
            date,
            evening: false,
        })
    };
    match rule {
        DateRule::EnDay => {
            let w = c[1].to_lowercase();
            match w.as_str() {
                "today" => day(0, false),
                "tonight" => day(0, true),
                "tomorrow" | "tmrw" => day(1, false),
                "yesterday" => day(-1, false),
                _ if w.contains("after") => day(2, false),
                _ => day(-2, false),
            }
        }
        DateRule::EnWeekday => {
            // Lower-case "sat", "sun", "wed" alone are ordinary words, not days.
            if c.get(1).is_none()
                && c[2].len() <= 4
                && c[2].starts_with(|ch: char| ch.is_lowercase())
            {
                return None;
            }
            let wd = en_weekday(&c[2])?;
            let date = match c.get(1).map(|m| m.as_str().to_lowercase()).as_deref() {
                Some("next") => weekday_in_week(today, 1, wd),
                Some("last") => {
                    let back = (today.weekday().num_days_from_monday() as i64
                        - wd.num_days_from_monday() as i64
                        + 6)
                    .rem_euclid(7)
                        + 1;
                    today - Duration::days(back)
                }
                // Bare, "this", "coming", "on": the next such day, today included.
                _ => {
                    let ahead = (wd.num_days_from_monday() as i64
                        - today.weekday().num_days_from_monday() as i64)
                        .rem_euclid(7);
                    today + Duration::days(ahead)
                }
            };
            Some(Spec::Date {
                date,
                evening: false,
            })
        }
        DateRule::EnOffset => {
            let (n, unit) = match c.get(1) {
                Some(n) => (n.as_str(), &c[2]),
                None => (c.get(3)?.as_str(), &c[4]),
            };
            offset(unit, en_number(n)?, today, now)
        }
        DateRule::EnAgo => offset(&c[2], -en_number(&c[1])?, today, now),
        DateRule::EnPeriod => {
            let n = match c[1].to_lowercase().as_str() {
                "next" => 1,
                "last" => -1,
                _ => 0,
            };
            let date = if c[2].eq_ignore_ascii_case("week") {
                monday_of(today) + Duration::weeks(n)
            } else {
                add_months(today.with_day(1)?, n)?
            };
            Some(Spec::Date {
                date,
                evening: false,
            })
        }
        DateRule::Iso => ymd(c[1].parse().ok()?, c[2].parse().ok()?, c[3].parse().ok()?),
        DateRule::EnMonthDay | DateRule::EnDayMonth => {
            let month = if matches!(rule, DateRule::EnMonthDay) {
                &c[1]
            } else {
                &c[2]
            };
            // "may" and "march" in lower case are usually the verb.
            if month == "may" || month == "march" {
                return None;
            }
            let (m, d) = match rule {
                DateRule::EnMonthDay => (en_month(&c[1])?, c[2].parse().ok()?),
                _ => (en_month(&c[2])?, c[1].parse().ok()?),
            };
            let y = c
                .get(3)
                .and_then(|y| y.as_str().parse().ok())
                .unwrap_or(today.year());
            ymd(y, m, d)
        }
        DateRule::ZhDay => match &c[0] {
            "今天" | "今日" | "今早" => day(0, false),
            "今晚" => day(0, true),
            "明天" | "明日" | "明早" => day(1, false),
            "明晚" => day(1, true),
            "后天" => day(2, false),
            "大后天" => day(3, false),
            "昨天" | "昨日" => day(-1, false),
            "前天" => day(-2, false),
            "大前天" => day(-3, false),
            _ => None,
        },
        DateRule::ZhWeekday => {
            let wd = zh_weekday(&c[2])?;
            let date = match c.get(1).map(|m| m.as_str()) {
                Some("下下") => weekday_in_week(today, 2, wd),
                Some("下") => weekday_in_week(today, 1, wd),
                Some("上") => weekday_in_week(today, -1, wd),
                Some(_) => weekday_in_week(today, 0, wd),
                // "周五" alone: the coming Friday, today included.
                None => {
                    let ahead = (wd.num_days_from_monday() as i64
                        - today.weekday().num_days_from_monday() as i64)
                        .rem_euclid(7);
                    today + Duration::days(ahead)
                }
            };
            Some(Spec::Date {
                date,
                evening: false,
            })
        }
        DateRule::ZhOffset => {
            let sign = if c[3].ends_with('前') { -1 } else { 1 };
            if &c[1] == "半" {
                return match &c[2] {
                    "小时" => Some(Spec::Instant(now + Duration::minutes(30 * sign))),
                    _ => None,
                };
            }
            offset(&c[2], sign * zh_number(&c[1])?, today, now)
        }
        DateRule::ZhPeriod => {
            let n = match &c[1] {
                "下" => 1,
                "上" => -1,
                _ => 0,
            };
            let date = if &c[2] == "月" {
                add_months(today.with_day(1)?, n)?
            } else {
                monday_of(today) + Duration::weeks(n)
            };
            Some(Spec::Date {
                date,
                evening: false,
            })
        }
        DateRule::ZhDate => {
            let y = c
                .get(1)
                .and_then(|y| y.as_str().parse().ok())
                .unwrap_or(today.year());
            ymd(y, c[2].parse().ok()?, c[3].parse().ok()?)
        }
    }
}

fn time_spec(rule: TimeRule, c: &Captures) -> Option<NaiveTime> {
    match rule {
        TimeRule::EnAmPm => {
            let h: u32 = c[1].parse().ok()?;
            let m: u32 = c.get(2).map_or(Some(0), |m| m.as_str().parse().ok())?;
            if !(1..=12).contains(&h) {
                return None;
            }
            let pm = c[3].to_lowercase().starts_with('p');
            NaiveTime::from_hms_opt(h % 12 + if pm { 12 } else { 0 }, m, 0)
        }
        TimeRule::Clock => NaiveTime::from_hms_opt(c[1].parse().ok()?, c[2].parse().ok()?, 0),
        TimeRule::EnWord => NaiveTime::from_hms_opt(
            if c[1].eq_ignore_ascii_case("noon") {
                12
            } else {
                0
            },
            0,
            0,
        ),
        TimeRule::Zh => {
            // "一点" alone usually means "a little": require a period word, digits or minutes.
            if c.get(1).is_none() && c.get(3).is_none() && c[2].parse::<u32>().is_err() {
                return None;
            }
            let mut h = zh_number(&c[2])? as u32;
            let m = match c.get(3).map(|m| m.as_str()) {
                None => 0,
                Some("半") => 30,
                Some("一刻") => 15,
                Some("三刻") => 45,
                Some(n) => zh_number(n)? as u32,
            };
            if h > 24 || m > 59 {
                return None;
            }
            match c.get(1).map(|p| p.as_str()) {
                Some("下午" | "傍晚" | "晚上" | "夜里") if h < 12 => h += 12,
                Some("中午") if h < 6 => h += 12,
                _ => {}
            }
            NaiveTime::from_hms_opt(h % 24, m, 0)
        }
    }
}

#[cfg(test)]
mod tests;
