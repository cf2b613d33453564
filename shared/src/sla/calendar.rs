//! Business-hours calendars: when a support team is open, in its own time zone.
//!
//! A [`Calendar`] is the stored configuration (serde): an IANA time zone, opening intervals per
//! weekday (several a day, overnight shifts that end the next morning) and holidays (single days,
//! ranges, or the same days every year). [`Calendar::compile`] validates it and yields a
//! [`BusinessCalendar`], which answers the questions SLA timers ask: is the desk open at an
//! instant, when does it open next, which instant is N business minutes after another, and how
//! much business time lies between two instants. [`Clock`] puts a business calendar and plain
//! calendar time (24/7) behind one interface.
//!
//! # Wall-clock semantics and DST
//!
//! Intervals and holidays are written in local wall-clock time. An interval opens at the first
//! instant the local clocks show its start time and closes at the first instant they show its end
//! time. So business time is always real elapsed time: a night shift `00:00–08:00` lasts 7 hours
//! on a spring-forward night and 9 hours on a fall-back night. A time that does not exist (inside
//! a spring-forward gap) is reached when the clocks jump past it.
//!
//! A holiday closes its whole local day, midnight to midnight, including the part of an overnight
//! shift that started the evening before.

use std::fmt;
use std::str::FromStr;

use chrono::{
    DateTime, Datelike, MappedLocalTime, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, TimeZone,
    Utc, Weekday,
};
use edgedesk_tz::Zone;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::Instant;

/// How far calendar searches look ahead (or back) before concluding the desk never opens, e.g.
/// when yearly holidays cover every open day. Ten years is far beyond any SLA target.
const SEARCH_HORIZON_DAYS: u32 = 3660;

/// Longest accepted holiday range: a closure longer than a year is a configuration mistake.
pub const MAX_HOLIDAY_RANGE_DAYS: i64 = 366;

const MINUTES_PER_DAY: u32 = 24 * 60;
const MINUTES_PER_WEEK: u32 = 7 * MINUTES_PER_DAY;

/// A wall-clock time of day with minute resolution, written `"HH:MM"`. `"24:00"` is the end of
/// the day and is only meaningful as an interval end.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClockTime(u16);

impl ClockTime {
    pub const MIDNIGHT: ClockTime = ClockTime(0);
    pub const END_OF_DAY: ClockTime = ClockTime(MINUTES_PER_DAY as u16);

    /// `hour` 0..=24, `minute` 0..=59; 24 only with minute 0.
    pub fn new(hour: u8, minute: u8) -> Option<Self> {
        if minute > 59 || hour > 24 || (hour == 24 && minute > 0) {
            return None;
        }
        Some(ClockTime(u16::from(hour) * 60 + u16::from(minute)))
    }

    /// Minutes since midnight (0..=1440).
    pub fn minutes(self) -> u32 {
        u32::from(self.0)
    }
}

/// A string that is not a valid `"HH:MM"` time of day.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid time of day `{0}`: expected HH:MM between 00:00 and 24:00")]
pub struct ParseClockTimeError(String);

impl FromStr for ClockTime {
    type Err = ParseClockTimeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseClockTimeError(s.to_owned());
        let (h, m) = s.split_once(':').ok_or_else(err)?;
        if h.len() != 2 || m.len() != 2 {
            return Err(err());
        }
        let hour = h.parse::<u8>().map_err(|_| err())?;
        let minute = m.parse::<u8>().map_err(|_| err())?;
        ClockTime::new(hour, minute).ok_or_else(err)
    }
}

impl fmt::Display for ClockTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.0 / 60, self.0 % 60)
    }
}

impl fmt::Debug for ClockTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for ClockTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ClockTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A day of the year, written `"MM-DD"`, for holidays that recur every year. `02-29` is allowed
/// and then only occurs in leap years.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MonthDay {
    month: u8,
    day: u8,
}

impl MonthDay {
    pub fn new(month: u8, day: u8) -> Option<Self> {
        let max_day = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 => 29,
            _ => return None,
        };
        (1..=max_day)
            .contains(&day)
            .then_some(MonthDay { month, day })
    }

    pub fn month(self) -> u8 {
        self.month
    }

    pub fn day(self) -> u8 {
        self.day
    }

    fn of(date: NaiveDate) -> Self {
        // Month and day of a valid date always fit and are always valid.
        MonthDay {
            month: date.month() as u8,
            day: date.day() as u8,
        }
    }
}

/// A string that is not a valid `"MM-DD"` day of the year.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid day of the year `{0}`: expected MM-DD")]
pub struct ParseMonthDayError(String);

impl FromStr for MonthDay {
    type Err = ParseMonthDayError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseMonthDayError(s.to_owned());
        let (m, d) = s.split_once('-').ok_or_else(err)?;
        if m.len() != 2 || d.len() != 2 {
            return Err(err());
        }
        let month = m.parse::<u8>().map_err(|_| err())?;
        let day = d.parse::<u8>().map_err(|_| err())?;
        MonthDay::new(month, day).ok_or_else(err)
    }
}

impl fmt::Display for MonthDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}-{:02}", self.month, self.day)
    }
}

impl fmt::Debug for MonthDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for MonthDay {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for MonthDay {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// One opening interval of a weekday, e.g. `{"start": "09:00", "end": "17:00"}`. With
/// `"overnight": true` the interval ends on the following day (`22:00` to `06:00`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpeningInterval {
    pub start: ClockTime,
    pub end: ClockTime,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub overnight: bool,
}

impl OpeningInterval {
    /// A same-day interval.
    pub fn new(start: ClockTime, end: ClockTime) -> Self {
        OpeningInterval {
            start,
            end,
            overnight: false,
        }
    }

    /// An interval that ends on the following day.
    pub fn overnight(start: ClockTime, end: ClockTime) -> Self {
        OpeningInterval {
            start,
            end,
            overnight: true,
        }
    }

    /// Start and end in minutes from the midnight that starts the interval's weekday.
    fn span_minutes(&self) -> (u32, u32) {
        let end = self.end.minutes() + if self.overnight { MINUTES_PER_DAY } else { 0 };
        (self.start.minutes(), end)
    }

    fn validate(&self, day: Weekday) -> Result<(), CalendarError> {
        let (start, end) = (self.start, self.end);
        if start == ClockTime::END_OF_DAY {
            return Err(CalendarError::StartAtEndOfDay { day });
        }
        if self.overnight {
            // Ending after the start time on the next day would make the shift longer than a
            // day, which is certainly a typo for a same-day interval.
            if end > start {
                return Err(CalendarError::OvernightLongerThanADay { day, start, end });
            }
        } else if end <= start {
            return Err(CalendarError::EndNotAfterStart { day, start, end });
        }
        Ok(())
    }
}

/// Opening intervals for each weekday; a missing day is closed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeeklyHours {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub monday: Vec<OpeningInterval>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tuesday: Vec<OpeningInterval>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub wednesday: Vec<OpeningInterval>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub thursday: Vec<OpeningInterval>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub friday: Vec<OpeningInterval>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub saturday: Vec<OpeningInterval>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sunday: Vec<OpeningInterval>,
}

impl WeeklyHours {
    /// The same intervals on each of `days`, closed on the others.
    pub fn on(days: &[Weekday], intervals: &[OpeningInterval]) -> Self {
        let mut hours = WeeklyHours::default();
        for &day in days {
            hours.day_mut(day).extend_from_slice(intervals);
        }
        hours
    }

    pub fn day(&self, day: Weekday) -> &[OpeningInterval] {
        match day {
            Weekday::Mon => &self.monday,
            Weekday::Tue => &self.tuesday,
            Weekday::Wed => &self.wednesday,
            Weekday::Thu => &self.thursday,
            Weekday::Fri => &self.friday,
            Weekday::Sat => &self.saturday,
            Weekday::Sun => &self.sunday,
        }
    }

    pub fn day_mut(&mut self, day: Weekday) -> &mut Vec<OpeningInterval> {
        match day {
            Weekday::Mon => &mut self.monday,
            Weekday::Tue => &mut self.tuesday,
            Weekday::Wed => &mut self.wednesday,
            Weekday::Thu => &mut self.thursday,
            Weekday::Fri => &mut self.friday,
            Weekday::Sat => &mut self.saturday,
            Weekday::Sun => &mut self.sunday,
        }
    }

    fn validate(&self) -> Result<(), CalendarError> {
        // Every interval placed on a ring of week minutes (Monday 00:00 = 0), so that Sunday's
        // overnight shift is checked against Monday morning too.
        let mut spans = Vec::new();
        for day in WEEK {
            let base = day.num_days_from_monday() * MINUTES_PER_DAY;
            for interval in self.day(day) {
                interval.validate(day)?;
                let (start, end) = interval.span_minutes();
                spans.push((base + start, base + end, day, interval.start));
            }
        }
        if spans.is_empty() {
            return Err(CalendarError::NoOpeningHours);
        }
        crate::sort::sort_by_key(&mut spans, |s| s.0);
        let overlap = |a: &(u32, u32, Weekday, ClockTime), b: &(u32, u32, Weekday, ClockTime)| {
            CalendarError::Overlap {
                day: a.2,
                start: a.3,
                other_day: b.2,
                other_start: b.3,
            }
        };
        for pair in spans.windows(2) {
            if pair[1].0 < pair[0].1 {
                return Err(overlap(&pair[0], &pair[1]));
            }
        }
        if let (Some(first), Some(last)) = (spans.first(), spans.last()) {
            if spans.len() > 1 && last.1 > MINUTES_PER_WEEK + first.0 {
                return Err(overlap(last, first));
            }
        }
        Ok(())
    }
}

const WEEK: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];

/// Days the desk is closed regardless of its weekly hours. Decoded by hand (see the
/// `Deserialize` impl below); the attributes here shape its encoding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Holiday {
    /// One day, e.g. `{"kind": "date", "date": "2024-12-25"}`.
    Date {
        date: NaiveDate,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        name: String,
    },
    /// Consecutive days, both ends included.
    Range {
        from: NaiveDate,
        to: NaiveDate,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        name: String,
    },
    /// The same day(s) every year, e.g. `{"kind": "yearly", "from": "12-24", "to": "12-26"}`.
    /// Without `to` it is a single day; a range may wrap over New Year (`12-31` to `01-01`).
    Yearly {
        from: MonthDay,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<MonthDay>,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        name: String,
    },
}

crate::tag_set! {
    /// The holiday kinds, as `kind` names them.
    enum HolidayKind {
        Date = "date",
        Range = "range",
        Yearly = "yearly",
    }
}

/// Every field a holiday has, whatever its kind.
const HOLIDAY_FIELDS: &[&str] = &["kind", "date", "name", "from", "to"];

/// serde's derive for an internally tagged enum buffers the object and runs a decoder per
/// variant over the buffer (about 10 KB of WebAssembly for this enum); one pass over the fields
/// accepts and refuses the same objects with the same messages. `from` and `to` are a date in a
/// range and a month-day in a yearly holiday, so they wait as JSON values until `kind` is known.
impl<'de> Deserialize<'de> for Holiday {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(HolidayVisitor)
    }
}

struct HolidayVisitor;

impl<'de> serde::de::Visitor<'de> for HolidayVisitor {
    type Value = Holiday;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        // As the derived decoder said it.
        f.write_str("internally tagged enum Holiday")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Holiday, A::Error> {
        use crate::tagged::Strict;
        use serde::de::{DeserializeOwned, Error};
        use serde_json::Value;
        let mut kind = None;
        let mut date = None;
        let mut name = None;
        let mut from: Option<Value> = None;
        let mut to: Option<Value> = None;
        let mut fields = Strict::new("kind");
        while let Some(known) = fields.next(&mut map, HOLIDAY_FIELDS)? {
            let again = match known {
                "kind" => kind.replace(map.next_value::<HolidayKind>()?).is_some(),
                "date" => date.replace(map.next_value::<NaiveDate>()?).is_some(),
                "name" => name.replace(map.next_value::<String>()?).is_some(),
                "from" => from.replace(map.next_value()?).is_some(),
                _ => to.replace(map.next_value()?).is_some(),
            };
            fields.saw(known, again);
        }
        fields.no_duplicate()?;
        let kind = kind.ok_or_else(|| A::Error::missing_field("kind"))?;
        fields.only(match kind {
            HolidayKind::Date => &["date", "name"],
            HolidayKind::Range | HolidayKind::Yearly => &["from", "to", "name"],
        })?;
        fn typed<T: DeserializeOwned, E: Error>(
            value: Option<Value>,
            field: &'static str,
        ) -> Result<T, E> {
            match value {
                Some(v) => T::deserialize(v).map_err(E::custom),
                None => Err(E::missing_field(field)),
            }
        }
        let name = name.unwrap_or_default();
        Ok(match kind {
            HolidayKind::Date => Holiday::Date {
                date: date.ok_or_else(|| A::Error::missing_field("date"))?,
                name,
            },
            HolidayKind::Range => Holiday::Range {
                from: typed(from, "from")?,
                to: typed(to, "to")?,
                name,
            },
            HolidayKind::Yearly => Holiday::Yearly {
                from: typed(from, "from")?,
                to: typed(to.or(Some(Value::Null)), "to")?,
                name,
            },
        })
    }
}

impl Holiday {
    pub fn covers(&self, date: NaiveDate) -> bool {
        match self {
            Holiday::Date { date: d, .. } => *d == date,
            Holiday::Range { from, to, .. } => (*from..=*to).contains(&date),
            Holiday::Yearly { from, to, .. } => {
                let day = MonthDay::of(date);
                let to = to.unwrap_or(*from);
                if from <= &to {
                    (*from..=to).contains(&day)
                } else {
                    day >= *from || day <= to
                }
            }
        }
    }

    fn validate(&self) -> Result<(), CalendarError> {
        if let Holiday::Range { from, to, .. } = self {
            if to < from {
                return Err(CalendarError::HolidayRangeReversed {
                    from: *from,
                    to: *to,
                });
            }
            if (*to - *from).num_days() >= MAX_HOLIDAY_RANGE_DAYS {
                return Err(CalendarError::HolidayRangeTooLong {
                    from: *from,
                    to: *to,
                });
            }
        }
        Ok(())
    }
}

/// A business-hours calendar as configured by a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Calendar {
    pub id: String,
    #[serde(default)]
    pub name: String,
    /// IANA time zone name, e.g. `Europe/Berlin`.
    pub timezone: String,
    pub hours: WeeklyHours,
    #[serde(default)]
    pub holidays: Vec<Holiday>,
}

/// Why a calendar configuration is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("a calendar needs an id")]
    EmptyId,
    #[error("unknown time zone `{0}`")]
    UnknownTimezone(String),
    #[error("the calendar has no opening hours on any day")]
    NoOpeningHours,
    #[error("{day}: an interval cannot start at 24:00")]
    StartAtEndOfDay { day: Weekday },
    #[error("{day}: interval {start}-{end} ends before it starts (mark it overnight if it ends the next day)")]
    EndNotAfterStart {
        day: Weekday,
        start: ClockTime,
        end: ClockTime,
    },
    #[error("{day}: overnight interval {start}-{end} would last longer than a day")]
    OvernightLongerThanADay {
        day: Weekday,
        start: ClockTime,
        end: ClockTime,
    },
    #[error("{day} {start} overlaps the interval starting {other_day} {other_start}")]
    Overlap {
        day: Weekday,
        start: ClockTime,
        other_day: Weekday,
        other_start: ClockTime,
    },
    #[error("holiday range {from} to {to} ends before it starts")]
    HolidayRangeReversed { from: NaiveDate, to: NaiveDate },
    #[error("holiday range {from} to {to} is longer than {MAX_HOLIDAY_RANGE_DAYS} days")]
    HolidayRangeTooLong { from: NaiveDate, to: NaiveDate },
}

impl Calendar {
    /// Checks the configuration; the same checks [`Calendar::compile`] makes.
    pub fn validate(&self) -> Result<(), CalendarError> {
        self.compile().map(drop)
    }

    /// Validates the configuration and prepares it for time arithmetic.
    pub fn compile(&self) -> Result<BusinessCalendar, CalendarError> {
        if self.id.trim().is_empty() {
            return Err(CalendarError::EmptyId);
        }
        let tz = Zone::from_name(&self.timezone)
            .map_err(|_| CalendarError::UnknownTimezone(self.timezone.clone()))?;
        self.hours.validate()?;
        for holiday in &self.holidays {
            holiday.validate()?;
        }
        let week = WEEK.map(|day| {
            let mut spans: Vec<(u32, u32)> = self
                .hours
                .day(day)
                .iter()
                .map(OpeningInterval::span_minutes)
                .collect();
            crate::sort::sort(&mut spans);
            spans
        });
        Ok(BusinessCalendar {
            tz,
            week,
            holidays: self.holidays.clone(),
        })
    }
}

/// A half-open span of instants `[start, end)` during which the desk is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenPeriod {
    pub start: Instant,
    pub end: Instant,
}

/// A validated calendar, ready for business-time arithmetic.
#[derive(Debug, Clone)]
pub struct BusinessCalendar {
    tz: Zone,
    /// Per weekday, Monday first: (start, end) in minutes from that day's midnight, sorted; an
    /// overnight end exceeds 1440.
    week: [Vec<(u32, u32)>; 7],
    holidays: Vec<Holiday>,
}

impl BusinessCalendar {
    pub fn timezone(&self) -> Zone {
        self.tz.clone()
    }

    /// Whether `date` (a local date in the calendar's zone) is a holiday.
    pub fn is_holiday(&self, date: NaiveDate) -> bool {
        self.holidays.iter().any(|h| h.covers(date))
    }

    /// Whether the desk is open at `t`.
    pub fn is_open(&self, t: Instant) -> bool {
        let date = self.local_date(t);
        let mut periods = Vec::new();
        // An overnight shift of the previous day may still run; around a fall-back at midnight
        // the next day's first shift may already have started.
        for day in [date.pred_opt(), Some(date), date.succ_opt()]
            .into_iter()
            .flatten()
        {
            self.day_periods(day, &mut periods);
        }
        periods.iter().any(|p| p.start <= t && t < p.end)
    }

    /// `t` itself if the desk is open then, else the start of the next opening. `None` if the
    /// desk does not open within the search horizon (e.g. holidays cover every open day).
    pub fn next_open(&self, t: Instant) -> Option<Instant> {
        self.forward_periods(t).next().map(|p| p.start.max(t))
    }

    /// The instant at which `d` of business time has elapsed after `t`; a negative `d` goes
    /// back. A result at the end of an opening is that end (a target due "by 17:00"), not the
    /// next morning.
    pub fn add(&self, t: Instant, d: TimeDelta) -> Option<Instant> {
        if d < TimeDelta::zero() {
            return self.sub(t, -d);
        }
        if d.is_zero() {
            return Some(t);
        }
        let mut remaining = d;
        for period in self.forward_periods(t) {
            let from = period.start.max(t);
            let available = period.end - from;
            if available >= remaining {
                return from.checked_add_signed(remaining);
            }
            remaining -= available;
        }
        None
    }

    /// The instant `d` of business time before `t`; inverse of [`BusinessCalendar::add`] on
    /// open instants.
    pub fn sub(&self, t: Instant, d: TimeDelta) -> Option<Instant> {
        if d < TimeDelta::zero() {
            return self.add(t, -d);
        }
        if d.is_zero() {
            return Some(t);
        }
        let mut remaining = d;
        for period in self.backward_periods(t) {
            let to = period.end.min(t);
            let available = to - period.start;
            if available >= remaining {
                return to.checked_sub_signed(remaining);
            }
            remaining -= available;
        }
        None
    }

    /// Business time from `a` to `b`; negative when `b` is before `a`.
    pub fn between(&self, a: Instant, b: Instant) -> TimeDelta {
        if b < a {
            return -self.between(b, a);
        }
        self.open_periods(a, b)
            .iter()
            .map(|p| p.end - p.start)
            .sum()
    }

    /// The openings within `[from, to)`, clipped to it, in order.
    pub fn open_periods(&self, from: Instant, to: Instant) -> Vec<OpenPeriod> {
        let mut out = Vec::new();
        if to <= from {
            return out;
        }
        for period in self.forward_periods(from) {
            if period.start >= to {
                break;
            }
            out.push(OpenPeriod {
                start: period.start.max(from),
                end: period.end.min(to),
            });
        }
        out
    }

    /// Openings that end after `t`, in order, up to the search horizon.
    fn forward_periods(&self, t: Instant) -> impl Iterator<Item = OpenPeriod> + '_ {
        let first = self.local_date(t);
        let first = first.pred_opt().unwrap_or(first);
        let days =
            std::iter::successors(Some(first), |d| d.succ_opt()).take(SEARCH_HORIZON_DAYS as usize);
        days.flat_map(move |day| {
            let mut periods = Vec::new();
            self.day_periods(day, &mut periods);
            periods
        })
        .filter(move |p| p.end > t)
    }

    /// Openings that start before `t`, latest first, back to the search horizon.
    fn backward_periods(&self, t: Instant) -> impl Iterator<Item = OpenPeriod> + '_ {
        let first = self.local_date(t);
        let first = first.succ_opt().unwrap_or(first);
        let days =
            std::iter::successors(Some(first), |d| d.pred_opt()).take(SEARCH_HORIZON_DAYS as usize);
        days.flat_map(move |day| {
            let mut periods = Vec::new();
            self.day_periods(day, &mut periods);
            periods.reverse();
            periods
        })
        .filter(move |p| p.start < t)
    }

    fn local_date(&self, t: Instant) -> NaiveDate {
        t.with_timezone(&self.tz).date_naive()
    }

    /// Appends the openings of the intervals that start on local `date`, minus holidays.
    fn day_periods(&self, date: NaiveDate, out: &mut Vec<OpenPeriod>) {
        let weekday = date.weekday().num_days_from_monday() as usize;
        let midnight = date.and_time(NaiveTime::MIN);
        for &(start, end) in &self.week[weekday] {
            let local_start = midnight.checked_add_signed(TimeDelta::minutes(i64::from(start)));
            let local_end = midnight.checked_add_signed(TimeDelta::minutes(i64::from(end)));
            let (Some(local_start), Some(local_end)) = (local_start, local_end) else {
                continue;
            };
            let (Some(start), Some(end)) = (self.reach(local_start), self.reach(local_end)) else {
                continue;
            };
            if start >= end {
                // The whole interval fell into a spring-forward gap.
                continue;
            }
            let first_piece = out.len();
            out.push(OpenPeriod { start, end });
            // The last local date the interval touches: an end at midnight touches no more of it.
            let last_day = local_end
                .checked_sub_signed(TimeDelta::seconds(1))
                .map_or(date, |t| t.date());
            let mut day = date;
            while day <= last_day {
                if self.is_holiday(day) {
                    self.cut_day(day, out, first_piece);
                }
                let Some(next) = day.succ_opt() else { break };
                day = next;
            }
        }
    }

    /// Removes local `day` (midnight to midnight) from the periods in `out[first..]`.
    fn cut_day(&self, day: NaiveDate, out: &mut Vec<OpenPeriod>, first: usize) {
        let start = self.reach(day.and_time(NaiveTime::MIN));
        let end = day
            .succ_opt()
            .and_then(|next| self.reach(next.and_time(NaiveTime::MIN)));
        let (Some(hole_start), Some(hole_end)) = (start, end) else {
            // Only at the very edge of the representable range: close the rest entirely.
            out.truncate(first);
            return;
        };
        let pieces: Vec<OpenPeriod> = out.drain(first..).collect();
        for p in pieces {
            let left = OpenPeriod {
                start: p.start,
                end: p.end.min(hole_start),
            };
            let right = OpenPeriod {
                start: p.start.max(hole_end),
                end: p.end,
            };
            out.extend([left, right].into_iter().filter(|q| q.start < q.end));
        }
    }

    /// The first instant at which local clocks show `local`: for a time repeated by a fall-back,
    /// its first occurrence; for a time skipped by a spring-forward, the instant of the jump.
    fn reach(&self, local: NaiveDateTime) -> Option<Instant> {
        match self.tz.from_local_datetime(&local) {
            MappedLocalTime::Single(t) => Some(t.with_timezone(&Utc)),
            MappedLocalTime::Ambiguous(a, b) => Some(a.min(b).with_timezone(&Utc)),
            MappedLocalTime::None => self.gap_end(local),
        }
    }

    /// For a local time inside a gap, the transition instant: the first instant whose wall
    /// clock reads at least `local`. chrono's `TimeZone` trait does not expose transitions, so
    /// bisect on seconds; wall time is monotone around a gap.
    fn gap_end(&self, local: NaiveDateTime) -> Option<Instant> {
        let guess = local.and_utc().timestamp();
        // UTC offsets lie within -12h..+14h, so the wall clock is before `local` 15 hours
        // earlier and after it 13 hours later.
        let (mut lo, mut hi) = (guess - 15 * 3600, guess + 13 * 3600);
        let wall = |secs: i64| {
            DateTime::from_timestamp(secs, 0).map(|t| t.with_timezone(&self.tz).naive_local())
        };
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if wall(mid)? >= local {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        DateTime::from_timestamp(hi, 0)
    }
}

/// How a target's time is measured: business hours of a calendar, or continuous time (24/7).
#[derive(Debug, Clone, Copy)]
pub enum Clock<'a> {
    /// Every instant counts.
    Continuous,
    /// Only opening hours count.
    Business(&'a BusinessCalendar),
}

impl Clock<'_> {
    pub fn is_open(&self, t: Instant) -> bool {
        match self {
            Clock::Continuous => true,
            Clock::Business(c) => c.is_open(t),
        }
    }

    pub fn next_open(&self, t: Instant) -> Option<Instant> {
        match self {
            Clock::Continuous => Some(t),
            Clock::Business(c) => c.next_open(t),
        }
    }

    pub fn add(&self, t: Instant, d: TimeDelta) -> Option<Instant> {
        match self {
            Clock::Continuous => t.checked_add_signed(d),
            Clock::Business(c) => c.add(t, d),
        }
    }

    pub fn sub(&self, t: Instant, d: TimeDelta) -> Option<Instant> {
        match self {
            Clock::Continuous => t.checked_sub_signed(d),
            Clock::Business(c) => c.sub(t, d),
        }
    }

    pub fn between(&self, a: Instant, b: Instant) -> TimeDelta {
        match self {
            Clock::Continuous => b - a,
            Clock::Business(c) => c.between(a, b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(s: &str) -> Instant {
        DateTime::parse_from_rfc3339(s)
            .expect("test instant")
            .with_timezone(&Utc)
    }

    fn hm(s: &str) -> ClockTime {
        s.parse().expect("test time")
    }

    fn day(s: &str) -> NaiveDate {
        s.parse().expect("test date")
    }

    fn iv(start: &str, end: &str) -> OpeningInterval {
        OpeningInterval::new(hm(start), hm(end))
    }

    fn night(start: &str, end: &str) -> OpeningInterval {
        OpeningInterval::overnight(hm(start), hm(end))
    }

    fn mins(m: i64) -> TimeDelta {
        TimeDelta::minutes(m)
    }

    const WEEKDAYS: [Weekday; 5] = [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
    ];

    fn build(tz: &str, hours: WeeklyHours, holidays: Vec<Holiday>) -> BusinessCalendar {
        Calendar {
            id: "cal".into(),
            name: String::new(),
            timezone: tz.into(),
            hours,
            holidays,
        }
        .compile()
        .expect("valid test calendar")
    }

    fn date_holiday(d: &str) -> Holiday {
        Holiday::Date {
            date: day(d),
            name: String::new(),
        }
    }

    fn office(tz: &str, holidays: Vec<Holiday>) -> BusinessCalendar {
        build(
            tz,
            WeeklyHours::on(&WEEKDAYS, &[iv("09:00", "17:00")]),
            holidays,
        )
    }

    fn ny_office() -> BusinessCalendar {
        office("America/New_York", vec![])
    }
    fn berlin_office() -> BusinessCalendar {
        office("Europe/Berlin", vec![])
    }
    fn ny_sunday_early() -> BusinessCalendar {
        build(
            "America/New_York",
            WeeklyHours::on(&[Weekday::Sun], &[iv("00:00", "08:00")]),
            vec![],
        )
    }
    fn berlin_sunday_early() -> BusinessCalendar {
        build(
            "Europe/Berlin",
            WeeklyHours::on(&[Weekday::Sun], &[iv("00:00", "08:00")]),
            vec![],
        )
    }
    fn ny_saturday_night() -> BusinessCalendar {
        build(
            "America/New_York",
            WeeklyHours::on(&[Weekday::Sat], &[night("22:00", "06:00")]),
            vec![],
        )
    }
    fn berlin_saturday_night() -> BusinessCalendar {
        build(
            "Europe/Berlin",
            WeeklyHours::on(&[Weekday::Sat], &[night("22:00", "06:00")]),
            vec![],
        )
    }
    fn ny_opens_in_gap() -> BusinessCalendar {
        build(
            "America/New_York",
            WeeklyHours::on(&[Weekday::Sun], &[iv("02:30", "04:00")]),
            vec![],
        )
    }
    fn ny_closes_in_repeat() -> BusinessCalendar {
        build(
            "America/New_York",
            WeeklyHours::on(&[Weekday::Sun], &[iv("00:00", "01:30")]),
            vec![],
        )
    }
    fn berlin_always() -> BusinessCalendar {
        let all = [
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
            Weekday::Sat,
            Weekday::Sun,
        ];
        build(
            "Europe/Berlin",
            WeeklyHours::on(&all, &[iv("00:00", "24:00")]),
            vec![],
        )
    }
    fn shanghai_nights() -> BusinessCalendar {
        build(
            "Asia/Shanghai",
            WeeklyHours::on(&WEEKDAYS, &[night("22:00", "06:00")]),
            vec![],
        )
    }
    fn shanghai_nights_golden_week() -> BusinessCalendar {
        build(
            "Asia/Shanghai",
            WeeklyHours::on(&WEEKDAYS, &[night("22:00", "06:00")]),
            vec![date_holiday("2024-10-01")],
        )
    }
    fn sunday_night_into_monday() -> BusinessCalendar {
        build(
            "UTC",
            WeeklyHours::on(&[Weekday::Sun], &[night("22:00", "02:00")]),
            vec![],
        )
    }
    fn split_shift() -> BusinessCalendar {
        build(
            "Europe/Berlin",
            WeeklyHours::on(&WEEKDAYS, &[iv("13:00", "17:00"), iv("08:00", "12:00")]),
            vec![],
        )
    }
    fn ny_office_midweek_holiday() -> BusinessCalendar {
        office("America/New_York", vec![date_holiday("2024-05-15")])
    }
    fn ny_office_saturday_holiday() -> BusinessCalendar {
        office("America/New_York", vec![date_holiday("2024-05-18")])
    }
    fn ny_six_days_saturday_holiday() -> BusinessCalendar {
        let days = [
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
            Weekday::Sat,
        ];
        build(
            "America/New_York",
            WeeklyHours::on(&days, &[iv("09:00", "17:00")]),
            vec![date_holiday("2024-05-18")],
        )
    }
    fn berlin_christmas_range() -> BusinessCalendar {
        office(
            "Europe/Berlin",
            vec![Holiday::Range {
                from: day("2024-12-24"),
                to: day("2024-12-26"),
                name: "Weihnachten".into(),
            }],
        )
    }
    fn berlin_yearly_christmas() -> BusinessCalendar {
        office(
            "Europe/Berlin",
            vec![Holiday::Yearly {
                from: "12-24".parse().expect("md"),
                to: Some("12-26".parse().expect("md")),
                name: String::new(),
            }],
        )
    }
    fn ny_memorial_day() -> BusinessCalendar {
        office("America/New_York", vec![date_holiday("2024-05-27")])
    }

    struct AddCase {
        name: &'static str,
        calendar: fn() -> BusinessCalendar,
        from: &'static str,
        minutes: i64,
        expect: &'static str,
    }

    #[test]
    fn adding_business_time_lands_where_the_table_says() {
        #[rustfmt::skip]
        let cases = [
            AddCase { name: "NY spring-forward night: 3 business hours are 3 real hours", calendar: ny_sunday_early, from: "2024-03-10T05:00:00Z", minutes: 180, expect: "2024-03-10T08:00:00Z" },
            AddCase { name: "NY spring-forward night: a full shift ends at 08:00 EDT", calendar: ny_sunday_early, from: "2024-03-10T05:00:00Z", minutes: 420, expect: "2024-03-10T12:00:00Z" },
            AddCase { name: "NY spring-forward night: one minute more waits a week", calendar: ny_sunday_early, from: "2024-03-10T05:00:00Z", minutes: 421, expect: "2024-03-17T04:01:00Z" },
            AddCase { name: "NY fall-back night: 2 hours land in the repeated hour", calendar: ny_sunday_early, from: "2024-11-03T04:00:00Z", minutes: 120, expect: "2024-11-03T06:00:00Z" },
            AddCase { name: "NY fall-back night: the shift lasts 9 hours", calendar: ny_sunday_early, from: "2024-11-03T04:00:00Z", minutes: 540, expect: "2024-11-03T13:00:00Z" },
            AddCase { name: "Berlin spring-forward night: 2 hours from midnight is 03:00 CEST", calendar: berlin_sunday_early, from: "2024-03-30T23:00:00Z", minutes: 120, expect: "2024-03-31T01:00:00Z" },
            AddCase { name: "Berlin fall-back night: 3.5 hours from midnight is the second 02:30", calendar: berlin_sunday_early, from: "2024-10-26T22:00:00Z", minutes: 210, expect: "2024-10-27T01:30:00Z" },
            AddCase { name: "NY office over the spring weekend keeps local 10:00", calendar: ny_office, from: "2024-03-08T14:00:00Z", minutes: 540, expect: "2024-03-11T14:00:00Z" },
            AddCase { name: "NY office over the fall weekend keeps local 10:00", calendar: ny_office, from: "2024-11-01T20:00:00Z", minutes: 120, expect: "2024-11-04T15:00:00Z" },
            AddCase { name: "Berlin office over the spring weekend keeps local 10:00", calendar: berlin_office, from: "2024-03-29T08:00:00Z", minutes: 540, expect: "2024-04-01T08:00:00Z" },
            AddCase { name: "Berlin office over the fall weekend keeps local 10:00", calendar: berlin_office, from: "2024-10-25T14:00:00Z", minutes: 120, expect: "2024-10-28T09:00:00Z" },
            AddCase { name: "a target due exactly at closing is due at closing", calendar: berlin_office, from: "2024-06-03T07:00:00Z", minutes: 480, expect: "2024-06-03T15:00:00Z" },
            AddCase { name: "a start before opening counts from opening", calendar: berlin_office, from: "2024-06-03T03:00:00Z", minutes: 60, expect: "2024-06-03T08:00:00Z" },
            AddCase { name: "overnight shift: two hours from 23:00 is 01:00", calendar: shanghai_nights, from: "2024-06-03T15:00:00Z", minutes: 120, expect: "2024-06-03T17:00:00Z" },
            AddCase { name: "overnight shift: the rest waits for the evening", calendar: shanghai_nights, from: "2024-06-03T21:00:00Z", minutes: 120, expect: "2024-06-04T15:00:00Z" },
            AddCase { name: "overnight shift: friday night carries over to monday night", calendar: shanghai_nights, from: "2024-06-07T15:00:00Z", minutes: 480, expect: "2024-06-10T15:00:00Z" },
            AddCase { name: "a split shift skips the lunch break", calendar: split_shift, from: "2024-06-03T09:00:00Z", minutes: 120, expect: "2024-06-03T12:00:00Z" },
            AddCase { name: "a midweek holiday is skipped", calendar: ny_office_midweek_holiday, from: "2024-05-14T21:00:00Z", minutes: 480, expect: "2024-05-16T21:00:00Z" },
            AddCase { name: "a holiday range is skipped", calendar: berlin_christmas_range, from: "2024-12-23T16:00:00Z", minutes: 480, expect: "2024-12-27T16:00:00Z" },
            AddCase { name: "a yearly holiday range is skipped in a later year", calendar: berlin_yearly_christmas, from: "2027-12-23T16:00:00Z", minutes: 480, expect: "2027-12-27T16:00:00Z" },
            AddCase { name: "subtracting goes back over the weekend", calendar: ny_office, from: "2024-03-11T14:00:00Z", minutes: -540, expect: "2024-03-08T14:00:00Z" },
            AddCase { name: "adding nothing stays put even when closed", calendar: ny_office, from: "2024-03-09T14:00:00Z", minutes: 0, expect: "2024-03-09T14:00:00Z" },
        ];
        for case in &cases {
            let cal = (case.calendar)();
            let got = cal.add(at(case.from), mins(case.minutes));
            assert_eq!(got, Some(at(case.expect)), "{}", case.name);
        }
    }

    struct BetweenCase {
        name: &'static str,
        calendar: fn() -> BusinessCalendar,
        from: &'static str,
        to: &'static str,
        minutes: i64,
    }

    #[test]
    fn business_time_between_instants_matches_the_table() {
        #[rustfmt::skip]
        let cases = [
            BetweenCase { name: "NY spring-forward: the 00-08 shift is 7 hours", calendar: ny_sunday_early, from: "2024-03-10T00:00:00Z", to: "2024-03-11T00:00:00Z", minutes: 420 },
            BetweenCase { name: "NY fall-back: the 00-08 shift is 9 hours", calendar: ny_sunday_early, from: "2024-11-03T00:00:00Z", to: "2024-11-04T00:00:00Z", minutes: 540 },
            BetweenCase { name: "Berlin spring-forward: the 00-08 shift is 7 hours", calendar: berlin_sunday_early, from: "2024-03-30T12:00:00Z", to: "2024-03-31T12:00:00Z", minutes: 420 },
            BetweenCase { name: "Berlin fall-back: the 00-08 shift is 9 hours", calendar: berlin_sunday_early, from: "2024-10-26T12:00:00Z", to: "2024-10-27T12:00:00Z", minutes: 540 },
            BetweenCase { name: "NY spring-forward: the saturday night shift is 7 hours", calendar: ny_saturday_night, from: "2024-03-09T12:00:00Z", to: "2024-03-10T18:00:00Z", minutes: 420 },
            BetweenCase { name: "Berlin fall-back: the saturday night shift is 9 hours", calendar: berlin_saturday_night, from: "2024-10-26T12:00:00Z", to: "2024-10-27T12:00:00Z", minutes: 540 },
            BetweenCase { name: "an interval starting in the gap opens when clocks jump", calendar: ny_opens_in_gap, from: "2024-03-10T00:00:00Z", to: "2024-03-11T00:00:00Z", minutes: 60 },
            BetweenCase { name: "an interval ending in the repeated hour closes the first time", calendar: ny_closes_in_repeat, from: "2024-11-03T00:00:00Z", to: "2024-11-04T00:00:00Z", minutes: 90 },
            BetweenCase { name: "a 24/7 Berlin week with spring-forward has 167 hours", calendar: berlin_always, from: "2024-03-24T23:00:00Z", to: "2024-03-31T22:00:00Z", minutes: 167 * 60 },
            BetweenCase { name: "a 24/7 Berlin week with fall-back has 169 hours", calendar: berlin_always, from: "2024-10-20T22:00:00Z", to: "2024-10-27T23:00:00Z", minutes: 169 * 60 },
            BetweenCase { name: "a sunday night shift runs into monday", calendar: sunday_night_into_monday, from: "2024-06-02T20:00:00Z", to: "2024-06-03T03:00:00Z", minutes: 240 },
            BetweenCase { name: "a saturday holiday changes nothing for a weekday office", calendar: ny_office_saturday_holiday, from: "2024-05-17T13:00:00Z", to: "2024-05-20T21:00:00Z", minutes: 960 },
            BetweenCase { name: "a saturday holiday closes a six-day office", calendar: ny_six_days_saturday_holiday, from: "2024-05-17T13:00:00Z", to: "2024-05-20T21:00:00Z", minutes: 960 },
            BetweenCase { name: "a holiday cuts the overnight shift at midnight", calendar: shanghai_nights_golden_week, from: "2024-09-30T13:00:00Z", to: "2024-10-01T22:00:00Z", minutes: 480 },
            BetweenCase { name: "reversed bounds give negative time", calendar: berlin_office, from: "2024-06-03T15:00:00Z", to: "2024-06-03T07:00:00Z", minutes: -480 },
        ];
        for case in &cases {
            let cal = (case.calendar)();
            assert_eq!(
                cal.between(at(case.from), at(case.to)),
                mins(case.minutes),
                "{}",
                case.name
            );
        }
    }

    struct OpenCase {
        name: &'static str,
        calendar: fn() -> BusinessCalendar,
        at: &'static str,
        open: bool,
    }

    #[test]
    fn opening_state_matches_the_table() {
        #[rustfmt::skip]
        let cases = [
            OpenCase { name: "overnight shift is open before dawn", calendar: shanghai_nights, at: "2024-06-04T21:59:00Z", open: true },
            OpenCase { name: "overnight shift closes at 06:00", calendar: shanghai_nights, at: "2024-06-04T22:00:00Z", open: false },
            OpenCase { name: "overnight shift is closed before 22:00", calendar: shanghai_nights, at: "2024-06-03T13:59:00Z", open: false },
            OpenCase { name: "friday's night shift is open on saturday morning", calendar: shanghai_nights, at: "2024-06-07T21:00:00Z", open: true },
            OpenCase { name: "there is no saturday night shift", calendar: shanghai_nights, at: "2024-06-08T15:00:00Z", open: false },
            OpenCase { name: "a skipped opening time opens when the clocks jump", calendar: ny_opens_in_gap, at: "2024-03-10T07:00:00Z", open: true },
            OpenCase { name: "just before the jump it is still closed", calendar: ny_opens_in_gap, at: "2024-03-10T06:59:59Z", open: false },
            OpenCase { name: "the repeated 01:15 is after closing", calendar: ny_closes_in_repeat, at: "2024-11-03T06:15:00Z", open: false },
            OpenCase { name: "the first 01:15 is before closing", calendar: ny_closes_in_repeat, at: "2024-11-03T05:15:00Z", open: true },
            OpenCase { name: "the repeated hour of a fall-back night counts", calendar: berlin_sunday_early, at: "2024-10-27T01:30:00Z", open: true },
            OpenCase { name: "an overnight shift is closed on the holiday after midnight", calendar: shanghai_nights_golden_week, at: "2024-09-30T17:00:00Z", open: false },
            OpenCase { name: "an overnight shift is open on the evening before the holiday", calendar: shanghai_nights_golden_week, at: "2024-09-30T15:00:00Z", open: true },
            OpenCase { name: "the shift starting on the holiday opens after midnight", calendar: shanghai_nights_golden_week, at: "2024-10-01T17:00:00Z", open: true },
        ];
        for case in &cases {
            let cal = (case.calendar)();
            assert_eq!(cal.is_open(at(case.at)), case.open, "{}", case.name);
        }
    }

    #[test]
    fn next_opening_skips_weekend_and_holiday_monday() {
        let cal = ny_memorial_day();
        assert_eq!(
            cal.next_open(at("2024-05-24T22:00:00Z")),
            Some(at("2024-05-28T13:00:00Z"))
        );
        assert_eq!(
            cal.next_open(at("2024-05-28T14:00:00Z")),
            Some(at("2024-05-28T14:00:00Z"))
        );
    }

    #[test]
    fn yearly_holidays_recur_and_may_wrap_over_new_year() {
        let md = |s: &str| s.parse::<MonthDay>().expect("md");
        let christmas = Holiday::Yearly {
            from: md("12-25"),
            to: None,
            name: String::new(),
        };
        let new_year = Holiday::Yearly {
            from: md("12-31"),
            to: Some(md("01-01")),
            name: String::new(),
        };
        let leap = Holiday::Yearly {
            from: md("02-29"),
            to: None,
            name: String::new(),
        };
        let cases = [
            (&christmas, "2024-12-25", true),
            (&christmas, "2025-12-25", true),
            (&christmas, "2031-12-25", true),
            (&christmas, "2024-12-24", false),
            (&new_year, "2024-12-31", true),
            (&new_year, "2025-01-01", true),
            (&new_year, "2025-01-02", false),
            (&new_year, "2024-12-30", false),
            (&leap, "2024-02-29", true),
            (&leap, "2023-02-28", false),
            (&leap, "2023-03-01", false),
        ];
        for (holiday, date, expect) in cases {
            assert_eq!(holiday.covers(day(date)), expect, "{holiday:?} on {date}");
        }
    }

    #[test]
    fn a_weekly_calendar_round_trips_through_json() {
        let json = r#"{
            "id": "support", "name": "Support Berlin", "timezone": "Europe/Berlin",
            "hours": {
                "monday": [{"start": "08:00", "end": "12:00"}, {"start": "13:00", "end": "17:00"}],
                "friday": [{"start": "22:00", "end": "06:00", "overnight": true}]
            },
            "holidays": [
                {"kind": "date", "date": "2024-10-03", "name": "Tag der Deutschen Einheit"},
                {"kind": "range", "from": "2024-12-24", "to": "2024-12-26"},
                {"kind": "yearly", "from": "12-31", "to": "01-01"}
            ]
        }"#;
        let cal: Calendar = serde_json::from_str(json).expect("parses");
        assert!(cal.validate().is_ok());
        assert_eq!(cal.hours.friday, vec![night("22:00", "06:00")]);
        let again: Calendar =
            serde_json::from_value(serde_json::to_value(&cal).expect("serializes"))
                .expect("parses");
        assert_eq!(again, cal);
    }

    #[test]
    fn malformed_times_and_days_are_refused_when_parsing() {
        for bad in ["25:00", "12:60", "24:30", "9:00", "0900", "ab:cd", ""] {
            assert!(bad.parse::<ClockTime>().is_err(), "{bad}");
        }
        for bad in ["02-30", "13-01", "00-10", "1-1", "12/25"] {
            assert!(bad.parse::<MonthDay>().is_err(), "{bad}");
        }
        let unknown_field = r#"{"id":"c","timezone":"UTC","hours":{"mon":[]}}"#;
        assert!(serde_json::from_str::<Calendar>(unknown_field).is_err());
    }

    #[test]
    fn invalid_calendars_are_refused_with_a_reason() {
        let base = || Calendar {
            id: "c".into(),
            name: String::new(),
            timezone: "Europe/Berlin".into(),
            hours: WeeklyHours::on(&[Weekday::Mon], &[iv("09:00", "17:00")]),
            holidays: vec![],
        };
        let with_hours = |hours: WeeklyHours| Calendar { hours, ..base() };
        let cases: Vec<(Calendar, CalendarError)> = vec![
            (
                Calendar {
                    timezone: "Mars/Olympus".into(),
                    ..base()
                },
                CalendarError::UnknownTimezone("Mars/Olympus".into()),
            ),
            (
                Calendar {
                    id: " ".into(),
                    ..base()
                },
                CalendarError::EmptyId,
            ),
            (
                with_hours(WeeklyHours::default()),
                CalendarError::NoOpeningHours,
            ),
            (
                with_hours(WeeklyHours::on(&[Weekday::Tue], &[iv("17:00", "09:00")])),
                CalendarError::EndNotAfterStart {
                    day: Weekday::Tue,
                    start: hm("17:00"),
                    end: hm("09:00"),
                },
            ),
            (
                with_hours(WeeklyHours::on(&[Weekday::Tue], &[iv("09:00", "09:00")])),
                CalendarError::EndNotAfterStart {
                    day: Weekday::Tue,
                    start: hm("09:00"),
                    end: hm("09:00"),
                },
            ),
            (
                with_hours(WeeklyHours::on(&[Weekday::Wed], &[night("22:00", "23:00")])),
                CalendarError::OvernightLongerThanADay {
                    day: Weekday::Wed,
                    start: hm("22:00"),
                    end: hm("23:00"),
                },
            ),
            (
                with_hours(WeeklyHours::on(&[Weekday::Wed], &[iv("24:00", "24:00")])),
                CalendarError::StartAtEndOfDay { day: Weekday::Wed },
            ),
            (
                with_hours(WeeklyHours::on(
                    &[Weekday::Mon],
                    &[iv("09:00", "12:00"), iv("11:00", "13:00")],
                )),
                CalendarError::Overlap {
                    day: Weekday::Mon,
                    start: hm("09:00"),
                    other_day: Weekday::Mon,
                    other_start: hm("11:00"),
                },
            ),
            (
                with_hours(WeeklyHours {
                    sunday: vec![night("22:00", "02:00")],
                    monday: vec![iv("01:00", "05:00")],
                    ..WeeklyHours::default()
                }),
                CalendarError::Overlap {
                    day: Weekday::Sun,
                    start: hm("22:00"),
                    other_day: Weekday::Mon,
                    other_start: hm("01:00"),
                },
            ),
            (
                Calendar {
                    holidays: vec![Holiday::Range {
                        from: day("2024-05-02"),
                        to: day("2024-05-01"),
                        name: String::new(),
                    }],
                    ..base()
                },
                CalendarError::HolidayRangeReversed {
                    from: day("2024-05-02"),
                    to: day("2024-05-01"),
                },
            ),
            (
                Calendar {
                    holidays: vec![Holiday::Range {
                        from: day("2024-01-01"),
                        to: day("2025-06-01"),
                        name: String::new(),
                    }],
                    ..base()
                },
                CalendarError::HolidayRangeTooLong {
                    from: day("2024-01-01"),
                    to: day("2025-06-01"),
                },
            ),
        ];
        for (calendar, expected) in cases {
            assert_eq!(calendar.validate(), Err(expected.clone()), "{expected}");
        }
    }

    #[test]
    fn a_calendar_closed_forever_finds_no_opening() {
        let cal = office(
            "UTC",
            vec![Holiday::Yearly {
                from: "01-01".parse().expect("md"),
                to: Some("12-31".parse().expect("md")),
                name: String::new(),
            }],
        );
        assert_eq!(cal.next_open(at("2024-01-01T00:00:00Z")), None);
        assert_eq!(cal.add(at("2024-01-01T00:00:00Z"), mins(1)), None);
    }

    #[test]
    fn continuous_clock_counts_every_instant() {
        let clock = Clock::Continuous;
        let t = at("2024-03-10T06:30:00Z");
        assert!(clock.is_open(t));
        assert_eq!(clock.add(t, mins(90)), Some(at("2024-03-10T08:00:00Z")));
        assert_eq!(clock.between(t, at("2024-03-10T08:00:00Z")), mins(90));
        assert_eq!(clock.sub(t, mins(30)), Some(at("2024-03-10T06:00:00Z")));
    }

    // ---- properties -------------------------------------------------------------------

    fn fixtures() -> Vec<BusinessCalendar> {
        vec![
            office(
                "America/New_York",
                vec![date_holiday("2024-07-04"), date_holiday("2024-11-28")],
            ),
            build(
                "Europe/Berlin",
                WeeklyHours {
                    monday: vec![iv("08:00", "12:00"), iv("13:00", "17:00")],
                    wednesday: vec![night("20:00", "04:00")],
                    saturday: vec![night("22:00", "06:00")],
                    sunday: vec![iv("06:00", "10:00")],
                    ..WeeklyHours::default()
                },
                vec![Holiday::Yearly {
                    from: "12-24".parse().expect("md"),
                    to: Some("12-26".parse().expect("md")),
                    name: String::new(),
                }],
            ),
            shanghai_nights_golden_week(),
            berlin_always(),
        ]
    }

    /// Instants between 2023-01-01 and 2026-01-01.
    fn instant() -> impl Strategy<Value = Instant> {
        (1_672_531_200i64..1_767_225_600)
            .prop_map(|s| DateTime::from_timestamp(s, 0).expect("in range"))
    }

    /// Up to 20 days of business time, with second resolution.
    fn duration() -> impl Strategy<Value = TimeDelta> {
        (0i64..20 * 86_400).prop_map(TimeDelta::seconds)
    }

    proptest! {
        #[test]
        fn adding_then_subtracting_business_time_is_identity_on_open_instants(
            which in 0usize..4, start in instant(), d in duration()
        ) {
            let cal = &fixtures()[which];
            let t = cal.next_open(start).expect("opens");
            prop_assert!(cal.is_open(t));
            let later = cal.add(t, d).expect("finite");
            prop_assert_eq!(cal.sub(later, d), Some(t));
            prop_assert_eq!(cal.between(t, later), d);
        }

        #[test]
        fn due_time_is_monotone_in_start_time(
            which in 0usize..4, a in instant(), b in instant(), d in duration()
        ) {
            let cal = &fixtures()[which];
            let (early, late) = if a <= b { (a, b) } else { (b, a) };
            prop_assert!(cal.add(early, d).expect("finite") <= cal.add(late, d).expect("finite"));
        }

        #[test]
        fn a_holiday_never_counts(
            which in 0usize..4, holiday in 0i64..1095, a in instant(), span in 0i64..(10 * 86_400)
        ) {
            let plain = &fixtures()[which];
            let date = day("2023-01-01") + TimeDelta::days(holiday);
            let mut closed = plain.clone();
            closed.holidays.push(Holiday::Date { date, name: String::new() });

            let b = a + TimeDelta::seconds(span);
            let hole_start = plain.reach(date.and_time(NaiveTime::MIN)).expect("reachable");
            let hole_end = plain.reach((date + TimeDelta::days(1)).and_time(NaiveTime::MIN)).expect("reachable");
            prop_assert_eq!(closed.between(hole_start, hole_end), TimeDelta::zero());

            let overlap = if a.max(hole_start) < b.min(hole_end) {
                plain.between(a.max(hole_start), b.min(hole_end))
            } else {
                TimeDelta::zero()
            };
            prop_assert_eq!(closed.between(a, b), plain.between(a, b) - overlap);

            let inside = hole_start + (hole_end - hole_start) / 2;
            prop_assert!(!closed.is_open(inside));
        }
    }
}

#[cfg(test)]
mod decode_tests {
    //! The hand-written decoder against the decoder serde derives for the same enum.

    use super::*;

    /// What `Holiday` was before its decoder was written by hand.
    #[derive(Debug, Serialize, Deserialize)]
    #[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
    enum Derived {
        Date {
            date: NaiveDate,
            #[serde(default, skip_serializing_if = "String::is_empty")]
            name: String,
        },
        Range {
            from: NaiveDate,
            to: NaiveDate,
            #[serde(default, skip_serializing_if = "String::is_empty")]
            name: String,
        },
        Yearly {
            from: MonthDay,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            to: Option<MonthDay>,
            #[serde(default, skip_serializing_if = "String::is_empty")]
            name: String,
        },
    }

    #[test]
    fn the_hand_written_decoder_accepts_and_refuses_what_the_derived_one_does() {
        let cases = [
            r#"{"kind":"date","date":"2024-12-25"}"#,
            r#"{"name":"Christmas","kind":"date","date":"2024-12-25"}"#,
            r#"{"kind":"range","from":"2024-12-24","to":"2024-12-26","name":"Holidays"}"#,
            r#"{"kind":"yearly","from":"12-24","to":"12-26"}"#,
            r#"{"kind":"yearly","from":"12-31","to":"01-01"}"#,
            r#"{"kind":"yearly","from":"05-01"}"#,
            r#"{"kind":"yearly","from":"05-01","to":null}"#,
            // Refused: no kind, an unknown kind, a kind that is not a string.
            r#"{"date":"2024-12-25"}"#,
            r#"{"kind":"weekly","date":"2024-12-25"}"#,
            // Refused: an unknown kind with the fields of the last one, or spelt differently.
            r#"{"kind":"monthly","from":"12-24","to":"12-26"}"#,
            r#"{"kind":"Yearly","from":"12-24"}"#,
            r#"{"kind":1,"date":"2024-12-25"}"#,
            // Refused: a missing field, another kind's field, a field no kind has.
            r#"{"kind":"date"}"#,
            r#"{"kind":"range","from":"2024-12-24"}"#,
            r#"{"kind":"yearly","to":"12-26"}"#,
            r#"{"kind":"date","date":"2024-12-25","from":"2024-12-24"}"#,
            r#"{"kind":"range","from":"2024-12-24","to":"2024-12-26","date":"2024-12-25"}"#,
            r#"{"kind":"yearly","from":"12-24","colour":"red"}"#,
            // Refused: a field twice, a value of the wrong type or form.
            r#"{"kind":"date","date":"2024-12-25","date":"2024-12-26"}"#,
            r#"{"kind":"date","date":"25/12/2024"}"#,
            r#"{"kind":"date","date":20241225}"#,
            r#"{"kind":"range","from":"2024-12-24","to":"tomorrow"}"#,
            r#"{"kind":"range","from":5,"to":"2024-12-26"}"#,
            r#"{"kind":"yearly","from":"2024-12-24"}"#,
            r#"{"kind":"yearly","from":"12-24","to":"13-01"}"#,
            r#"{"kind":"yearly","from":"12-24","to":false}"#,
            r#"{"kind":"date","date":"2024-12-25","name":7}"#,
            // Refused: not an object.
            r#""date""#,
            r#"null"#,
        ];
        crate::tagged::testing::assert_decodes_as_derived::<Holiday, Derived>("Holiday", &cases);
    }
}
