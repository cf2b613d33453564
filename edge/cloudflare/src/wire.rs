//! The byte format of the storage calls between the Worker and its Durable Objects.
//!
//! Values are arbitrary bytes (JSON records, attachment blobs of several MiB), so they travel as
//! length-prefixed frames rather than inside JSON, which would need base64 and a third more
//! bytes. A frame is a little-endian `u32` length and that many bytes; a list is a `u32` count
//! followed by its items.

use edgedesk_functions::ports::{Expect, WriteBatch};

/// A body that does not parse: the caller and the object are out of step.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed storage call: {0}")]
pub struct WireError(&'static str);

fn put_frame(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
}

fn put_count(out: &mut Vec<u8>, n: usize) {
    out.extend_from_slice(&(n as u32).to_le_bytes());
}

struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn u32(&mut self) -> Result<usize, WireError> {
        let Some((head, rest)) = self.rest.split_first_chunk::<4>() else {
            return Err(WireError("truncated length"));
        };
        self.rest = rest;
        Ok(u32::from_le_bytes(*head) as usize)
    }

    fn byte(&mut self) -> Result<u8, WireError> {
        let (&b, rest) = self.rest.split_first().ok_or(WireError("truncated tag"))?;
        self.rest = rest;
        Ok(b)
    }

    fn frame(&mut self) -> Result<&'a [u8], WireError> {
        let len = self.u32()?;
        if self.rest.len() < len {
            return Err(WireError("truncated frame"));
        }
        let (bytes, rest) = self.rest.split_at(len);
        self.rest = rest;
        Ok(bytes)
    }

    fn string(&mut self) -> Result<String, WireError> {
        String::from_utf8(self.frame()?.to_vec()).map_err(|_| WireError("key is not UTF-8"))
    }

    /// A count, bounded by what the remaining bytes could hold, so a corrupt count cannot
    /// make the reader reserve gigabytes.
    fn count(&mut self) -> Result<usize, WireError> {
        let n = self.u32()?;
        if n > self.rest.len() {
            return Err(WireError("count exceeds body"));
        }
        Ok(n)
    }

    fn finish(self) -> Result<(), WireError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(WireError("trailing bytes"))
        }
    }
}

pub fn encode_batch(batch: &WriteBatch) -> Vec<u8> {
    let size = batch
        .puts
        .iter()
        .chain(&batch.appends)
        .map(|(k, v)| k.len() + v.len() + 8)
        .sum::<usize>()
        + 64;
    let mut out = Vec::with_capacity(size);
    put_count(&mut out, batch.checks.len());
    for (key, expect) in &batch.checks {
        put_frame(&mut out, key.as_bytes());
        match expect {
            Expect::Absent => out.push(0),
            Expect::Equals(v) => {
                out.push(1);
                put_frame(&mut out, v);
            }
        }
    }
    put_count(&mut out, batch.puts.len());
    for (key, value) in &batch.puts {
        put_frame(&mut out, key.as_bytes());
        put_frame(&mut out, value);
    }
    put_count(&mut out, batch.deletes.len());
    for key in &batch.deletes {
        put_frame(&mut out, key.as_bytes());
    }
    put_count(&mut out, batch.appends.len());
    for (prefix, value) in &batch.appends {
        put_frame(&mut out, prefix.as_bytes());
        put_frame(&mut out, value);
    }
    out
}

pub fn decode_batch(bytes: &[u8]) -> Result<WriteBatch, WireError> {
    let mut r = Reader { rest: bytes };
    let mut batch = WriteBatch::default();
    for _ in 0..r.count()? {
        let key = r.string()?;
        let expect = match r.byte()? {
            0 => Expect::Absent,
            1 => Expect::Equals(r.frame()?.to_vec()),
            _ => return Err(WireError("unknown check tag")),
        };
        batch.checks.push((key, expect));
    }
    for _ in 0..r.count()? {
        let key = r.string()?;
        batch.puts.push((key, r.frame()?.to_vec()));
    }
    for _ in 0..r.count()? {
        batch.deletes.push(r.string()?);
    }
    for _ in 0..r.count()? {
        let prefix = r.string()?;
        batch.appends.push((prefix, r.frame()?.to_vec()));
    }
    r.finish()?;
    Ok(batch)
}

pub fn encode_entries(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    put_count(&mut out, entries.len());
    for (key, value) in entries {
        put_frame(&mut out, key.as_bytes());
        put_frame(&mut out, value);
    }
    out
}

pub fn decode_entries(bytes: &[u8]) -> Result<Vec<(String, Vec<u8>)>, WireError> {
    let mut r = Reader { rest: bytes };
    let n = r.count()?;
    let mut entries = Vec::with_capacity(n);
    for _ in 0..n {
        let key = r.string()?;
        entries.push((key, r.frame()?.to_vec()));
    }
    r.finish()?;
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_survives_the_round_trip_byte_for_byte() {
        let batch = WriteBatch {
            checks: vec![
                ("a".into(), Expect::Absent),
                ("b".into(), Expect::Equals(vec![0, 1, 255])),
                ("empty".into(), Expect::Equals(Vec::new())),
            ],
            puts: vec![
                ("c".into(), b"{\"x\":1}".to_vec()),
                ("d".into(), vec![0; 70_000]),
            ],
            deletes: vec!["e".into()],
            appends: vec![("log:".into(), b"{}".to_vec())],
        };
        assert_eq!(decode_batch(&encode_batch(&batch)), Ok(batch));
    }

    #[test]
    fn scan_entries_survive_the_round_trip() {
        let entries = vec![("k1".to_owned(), vec![1, 2]), ("k2".to_owned(), Vec::new())];
        assert_eq!(decode_entries(&encode_entries(&entries)), Ok(entries));
    }

    #[test]
    fn truncated_or_padded_bodies_are_refused() {
        let batch = WriteBatch {
            puts: vec![("k".into(), vec![7; 10])],
            ..WriteBatch::default()
        };
        let bytes = encode_batch(&batch);
        for cut in 0..bytes.len() {
            assert!(decode_batch(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut padded = bytes.clone();
        padded.push(0);
        assert!(decode_batch(&padded).is_err());
        assert!(decode_batch(&[0xff, 0xff, 0xff, 0xff]).is_err());
    }
}
