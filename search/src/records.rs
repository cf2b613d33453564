//! The index as key-value records, and the write batches that keep it up to date.
//!
//! Layout under the caller's key prefix `P` (one tenant's storage):
//!
//! | key | value (postcard) | written when |
//! |---|---|---|
//! | `P` `meta` | format version, generation, next document number | every change |
//! | `P` `d:` article id | document number, field lengths, the indexed fields | that article changes |
//! | `P` `t:` term `/` block (hex) | the term's postings in one block of 1,024 document numbers (delta-coded numbers, per-field frequencies) and the word forms producing it there, with counts | an article of that block gaining, losing or re-weighting the term, or writing it a new way, changes |
//!
//! So an edit to one article rewrites only its own record, one block of each term whose
//! frequencies or forms actually changed, and the small meta record. Blocks also bound every
//! record's size (a few KiB), well inside the value limits of edge key-value stores, however
//! common a term is. The meta record doubles as the
//! index's version: a writer checks it has not moved since it loaded the index
//! ([`IndexWrites::meta_before`]) and a reader compares it to decide whether its cached
//! [`crate::Index`] is current.

use serde::{Deserialize, Serialize};

use crate::article::Article;
use crate::error::IndexError;

/// Version of the record layout and of the analysis that produced the terms. A stored index of
/// another version cannot be read and is rebuilt from the articles.
pub const FORMAT_VERSION: u32 = 1;

/// Number of indexed fields.
pub(crate) const NUM_FIELDS: usize = 3;
pub(crate) const TITLE: usize = 0;
pub(crate) const BODY: usize = 1;
pub(crate) const TAGS: usize = 2;

/// Document numbers per term block.
pub(crate) const BLOCK_DOCS: u32 = 1024;

pub(crate) const META_KEY: &str = "meta";
pub(crate) const DOC_PREFIX: &str = "d:";
pub(crate) const TERM_PREFIX: &str = "t:";

/// Per-field term frequencies of one document, indexed by [`TITLE`], [`BODY`], [`TAGS`].
pub(crate) type FieldFreqs = [u16; NUM_FIELDS];

/// The writes that persist one change of the index. Commit them in one atomic batch, with a
/// check that the meta record still holds [`meta_before`](Self::meta_before) (absent when
/// `None`): that check fails if another writer changed the index since this one was loaded,
/// in which case reload the index and redo the change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexWrites {
    pub puts: Vec<(String, Vec<u8>)>,
    pub deletes: Vec<String>,
    /// The meta record's bytes the change was made against.
    pub meta_before: Option<Vec<u8>>,
}

impl IndexWrites {
    /// True when the change altered nothing (e.g. re-indexing an unchanged article).
    pub fn is_empty(&self) -> bool {
        self.puts.is_empty() && self.deletes.is_empty()
    }

    /// Total bytes of keys and values written.
    pub fn byte_size(&self) -> usize {
        self.puts
            .iter()
            .map(|(k, v)| k.len() + v.len())
            .sum::<usize>()
            + self.deletes.iter().map(String::len).sum::<usize>()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct MetaRecord {
    pub format: u32,
    pub generation: u64,
    pub next_doc: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DocRecord {
    pub num: u32,
    pub lens: [u32; NUM_FIELDS],
    pub locale: String,
    pub title: String,
    pub body: String,
    pub tags: Vec<String>,
}

impl DocRecord {
    pub fn into_article(self, id: String) -> Article {
        Article {
            id,
            locale: self.locale,
            title: self.title,
            body: self.body,
            tags: self.tags,
        }
    }
}

/// One block of a term as stored: postings as `(document number delta, packed frequencies)`
/// pairs, both varint-coded by postcard (the first delta counts from the block's first number;
/// packing puts the body frequency in the low 16 bits, so the common body-only posting costs
/// two or three bytes), and the word forms that produced the term in the block with the number
/// of articles using each (an empty string standing for the term itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct TermRecord<S> {
    postings: Vec<(u32, u64)>,
    surfaces: Vec<(S, u32)>,
}

/// A decoded term block.
pub(crate) struct TermBlock {
    pub docs: Vec<u32>,
    pub freqs: Vec<FieldFreqs>,
    pub surfaces: Vec<(String, u32)>,
}

pub(crate) fn block_of(doc: u32) -> u32 {
    doc / BLOCK_DOCS
}

/// The key of a term block.
pub(crate) fn term_key(prefix: &str, name: &str, block: u32) -> String {
    format!("{prefix}{TERM_PREFIX}{name}/{block:x}")
}

/// Splits the part of a term key after `t:` into term and block.
pub(crate) fn parse_term_key(rest: &str) -> Option<(&str, u32)> {
    let (name, block) = rest.rsplit_once('/')?;
    let block = u32::from_str_radix(block, 16).ok()?;
    (!name.is_empty() && block <= block_of(u32::MAX)).then_some((name, block))
}

fn pack(f: FieldFreqs) -> u64 {
    u64::from(f[BODY]) | u64::from(f[TITLE]) << 16 | u64::from(f[TAGS]) << 32
}

fn unpack(p: u64) -> Option<FieldFreqs> {
    if p >> 48 != 0 {
        return None;
    }
    let mut f = [0u16; NUM_FIELDS];
    f[BODY] = (p & 0xFFFF) as u16;
    f[TITLE] = (p >> 16 & 0xFFFF) as u16;
    f[TAGS] = (p >> 32 & 0xFFFF) as u16;
    Some(f)
}

pub(crate) fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Serialising plain structs into a growable buffer cannot fail.
    postcard::to_allocvec(value).unwrap_or_default()
}

pub(crate) fn decode<'a, T: Deserialize<'a>>(key: &str, bytes: &'a [u8]) -> Result<T, IndexError> {
    postcard::from_bytes(bytes).map_err(|e| corrupt(key, e.to_string()))
}

pub(crate) fn corrupt(key: &str, reason: impl Into<String>) -> IndexError {
    IndexError::Corrupt {
        key: key.to_owned(),
        reason: reason.into(),
    }
}

/// Encodes one block: `docs` (all inside `block`) with their frequencies and the block's word
/// forms.
pub(crate) fn encode_term(
    name: &str,
    block: u32,
    docs: &[u32],
    freqs: &[FieldFreqs],
    surfaces: &[(&str, u32)],
) -> Vec<u8> {
    let mut prev = block * BLOCK_DOCS;
    let postings = docs
        .iter()
        .zip(freqs)
        .map(|(&d, &f)| {
            let delta = d - prev;
            prev = d;
            (delta, pack(f))
        })
        .collect();
    let surfaces = surfaces
        .iter()
        .map(|&(s, n)| (if s == name { "" } else { s }, n))
        .collect();
    encode(&TermRecord { postings, surfaces })
}

/// Decodes a term block, checking its postings are strictly increasing, inside the block and
/// with non-empty frequencies, and its word forms are sorted, unique and counted.
pub(crate) fn decode_term(
    key: &str,
    name: &str,
    block: u32,
    bytes: &[u8],
) -> Result<TermBlock, IndexError> {
    let TermRecord::<String> { postings, surfaces } = decode(key, bytes)?;
    if postings.is_empty() {
        return Err(corrupt(key, "empty postings"));
    }
    let base = block * BLOCK_DOCS;
    let end = base + (BLOCK_DOCS - 1);
    let mut docs = Vec::with_capacity(postings.len());
    let mut freqs = Vec::with_capacity(postings.len());
    let mut prev: Option<u32> = None;
    for (delta, packed) in postings {
        let doc = match prev {
            Some(_) if delta == 0 => return Err(corrupt(key, "postings not increasing")),
            Some(p) => p.checked_add(delta),
            None => base.checked_add(delta),
        }
        .filter(|&d| d <= end)
        .ok_or_else(|| corrupt(key, "posting outside its block"))?;
        let f = unpack(packed).ok_or_else(|| corrupt(key, "bad frequencies"))?;
        if f == [0; NUM_FIELDS] {
            return Err(corrupt(key, "zero frequencies"));
        }
        docs.push(doc);
        freqs.push(f);
        prev = Some(doc);
    }
    let surfaces: Vec<(String, u32)> = surfaces
        .into_iter()
        .map(|(s, n)| (if s.is_empty() { name.to_owned() } else { s }, n))
        .collect();
    if surfaces.iter().any(|(_, n)| *n == 0) || surfaces.windows(2).any(|w| w[0].0 >= w[1].0) {
        return Err(corrupt(key, "bad word forms"));
    }
    Ok(TermBlock {
        docs,
        freqs,
        surfaces,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn term_blocks_round_trip_through_their_compact_encoding() {
        let docs = vec![2048, 2049, 2900, 3071];
        let freqs = vec![[0, 1, 0], [2, 5, 1], [0, 65_535, 0], [1, 0, 0]];
        let bytes = encode_term("refund", 2, &docs, &freqs, &[("refund", 3), ("refunds", 2)]);
        let t = decode_term("k", "refund", 2, &bytes).unwrap();
        let surfaces = vec![("refund".to_string(), 3), ("refunds".to_string(), 2)];
        assert_eq!((t.docs, t.freqs, t.surfaces), (docs, freqs, surfaces));
    }

    #[test]
    fn a_body_only_posting_costs_a_few_bytes() {
        let docs: Vec<u32> = (0..BLOCK_DOCS).collect();
        let freqs = vec![[0, 2, 0]; docs.len()];
        let bytes = encode_term("order", 0, &docs, &freqs, &[("order", BLOCK_DOCS)]);
        assert!(bytes.len() <= 2 * docs.len() + 8, "{} bytes", bytes.len());
    }

    #[test]
    fn term_keys_name_the_term_and_block() {
        assert_eq!(term_key("kb:", "refund", 26), "kb:t:refund/1a");
        assert_eq!(parse_term_key("refund/1a"), Some(("refund", 26)));
        assert_eq!(parse_term_key("退款/0"), Some(("退款", 0)));
        for bad in ["refund", "refund/", "/1", "refund/zz", "refund/ffffffff"] {
            assert_eq!(parse_term_key(bad), None, "{bad}");
        }
    }

    #[test]
    fn garbage_term_records_are_reported_as_corrupt_not_panicked_on() {
        for bytes in [&[][..], &[0xff, 0xff, 0xff], &[1, 0, 0], &[0, 0]] {
            assert!(matches!(
                decode_term("t:x/0", "x", 0, bytes),
                Err(IndexError::Corrupt { .. })
            ));
        }
        // Two postings for the same document.
        let bytes = encode(&TermRecord::<String> {
            postings: vec![(5, 1), (0, 1)],
            surfaces: vec![],
        });
        assert!(decode_term("t:x/0", "x", 0, &bytes).is_err());
        // A posting beyond its block.
        let bytes = encode(&TermRecord::<String> {
            postings: vec![(BLOCK_DOCS, 1)],
            surfaces: vec![],
        });
        assert!(decode_term("t:x/0", "x", 0, &bytes).is_err());
        // A word form counted in no article.
        let bytes = encode(&TermRecord {
            postings: vec![(5, 1)],
            surfaces: vec![("", 0)],
        });
        assert!(decode_term("t:x/0", "x", 0, &bytes).is_err());
    }
}
