use std::collections::BTreeSet;

use chrono::{DateTime, Duration, NaiveDateTime, Utc};

use super::*;

fn zone(name: &str) -> Zone {
    Zone::from_name(name).expect("known zone")
}

fn local(s: &str) -> NaiveDateTime {
    s.parse().expect("test local time")
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("test instant")
        .with_timezone(&Utc)
}

/// A local time's instants with their offsets, comparable across the two libraries.
fn instants<Tz: TimeZone>(
    tz: &Tz,
    local: &NaiveDateTime,
) -> MappedLocalTime<(NaiveDateTime, FixedOffset)> {
    tz.from_local_datetime(local)
        .map(|t| (t.naive_utc(), t.offset().fix()))
}

fn offset_hours(t: DateTime<Zone>) -> f64 {
    f64::from(t.offset().fix().local_minus_utc()) / 3600.0
}

#[test]
fn every_name_chrono_tz_knew_resolves_to_itself() {
    for theirs in chrono_tz::TZ_VARIANTS {
        let ours =
            Zone::from_name(theirs.name()).unwrap_or_else(|e| panic!("{}: {e}", theirs.name()));
        assert_eq!(ours.name(), theirs.name());
        assert_eq!(theirs.name().parse::<Zone>().as_ref(), Ok(&ours));
    }
}

#[test]
fn the_accepted_names_are_exactly_the_names_chrono_tz_knew() {
    let accepted: BTreeSet<String> = jiff::tz::TimeZoneDatabase::bundled()
        .available()
        .filter_map(|name| Zone::from_name(name.as_str()).ok())
        .map(|z| z.name().to_owned())
        .collect();
    let known: BTreeSet<String> = chrono_tz::TZ_VARIANTS
        .iter()
        .map(|t| t.name().to_owned())
        .collect();
    assert_eq!(accepted, known);
}

#[test]
fn names_are_case_sensitive_and_placeholders_are_refused() {
    for name in [
        "america/new_york",
        "AMERICA/NEW_YORK",
        "utc",
        "Etc/Unknown",
        "Factory",
        "",
        "Mars/Olympus",
        " Europe/Berlin",
        "Europe/Berlin ",
        "+05:30",
        "EST5EDT,M3.2.0,M11.1.0",
    ] {
        assert_eq!(
            Zone::from_name(name),
            Err(UnknownZone(name.to_owned())),
            "{name:?}"
        );
    }
    assert_eq!(
        Zone::from_name("mars/olympus").unwrap_err().to_string(),
        "unknown time zone `mars/olympus`"
    );
}

#[test]
fn utc_is_named_utc_and_never_moves() {
    assert_eq!(Zone::UTC.name(), "UTC");
    assert_eq!(zone("UTC"), Zone::UTC);
    assert_eq!(Zone::UTC.to_string(), "UTC");
    for t in [
        "1900-01-01T00:00:00Z",
        "2024-07-01T12:00:00Z",
        "2100-03-10T02:30:00Z",
    ] {
        assert_eq!(offset_hours(utc(t).with_timezone(&Zone::UTC)), 0.0);
    }
}

#[test]
fn a_spring_forward_time_has_no_instant_and_a_fall_back_time_has_two_earlier_first() {
    let ny = zone("America/New_York");
    assert_eq!(
        ny.from_local_datetime(&local("2024-03-10T02:30:00")),
        MappedLocalTime::None
    );
    let MappedLocalTime::Ambiguous(first, second) =
        ny.from_local_datetime(&local("2024-11-03T01:30:00"))
    else {
        panic!("01:30 happens twice in New York on 2024-11-03");
    };
    assert_eq!(first.with_timezone(&Utc), utc("2024-11-03T05:30:00Z"));
    assert_eq!(second.with_timezone(&Utc), utc("2024-11-03T06:30:00Z"));
    assert_eq!(offset_hours(first), -4.0);
    assert_eq!(offset_hours(second), -5.0);
    let noon = ny
        .from_local_datetime(&local("2024-07-01T12:00:00"))
        .single();
    assert_eq!(
        noon.map(|t| t.to_rfc3339()).as_deref(),
        Some("2024-07-01T12:00:00-04:00")
    );
}

#[test]
fn lord_howe_moves_its_clocks_by_half_an_hour() {
    let lh = zone("Australia/Lord_Howe");
    assert_eq!(
        offset_hours(utc("2024-07-01T00:00:00Z").with_timezone(&lh)),
        10.5
    );
    assert_eq!(
        offset_hours(utc("2025-01-01T00:00:00Z").with_timezone(&lh)),
        11.0
    );
    // Summer time starts at 02:00 on the first Sunday of October: 02:00–02:30 never happens.
    assert_eq!(
        lh.from_local_datetime(&local("2024-10-06T02:15:00")),
        MappedLocalTime::None
    );
    // It ends at 02:00 on the first Sunday of April: 01:30–02:00 happens twice.
    assert!(matches!(
        lh.from_local_datetime(&local("2025-04-06T01:45:00")),
        MappedLocalTime::Ambiguous(..)
    ));
}

#[test]
fn years_past_the_stored_transitions_follow_the_zone_rule() {
    let ny = zone("America/New_York");
    assert_eq!(
        offset_hours(utc("2100-07-01T12:00:00Z").with_timezone(&ny)),
        -4.0
    );
    assert_eq!(
        offset_hours(utc("2100-12-01T12:00:00Z").with_timezone(&ny)),
        -5.0
    );
    let kolkata = zone("Asia/Kolkata");
    assert_eq!(
        offset_hours(utc("2300-07-01T12:00:00Z").with_timezone(&kolkata)),
        5.5
    );
}

#[test]
fn instants_beyond_the_database_years_keep_the_nearest_offset() {
    let berlin = zone("Europe/Berlin");
    let far_future = DateTime::<Utc>::MAX_UTC.with_timezone(&berlin);
    assert_eq!(far_future.with_timezone(&Utc), DateTime::<Utc>::MAX_UTC);
    let far_past = DateTime::<Utc>::MIN_UTC.with_timezone(&berlin);
    assert_eq!(far_past.with_timezone(&Utc), DateTime::<Utc>::MIN_UTC);
    let stamp = local("+100000-06-01T12:00:00");
    assert!(matches!(
        berlin.offset_from_local_datetime(&stamp),
        MappedLocalTime::Single(_)
    ));
    // Local times whose instant chrono cannot represent have none, as with chrono-tz.
    let (tokyo, new_york) = (zone("Asia/Tokyo"), zone("America/New_York"));
    assert_eq!(instants(&tokyo, &NaiveDateTime::MIN), MappedLocalTime::None);
    assert_eq!(
        instants(&chrono_tz::Asia::Tokyo, &NaiveDateTime::MIN),
        MappedLocalTime::None
    );
    assert_eq!(
        instants(&new_york, &NaiveDateTime::MAX),
        MappedLocalTime::None
    );
    assert_eq!(
        instants(&chrono_tz::America::New_York, &NaiveDateTime::MAX),
        MappedLocalTime::None
    );
    let MappedLocalTime::Single((_, offset)) = instants(&tokyo, &NaiveDateTime::MAX) else {
        panic!("the last local time in Tokyo is an instant");
    };
    assert_eq!(offset.local_minus_utc(), 9 * 3600);
}

#[test]
fn a_date_time_keeps_its_zone_and_shows_its_offset() {
    let kolkata = zone("Asia/Kolkata");
    let t = utc("2024-05-01T06:30:00Z").with_timezone(&kolkata);
    assert_eq!(t.timezone(), kolkata);
    assert_eq!(t.offset().zone(), &kolkata);
    assert_eq!(Zone::from_offset(t.offset()), kolkata);
    assert_eq!(t.naive_local(), local("2024-05-01T12:00:00"));
    assert_eq!(t.to_string(), "2024-05-01 12:00:00 +05:30");
    assert_eq!(t.to_rfc3339(), "2024-05-01T12:00:00+05:30");
    assert_eq!(format!("{kolkata:?}"), "Asia/Kolkata");
    assert_eq!(format!("{:?}", t.offset()), "+05:30 (Asia/Kolkata)");
}

#[test]
fn a_local_date_takes_an_offset_that_occurred_that_day() {
    let sao_paulo = zone("America/Sao_Paulo");
    // 2018-11-04 began with the jump from 00:00 to 01:00: its midnight never happened.
    #[allow(deprecated)]
    let day = sao_paulo.offset_from_local_date(&"2018-11-04".parse().expect("date"));
    assert_eq!(
        day.map(|o| o.fix().local_minus_utc()),
        MappedLocalTime::Single(-2 * 3600)
    );
    let theirs = chrono_tz::America::Sao_Paulo;
    #[allow(deprecated)]
    let expected = theirs.offset_from_local_date(&"2018-11-04".parse().expect("date"));
    assert_eq!(
        expected.map(|o| o.fix().local_minus_utc()),
        MappedLocalTime::Single(-2 * 3600)
    );
}

/// Compares a zone with chrono-tz over 1990–2040: the offset at every UTC hour, and every local
/// half hour's instants (none, one, or two in order). Returns how many local times fell into a
/// gap and a fold, so a caller can check that transitions were met at all.
fn cross_check(theirs: chrono_tz::Tz) -> (usize, usize) {
    let ours = zone(theirs.name());
    let start = local("1990-01-01T00:00:00");
    let end = local("2041-01-01T00:00:00");
    let mut t = start;
    while t < end {
        let at = t.and_utc();
        assert_eq!(
            at.with_timezone(&ours).offset().fix(),
            at.with_timezone(&theirs).offset().fix(),
            "{} at {at}",
            theirs.name()
        );
        t += Duration::hours(1);
    }
    let (mut gaps, mut folds) = (0, 0);
    let mut wall = start;
    while wall < end {
        let mine = instants(&ours, &wall);
        assert_eq!(
            mine,
            instants(&theirs, &wall),
            "{} at local {wall}",
            theirs.name()
        );
        match mine {
            MappedLocalTime::None => gaps += 1,
            MappedLocalTime::Ambiguous(a, b) => {
                assert!(
                    a.0 < b.0,
                    "{} at local {wall}: earlier first",
                    theirs.name()
                );
                folds += 1;
            }
            MappedLocalTime::Single(_) => {}
        }
        wall += Duration::minutes(30);
    }
    (gaps, folds)
}

#[test]
fn new_york_agrees_with_chrono_tz_every_hour_from_1990_to_2040() {
    let (gaps, folds) = cross_check(chrono_tz::America::New_York);
    // Two half hours a year in each of 51 years.
    assert_eq!((gaps, folds), (102, 102));
}

#[test]
fn london_agrees_with_chrono_tz_every_hour_from_1990_to_2040() {
    let (gaps, folds) = cross_check(chrono_tz::Europe::London);
    assert_eq!((gaps, folds), (102, 102));
}

#[test]
fn lord_howe_agrees_with_chrono_tz_every_hour_from_1990_to_2040() {
    let (gaps, folds) = cross_check(chrono_tz::Australia::Lord_Howe);
    assert!(gaps >= 50 && folds >= 50, "{gaps} gaps, {folds} folds");
}

#[test]
fn chatham_agrees_with_chrono_tz_every_hour_from_1990_to_2040() {
    let (gaps, folds) = cross_check(chrono_tz::Pacific::Chatham);
    assert!(gaps >= 100 && folds >= 100, "{gaps} gaps, {folds} folds");
}

#[test]
fn sao_paulo_agrees_with_chrono_tz_every_hour_from_1990_to_2040() {
    // Brazil kept summer time until 2019, then dropped it.
    let (gaps, folds) = cross_check(chrono_tz::America::Sao_Paulo);
    assert!(
        (50..=60).contains(&gaps) && (50..=60).contains(&folds),
        "{gaps} gaps, {folds} folds"
    );
}

#[test]
fn kolkata_and_shanghai_agree_with_chrono_tz_every_hour_from_1990_to_2040() {
    assert_eq!(cross_check(chrono_tz::Asia::Kolkata), (0, 0));
    // China's last summer time was 1991.
    let (gaps, folds) = cross_check(chrono_tz::Asia::Shanghai);
    assert_eq!((gaps, folds), (4, 4));
}

/// The zones whose offsets the IANA database changed after the release chrono-tz 0.10.4 carries
/// (2025b), with the first changed instant this check meets. Anything else that differs is a bug.
const CHANGED_SINCE_CHRONO_TZ: &[&str] = &[
    // Morocco's and Western Sahara's clocks from September 2026 on.
    "Africa/Casablanca",
    "Africa/El_Aaiun",
    // Alberta, British Columbia and Manitoba keep summer time from November 2026 on.
    "America/Edmonton",
    "America/Inuvik",
    "America/Rainy_River",
    "America/Vancouver",
    "America/Winnipeg",
    "America/Yellowknife",
    "Canada/Central",
    "Canada/Mountain",
    "Canada/Pacific",
    // Cuba from November 2026 on.
    "America/Havana",
    "Cuba",
    // Baja California's summer time in the 1970s, corrected.
    "America/Ensenada",
    "America/Santa_Isabel",
    "America/Tijuana",
    "Mexico/BajaNorte",
];

#[test]
fn every_zone_agrees_with_chrono_tz_from_1970_to_2060_except_where_the_database_changed() {
    let start = utc("1970-01-01T00:00:00Z").timestamp();
    let end = utc("2060-01-01T00:00:00Z").timestamp();
    // Three days and five hours: every weekday and hour of day comes round.
    let step = 3 * 86_400 + 5 * 3600;
    let mut differing = BTreeSet::new();
    for theirs in chrono_tz::TZ_VARIANTS {
        let ours = zone(theirs.name());
        let mut s = start;
        while s < end {
            let at = DateTime::from_timestamp(s, 0).expect("in range");
            if at.with_timezone(&ours).offset().fix() != at.with_timezone(&theirs).offset().fix() {
                differing.insert(theirs.name());
                break;
            }
            s += step;
        }
    }
    let expected: BTreeSet<&str> = CHANGED_SINCE_CHRONO_TZ.iter().copied().collect();
    assert_eq!(differing, expected);
}

#[test]
fn the_exported_database_file_holds_every_accepted_name_and_the_same_offsets() {
    let file = database::export();
    let installed = Database::parse(file.clone()).expect("the exported file parses");
    let names: Vec<&str> = installed.names().collect();
    let accepted: Vec<String> = jiff::tz::TimeZoneDatabase::bundled()
        .available()
        .filter_map(|name| Zone::from_name(name.as_str()).ok())
        .map(|z| z.name().to_owned())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    // The file also carries `Factory`, which `Zone::from_name` refuses either way.
    let in_file: Vec<&str> = names.iter().copied().filter(|n| *n != "Factory").collect();
    assert_eq!(in_file, accepted);
    // Links share their target's bytes instead of repeating them.
    assert!(file.len() < 260_000, "file is {} bytes", file.len());
    let probes: Vec<i64> = (0..=90).map(|y| y * 365 * 86_400 + 120 * 86_400).collect();
    for name in &accepted {
        let theirs = installed.get(name).expect("every name parses");
        assert_eq!(theirs.iana_name(), Some(name.as_str()));
        let ours = zone(name);
        for &s in &probes {
            let t = jiff::Timestamp::from_second(s).unwrap();
            assert_eq!(theirs.to_offset(t), ours.tz.to_offset(t), "{name} at {s}");
        }
    }
    // Only exact spellings are found, as with the bundled copy.
    assert!(installed.get("europe/berlin").is_none());
    assert!(installed.get("Etc/Unknown").is_none());
}

#[test]
fn a_damaged_database_file_is_refused_with_a_reason() {
    let file = database::export();
    assert_eq!(
        Database::parse(b"TZif".to_vec()).err(),
        Some(DatabaseError::Truncated)
    );
    let mut bad_magic = file.clone();
    bad_magic[0] = b'X';
    assert_eq!(
        Database::parse(bad_magic).err(),
        Some(DatabaseError::Header)
    );
    assert_eq!(
        Database::parse(file[..file.len() - 10].to_vec()).err(),
        Some(DatabaseError::Truncated)
    );
    // The first zone's data no longer starts with the TZif magic.
    let data_start = file.len() - {
        let db = Database::parse(file.clone()).unwrap();
        db.data_len()
    };
    let mut bad_data = file.clone();
    bad_data[data_start] = b'X';
    assert!(matches!(
        Database::parse(bad_data),
        Err(DatabaseError::Data(_))
    ));
}
