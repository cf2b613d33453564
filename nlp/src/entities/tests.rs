//! Entity extraction tests: a table of English and Chinese messages with the entities they hold,
//! scored for precision and recall, plus DST cases and tenant-pattern errors.

use super::*;

/// Wednesday 6 March 2024, 10:00 in Shanghai.
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 3, 6, 2, 0, 0).unwrap()
}

fn zone(name: &str) -> Zone {
    Zone::from_name(name).expect("known zone")
}

fn extractor() -> Extractor {
    Extractor::new(&ExtractorConfig {
        order_patterns: vec![
            OrderPattern {
                name: "order".into(),
                regex: r"(?i)ORD-?\d{6}".into(),
            },
            OrderPattern {
                name: "jd".into(),
                regex: r"JD\d{10}".into(),
            },
        ],
    })
    .unwrap()
}

/// One comparable string per entity: kind and normalised value.
fn render(e: &Entity) -> String {
    match &e.value {
        EntityValue::Order { value, .. } => format!("order {value}"),
        EntityValue::Email { value } => format!("email {value}"),
        EntityValue::Phone { value } => format!("phone {value}"),
        EntityValue::Amount { amount, currency } => format!("amount {amount} {currency}"),
        EntityValue::DateTime {
            date,
            time: Some(t),
            ..
        } => format!("date {date} {}", t.format("%H:%M")),
        EntityValue::DateTime {
            date, time: None, ..
        } => format!("date {date}"),
    }
}

const TABLE: &[(&str, &[&str])] = &[
    // Order numbers
    ("Where is my order ORD-123456?", &["order ORD-123456"]),
    ("order ord123456 has not shipped", &["order ord123456"]),
    ("我的订单ORD-654321还没发货", &["order ORD-654321"]),
    ("JD1234567890 这个单号查一下", &["order JD1234567890"]),
    (
        "Two orders: ORD-111111 and ORD-222222",
        &["order ORD-111111", "order ORD-222222"],
    ),
    (
        "订单号是 ORD-000001，电话13812345678",
        &["order ORD-000001", "phone 13812345678"],
    ),
    ("ORD-12345 is too short to be an order", &[]),
    // Emails
    (
        "Contact me at Jane.Doe+shop@Example.co.uk please",
        &["email jane.doe+shop@example.co.uk"],
    ),
    (
        "我的邮箱是zhang.san@qq.com谢谢",
        &["email zhang.san@qq.com"],
    ),
    (
        "email: bob@mail.example.org, or call",
        &["email bob@mail.example.org"],
    ),
    ("not an email: bob@localhost", &[]),
    (
        "two: a@b.io and c_d@e-f.com",
        &["email a@b.io", "email c_d@e-f.com"],
    ),
    // Phone numbers
    ("Call me on +1 415-555-0132", &["phone +14155550132"]),
    ("my number is (415) 555-0132", &["phone 4155550132"]),
    ("手机号13812345678", &["phone 13812345678"]),
    ("电话 +86 138 1234 5678", &["phone +8613812345678"]),
    ("座机010-12345678", &["phone 01012345678"]),
    ("extension 555-0132", &["phone 5550132"]),
    ("I have 3 cards and 2 accounts", &[]),
    ("my pin is 1234", &[]),
    ("card number 4111111111111111111 leaked", &[]),
    // Amounts
    ("I was charged $25.99 twice", &["amount 25.99 USD"]),
    ("refund €1,200 please", &["amount 1200 EUR"]),
    ("it cost 50 dollars", &["amount 50 USD"]),
    ("退我100元", &["amount 100 CNY"]),
    ("多扣了¥88", &["amount 88 CNY"]),
    ("转了200块钱", &["amount 200 CNY"]),
    ("收了我30 美元手续费", &["amount 30 USD"]),
    ("USD 40 fee", &["amount 40 USD"]),
    ("top up £7.50", &["amount 7.50 GBP"]),
    ("1000日元", &["amount 1000 JPY"]),
    ("send 50 euros to my friend", &["amount 50 EUR"]),
    ("HK$300 withdrawal", &["amount 300 HKD"]),
    ("I need 5 minutes", &[]),
    ("日期2024-03-15之前", &["date 2024-03-15"]),
    ("15:30之前回复", &["date 2024-03-06 15:30"]),
    ("2 amounts were wrong", &[]),
    // English relative dates
    ("can you deliver tomorrow", &["date 2024-03-07"]),
    ("I paid today", &["date 2024-03-06"]),
    ("it arrived yesterday", &["date 2024-03-05"]),
    ("the day after tomorrow works", &["date 2024-03-08"]),
    ("day before yesterday", &["date 2024-03-04"]),
    ("next Friday", &["date 2024-03-15"]),
    ("this Friday", &["date 2024-03-08"]),
    ("on Friday", &["date 2024-03-08"]),
    ("Friday", &["date 2024-03-08"]),
    ("last Friday", &["date 2024-03-01"]),
    ("next monday", &["date 2024-03-11"]),
    ("Wednesday", &["date 2024-03-06"]),
    ("see you Sun", &["date 2024-03-10"]),
    ("I sat down", &[]),
    ("in 3 days", &["date 2024-03-09"]),
    ("in two weeks", &["date 2024-03-20"]),
    ("in a month", &["date 2024-04-06"]),
    ("3 days ago", &["date 2024-03-03"]),
    ("a week ago", &["date 2024-02-28"]),
    ("in 2 hours", &["date 2024-03-06 12:00"]),
    ("in 30 minutes", &["date 2024-03-06 10:30"]),
    ("3 days from now", &["date 2024-03-09"]),
    ("next week", &["date 2024-03-11"]),
    ("last week", &["date 2024-02-26"]),
    ("next month", &["date 2024-04-01"]),
    // English absolute dates and times
    ("on 2024-03-15", &["date 2024-03-15"]),
    ("2024/4/1", &["date 2024-04-01"]),
    ("March 15", &["date 2024-03-15"]),
    ("Dec 25", &["date 2024-12-25"]),
    ("the 15th of March 2025", &["date 2025-03-15"]),
    ("1 May", &["date 2024-05-01"]),
    ("I may come back", &[]),
    ("tomorrow at 3pm", &["date 2024-03-07 15:00"]),
    ("3pm tomorrow", &["date 2024-03-07 15:00"]),
    ("tomorrow at 9:30 am", &["date 2024-03-07 09:30"]),
    ("tonight at 8pm", &["date 2024-03-06 20:00"]),
    ("tonight at 8:30", &["date 2024-03-06 20:30"]),
    ("at noon", &["date 2024-03-06 12:00"]),
    ("at 14:30", &["date 2024-03-06 14:30"]),
    ("next Friday at 10am", &["date 2024-03-15 10:00"]),
    ("March 20 at 5pm", &["date 2024-03-20 17:00"]),
    // Chinese relative dates
    ("明天能送到吗", &["date 2024-03-07"]),
    ("今天", &["date 2024-03-06"]),
    ("后天", &["date 2024-03-08"]),
    ("大后天再说", &["date 2024-03-09"]),
    ("昨天扣的款", &["date 2024-03-05"]),
    ("前天", &["date 2024-03-04"]),
    ("下周五", &["date 2024-03-15"]),
    ("这周五", &["date 2024-03-08"]),
    ("本周一", &["date 2024-03-04"]),
    ("上周五", &["date 2024-03-01"]),
    ("周五", &["date 2024-03-08"]),
    ("星期天", &["date 2024-03-10"]),
    ("下星期一", &["date 2024-03-11"]),
    ("下下周三", &["date 2024-03-20"]),
    ("下个礼拜二", &["date 2024-03-12"]),
    ("3天后", &["date 2024-03-09"]),
    ("三天后", &["date 2024-03-09"]),
    ("两周后", &["date 2024-03-20"]),
    ("一个月后", &["date 2024-04-06"]),
    ("2小时后", &["date 2024-03-06 12:00"]),
    ("半小时后", &["date 2024-03-06 10:30"]),
    ("30分钟后", &["date 2024-03-06 10:30"]),
    ("5天前", &["date 2024-03-01"]),
    ("下周", &["date 2024-03-11"]),
    ("下个月", &["date 2024-04-01"]),
    ("上个月", &["date 2024-02-01"]),
    // Chinese absolute dates and times
    ("3月15日", &["date 2024-03-15"]),
    ("2024年5月1号", &["date 2024-05-01"]),
    ("明天下午3点", &["date 2024-03-07 15:00"]),
    // Ideographic spaces between the parts, as Chinese input methods type them.
    ("明天　下午3点", &["date 2024-03-07 15:00"]),
    ("3　天　后", &["date 2024-03-09"]),
    ("明天上午10点半", &["date 2024-03-07 10:30"]),
    ("今晚8点", &["date 2024-03-06 20:00"]),
    ("后天晚上七点", &["date 2024-03-08 19:00"]),
    ("下周五下午两点", &["date 2024-03-15 14:00"]),
    ("明天15:30", &["date 2024-03-07 15:30"]),
    ("下午3点20分", &["date 2024-03-06 15:20"]),
    ("快一点", &[]),
    ("我有两张卡", &[]),
    // Mixed
    (
        "ORD-777777 was charged $12 on March 3",
        &["order ORD-777777", "amount 12 USD", "date 2024-03-03"],
    ),
    (
        "订单ORD-888888昨天扣了50元，联系zhang@163.com",
        &[
            "order ORD-888888",
            "date 2024-03-05",
            "amount 50 CNY",
            "email zhang@163.com",
        ],
    ),
    (
        "Please call +44 20 7946 0958 tomorrow at 10am about £20",
        &[
            "phone +442079460958",
            "date 2024-03-07 10:00",
            "amount 20 GBP",
        ],
    ),
];

#[test]
fn entity_table_has_high_precision_and_recall_in_both_languages() {
    let x = extractor();
    let tz: Zone = "Asia/Shanghai".parse().unwrap();
    let (mut tp, mut fp, mut fneg) = (0usize, 0usize, 0usize);
    let mut misses = Vec::new();
    for (text, expected) in TABLE {
        let got: Vec<String> = x.extract(text, now(), &tz).iter().map(render).collect();
        let mut remaining: Vec<&str> = expected.to_vec();
        for g in &got {
            if let Some(i) = remaining.iter().position(|e| e == g) {
                remaining.remove(i);
                tp += 1;
            } else {
                fp += 1;
                misses.push(format!("{text:?}: unexpected {g}"));
            }
        }
        fneg += remaining.len();
        misses.extend(remaining.iter().map(|r| format!("{text:?}: missed {r}")));
    }
    let precision = tp as f64 / (tp + fp) as f64;
    let recall = tp as f64 / (tp + fneg) as f64;
    println!(
        "entity table: {} cases, precision {precision:.3}, recall {recall:.3}",
        TABLE.len()
    );
    assert!(TABLE.len() >= 100);
    assert!(
        misses.is_empty(),
        "{} cases wrong:\n{}",
        misses.len(),
        misses.join("\n")
    );
}

#[test]
fn spans_point_at_the_matched_text() {
    let x = extractor();
    let text = "订单ORD-888888昨天扣了50元";
    for e in x.extract(text, now(), &zone("Asia/Shanghai")) {
        assert_eq!(&text[e.start..e.end], e.text);
    }
}

fn ny_value(text: &str, now: DateTime<Utc>) -> (NaiveDate, Option<NaiveTime>, String) {
    let x = extractor();
    let got = x.extract(text, now, &zone("America/New_York"));
    assert_eq!(got.len(), 1, "{text}: {got:?}");
    match &got[0].value {
        EntityValue::DateTime {
            date,
            time,
            instant,
        } => (*date, *time, instant.to_rfc3339()),
        other => panic!("{other:?}"),
    }
}

#[test]
fn relative_days_keep_wall_clock_time_across_spring_forward() {
    // Saturday 9 March 2024 12:00 EST; clocks spring forward on Sunday 10 March at 02:00.
    let now = Utc.with_ymd_and_hms(2024, 3, 9, 17, 0, 0).unwrap();
    let (date, _, instant) = ny_value("tomorrow at 12pm", now);
    assert_eq!(date, NaiveDate::from_ymd_opt(2024, 3, 10).unwrap());
    assert_eq!(
        instant, "2024-03-10T12:00:00-04:00",
        "23 elapsed hours, same wall time"
    );
    let (date, time, instant) = ny_value("in 1 day", now);
    assert_eq!((date.to_string(), time), ("2024-03-10".to_string(), None));
    assert_eq!(instant, "2024-03-10T00:00:00-05:00");
}

#[test]
fn a_time_inside_the_spring_forward_gap_moves_past_it() {
    let now = Utc.with_ymd_and_hms(2024, 3, 9, 17, 0, 0).unwrap();
    let (_, _, instant) = ny_value("tomorrow at 2:30am", now);
    assert_eq!(instant, "2024-03-10T03:30:00-04:00");
}

#[test]
fn an_ambiguous_fall_back_time_takes_the_earlier_instant() {
    // Saturday 2 November 2024 12:00 EDT; 01:00–02:00 repeats on Sunday 3 November.
    let now = Utc.with_ymd_and_hms(2024, 11, 2, 16, 0, 0).unwrap();
    let (_, _, instant) = ny_value("tomorrow at 1:30am", now);
    assert_eq!(instant, "2024-11-03T01:30:00-04:00");
}

#[test]
fn hours_are_elapsed_time_across_a_dst_change() {
    // 01:00 EST on 10 March 2024: three elapsed hours later it is 05:00 EDT.
    let now = Utc.with_ymd_and_hms(2024, 3, 10, 6, 0, 0).unwrap();
    let (_, time, instant) = ny_value("in 3 hours", now);
    assert_eq!(time, NaiveTime::from_hms_opt(5, 0, 0));
    assert_eq!(instant, "2024-03-10T05:00:00-04:00");
}

#[test]
fn today_is_the_tenants_local_date_not_utcs() {
    // 2024-03-06 20:00 UTC is already 7 March in Shanghai.
    let late = Utc.with_ymd_and_hms(2024, 3, 6, 20, 0, 0).unwrap();
    let got = extractor().extract("明天", late, &zone("Asia/Shanghai"));
    assert_eq!(render(&got[0]), "date 2024-03-08");
    let got = extractor().extract("tomorrow", late, &zone("America/Los_Angeles"));
    assert_eq!(render(&got[0]), "date 2024-03-07");
}

#[test]
fn month_arithmetic_clamps_to_the_month_end() {
    let jan31 = Utc.with_ymd_and_hms(2024, 1, 31, 12, 0, 0).unwrap();
    let got = extractor().extract("in 1 month", jan31, &Zone::UTC);
    assert_eq!(render(&got[0]), "date 2024-02-29");
}

#[test]
fn bad_tenant_patterns_are_errors_naming_the_pattern() {
    let bad = ExtractorConfig {
        order_patterns: vec![OrderPattern {
            name: "x".into(),
            regex: "(".into(),
        }],
    };
    assert!(matches!(Extractor::new(&bad), Err(NlpError::BadPattern { name, .. }) if name == "x"));
    let empty = ExtractorConfig {
        order_patterns: vec![OrderPattern {
            name: "e".into(),
            regex: "a*".into(),
        }],
    };
    assert!(matches!(
        Extractor::new(&empty),
        Err(NlpError::BadPattern { .. })
    ));
    let huge = ExtractorConfig {
        order_patterns: vec![OrderPattern {
            name: "h".into(),
            regex: r"(?:\w{1000}){1000}".into(),
        }],
    };
    assert!(
        Extractor::new(&huge).is_err(),
        "oversized patterns are refused"
    );
}

#[test]
fn chinese_numerals_parse_up_to_ninety_nine() {
    for (s, n) in [
        ("三", 3),
        ("十", 10),
        ("十五", 15),
        ("二十", 20),
        ("二十三", 23),
        ("两", 2),
        ("12", 12),
    ] {
        assert_eq!(zh_number(s), Some(n), "{s}");
    }
    assert_eq!(zh_number("百"), None);
}
