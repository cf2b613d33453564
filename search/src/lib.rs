//! Ranked full-text search for EdgeDesk's knowledge base.
//!
//! A pure library: no I/O, no clock, no threads, so it runs inside the edge functions compiled
//! to WebAssembly. The caller owns storage and moves records in and out:
//!
//! ```
//! use edgedesk_search::{Article, Index, SearchRequest};
//!
//! let mut index = Index::new("kb:idx:");
//! let writes = index.upsert(Article {
//!     id: "art_1".into(),
//!     locale: "en".into(),
//!     title: "How refunds work".into(),
//!     body: "Refunds reach your card within five business days.".into(),
//!     tags: vec!["billing".into()],
//! })?;
//! // Commit `writes.puts` and `writes.deletes` in one atomic batch, checking that the meta
//! // record still equals `writes.meta_before`.
//! # let _ = writes;
//!
//! let results = index.search(&SearchRequest::new("refnud").locale("en"));
//! assert_eq!(results.hits[0].id, "art_1");
//! assert_eq!(results.hits[0].title_html, "How <mark>refunds</mark> work");
//! # Ok::<(), edgedesk_search::IndexError>(())
//! ```
//!
//! # Pieces
//!
//! - Analysis (private module `analysis`): NFKD folding (full-width forms, accents), lower-casing,
//!   English stop words and Snowball stemming, CJK runs as character bigrams plus single
//!   characters; one analyser for every locale, so mixed text works.
//! - [`Index`]: the in-memory index, its changes ([`Change`]) and the [`IndexWrites`] that
//!   persist them.
//! - [`Index::search`] with a [`SearchRequest`]: BM25F ranking (title above tags above body),
//!   completion of the word being typed, typo tolerance (one edit for words of 4–7 letters, two
//!   beyond, a transposition counting as one), a locale filter, paging, and HTML-safe excerpts
//!   with matches in `<mark>`.
//!
//! # Storage
//!
//! The index is a set of key-value records under a caller-chosen prefix `P`, values encoded
//! with postcard:
//!
//! - `P meta`: format version, generation, next document number. Written by every change;
//!   it is the index's version.
//! - `P d:<article id>`: the article's document number, field lengths and indexed text (the
//!   text feeds the excerpts).
//! - `P t:<term>/<block>`: one term's postings for a block of 1,024 document numbers, and the
//!   word forms that produced it there.
//!
//! An article change writes its own record, one block of each term whose frequencies or forms
//! changed, and the meta record; every record stays a few KiB. Commit [`IndexWrites`] in one
//! atomic batch guarded by [`IndexWrites::meta_before`]. To serve queries, load the index once
//! per instance with [`Index::from_records`] from a prefix scan, keep it, and compare the stored
//! meta record with [`Index::is_current`] (one read) before trusting it; reload when it moved.
//! [`Index::records`] exports everything, for a rebuild into empty storage.

mod analysis;
mod article;
mod error;
mod fold;
mod fuzzy;
mod index;
mod records;
mod search;
mod snippet;

pub use article::Article;
pub use error::{ArticleProblem, IndexError};
#[cfg(feature = "bundled-tables")]
pub use fold::export_fold_tables;
pub use fold::{fold_tables_ready, install_fold_tables, FoldTablesError};
pub use index::{Change, Index, IndexStats};
pub use records::{IndexWrites, FORMAT_VERSION};
pub use search::{Hit, SearchRequest, SearchResults, DEFAULT_SNIPPET_CHARS, MAX_LIMIT};
