//! The in-memory inverted index: loading it from records, changing it, and the writes that
//! persist each change.
//!
//! Articles get dense internal document numbers (postings store numbers, not ids, to stay
//! small). An update keeps its article's number, so terms whose frequencies and word forms did
//! not change keep their postings untouched and their records unwritten. Terms live in slots
//! so the typo/completion dictionary can point at them directly.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use foldhash::{HashMap, HashMapExt, HashSet};

use crate::analysis::{document_tokens, is_cjk_term};
use crate::article::{locale_matches, Article};
use crate::error::IndexError;
use crate::fuzzy;
use crate::records::{
    block_of, corrupt, decode, decode_term, encode, encode_term, parse_term_key, term_key,
    DocRecord, FieldFreqs, IndexWrites, MetaRecord, TermBlock, BLOCK_DOCS, BODY, DOC_PREFIX,
    FORMAT_VERSION, META_KEY, NUM_FIELDS, TAGS, TERM_PREFIX, TITLE,
};

/// One change to the indexed article set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Add the article, or replace the indexed version of it.
    Upsert(Article),
    /// Remove the article with this id (nothing happens if it is not indexed).
    Remove(String),
}

/// A word form of a term, with how many articles of each block use it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Form {
    pub surface: String,
    /// `(block, articles)`, ascending by block, counts non-zero.
    pub blocks: Vec<(u32, u32)>,
}

/// An index term: its postings, ascending by document number, and the word forms that
/// produce it (sorted by form; empty for CJK terms).
#[derive(Debug, Clone, Default)]
pub(crate) struct Term {
    pub name: String,
    pub docs: Vec<u32>,
    pub freqs: Vec<FieldFreqs>,
    pub forms: Vec<Form>,
}

impl Term {
    fn set(&mut self, doc: u32, f: FieldFreqs) {
        match self.docs.binary_search(&doc) {
            Ok(i) => self.freqs[i] = f,
            Err(i) => {
                self.docs.insert(i, doc);
                self.freqs.insert(i, f);
            }
        }
    }

    fn remove(&mut self, doc: u32) {
        if let Ok(i) = self.docs.binary_search(&doc) {
            self.docs.remove(i);
            self.freqs.remove(i);
        }
    }

    pub fn contains(&self, doc: u32) -> bool {
        self.docs.binary_search(&doc).is_ok()
    }

    /// Counts one more (`up`) or one fewer article of `block` using `surface`; true if the
    /// term gained or lost a form.
    fn count_form(&mut self, surface: &str, block: u32, up: bool) -> bool {
        let at = self
            .forms
            .binary_search_by(|f| f.surface.as_str().cmp(surface));
        let i = match at {
            Ok(i) => i,
            Err(i) if up => {
                self.forms.insert(
                    i,
                    Form {
                        surface: surface.to_owned(),
                        blocks: Vec::new(),
                    },
                );
                i
            }
            Err(_) => return false,
        };
        let form = &mut self.forms[i];
        let was_new = form.blocks.is_empty();
        match form.blocks.binary_search_by_key(&block, |b| b.0) {
            Ok(j) if up => form.blocks[j].1 += 1,
            Ok(j) => {
                form.blocks[j].1 -= 1;
                if form.blocks[j].1 == 0 {
                    form.blocks.remove(j);
                }
            }
            Err(j) if up => form.blocks.insert(j, (block, 1)),
            Err(_) => {}
        }
        if form.blocks.is_empty() {
            self.forms.remove(i);
            return true;
        }
        was_new
    }

    /// Index range of `docs` falling in `block`.
    fn block_range(&self, block: u32) -> std::ops::Range<usize> {
        let lo = block * BLOCK_DOCS;
        let start = self.docs.partition_point(|&d| d < lo);
        let end = self.docs.partition_point(|&d| block_of(d) <= block);
        start..end
    }

    /// The record of `block`, or `None` if the term has no postings there.
    fn encode_block(&self, block: u32) -> Option<Vec<u8>> {
        let range = self.block_range(block);
        if range.is_empty() {
            return None;
        }
        let surfaces: Vec<(&str, u32)> = self
            .forms
            .iter()
            .filter_map(|f| {
                let j = f.blocks.binary_search_by_key(&block, |b| b.0).ok()?;
                Some((f.surface.as_str(), f.blocks[j].1))
            })
            .collect();
        Some(encode_term(
            &self.name,
            block,
            &self.docs[range.clone()],
            &self.freqs[range],
            &surfaces,
        ))
    }

    /// The blocks holding postings, ascending.
    fn blocks(&self) -> Vec<u32> {
        let mut blocks: Vec<u32> = self.docs.iter().map(|&d| block_of(d)).collect();
        blocks.dedup();
        blocks
    }
}

/// Sizes of the index, for monitoring and the benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexStats {
    pub articles: usize,
    pub terms: usize,
    pub postings: usize,
    /// Distinct word forms in the typo/completion dictionary.
    pub word_forms: usize,
    pub generation: u64,
}

/// A tenant's knowledge-base index, held in memory and persisted as key-value records.
///
/// Typical use: load it with [`Index::from_records`] from a prefix scan of the tenant's
/// storage, keep it while [`Index::is_current`] says the stored meta record has not moved,
/// [`search`](Index::search) it, and on article changes call [`Index::apply`] and commit the
/// returned [`IndexWrites`] atomically. If that commit fails, drop this index and reload: it
/// already holds the change.
#[derive(Debug)]
pub struct Index {
    pub(crate) prefix: String,
    generation: u64,
    next_doc: u32,
    /// Articles by document number; `None` for removed numbers.
    pub(crate) docs: Vec<Option<Article>>,
    /// Field lengths (tokens) by document number; zero for removed numbers.
    pub(crate) lens: Vec<[u32; NUM_FIELDS]>,
    /// Interned locale by document number.
    pub(crate) doc_locale: Vec<u32>,
    pub(crate) locales: Vec<String>,
    ids: HashMap<String, u32>,
    /// Term name → slot in `terms`.
    slots: HashMap<String, u32>,
    pub(crate) terms: Vec<Term>,
    free_slots: Vec<u32>,
    pub(crate) totals: [u64; NUM_FIELDS],
    pub(crate) live: u32,
    /// Word forms and word terms → term slots, rebuilt lazily after the set of forms changes.
    dictionary: OnceLock<fst::Map<Vec<u8>>>,
}

/// How one article uses one term.
#[derive(Debug, Default, PartialEq, Eq)]
struct Usage {
    freqs: FieldFreqs,
    /// Word forms, sorted and unique.
    surfaces: Vec<String>,
}

/// Term usage and field lengths of one article.
struct Analysed {
    terms: HashMap<String, Usage>,
    lens: [u32; NUM_FIELDS],
}

fn analyse(article: &Article) -> Analysed {
    let mut terms: HashMap<String, Usage> = HashMap::new();
    let mut lens = [0u32; NUM_FIELDS];
    let mut add = |field: usize, text: &str| {
        document_tokens(text, |t| {
            lens[field] = lens[field].saturating_add(1);
            // Look up before inserting: most tokens repeat a term already counted.
            let usage = match terms.get_mut(t.term) {
                Some(u) => u,
                None => terms.entry(t.term.to_owned()).or_default(),
            };
            usage.freqs[field] = usage.freqs[field].saturating_add(1);
            if let Some(surface) = t.surface {
                if let Err(i) = usage.surfaces.binary_search_by(|s| s.as_str().cmp(surface)) {
                    usage.surfaces.insert(i, surface.to_owned());
                }
            }
        });
    };
    add(TITLE, &article.title);
    add(BODY, &article.body);
    for tag in &article.tags {
        add(TAGS, tag);
    }
    Analysed { terms, lens }
}

/// What one batch has touched so far.
#[derive(Default)]
struct Dirty {
    /// Term blocks.
    terms: HashSet<(String, u32)>,
    docs: BTreeSet<String>,
    /// The set of word forms changed, so the dictionary must be rebuilt.
    dictionary: bool,
}

impl Dirty {
    fn term(&mut self, name: &str, block: u32) {
        // Probing with a borrowed key would need a second map; one clone per change is cheap.
        let key = (name.to_owned(), block);
        if !self.terms.contains(&key) {
            self.terms.insert(key);
        }
    }
}

impl Index {
    /// An empty index whose records live under `prefix` (e.g. `kb:idx:`).
    pub fn new(prefix: impl Into<String>) -> Self {
        Index {
            prefix: prefix.into(),
            generation: 0,
            next_doc: 0,
            docs: Vec::new(),
            lens: Vec::new(),
            doc_locale: Vec::new(),
            locales: Vec::new(),
            ids: HashMap::new(),
            slots: HashMap::new(),
            terms: Vec::new(),
            free_slots: Vec::new(),
            totals: [0; NUM_FIELDS],
            live: 0,
            dictionary: OnceLock::new(),
        }
    }

    /// The key prefix the records live under.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The key of the meta record (read it to check [`Index::is_current`]).
    pub fn meta_key(&self) -> String {
        format!("{}{META_KEY}", self.prefix)
    }

    /// Counts every change committed through [`Index::apply`]; 0 for an index never written.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Whether `stored_meta` (the value under [`Index::meta_key`], `None` if absent) is the
    /// version this index holds.
    pub fn is_current(&self, stored_meta: Option<&[u8]>) -> bool {
        stored_meta == self.meta_bytes().as_deref()
    }

    fn meta_bytes(&self) -> Option<Vec<u8>> {
        (self.generation > 0).then(|| {
            encode(&MetaRecord {
                format: FORMAT_VERSION,
                generation: self.generation,
                next_doc: self.next_doc,
            })
        })
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The indexed version of an article.
    pub fn article(&self, id: &str) -> Option<&Article> {
        let num = *self.ids.get(id)?;
        self.docs.get(num as usize)?.as_ref()
    }

    pub fn stats(&self) -> IndexStats {
        let live = || {
            self.slots
                .values()
                .filter_map(|&s| self.terms.get(s as usize))
        };
        IndexStats {
            articles: self.ids.len(),
            terms: self.slots.len(),
            postings: live().map(|t| t.docs.len()).sum(),
            word_forms: live().map(|t| t.forms.len()).sum(),
            generation: self.generation,
        }
    }

    /// The term named `name`.
    pub(crate) fn term(&self, name: &str) -> Option<&Term> {
        let slot = *self.slots.get(name)?;
        self.terms.get(slot as usize)
    }

    /// The term in `slot`, if the slot is in use.
    pub(crate) fn term_at(&self, slot: u64) -> Option<&Term> {
        let t = self.terms.get(usize::try_from(slot).ok()?)?;
        (!t.docs.is_empty()).then_some(t)
    }

    /// Adds or replaces one article. See [`Index::apply`].
    pub fn upsert(&mut self, article: Article) -> Result<IndexWrites, IndexError> {
        self.apply([Change::Upsert(article)])
    }

    /// Removes one article. See [`Index::apply`].
    pub fn remove(&mut self, id: &str) -> Result<IndexWrites, IndexError> {
        self.apply([Change::Remove(id.to_owned())])
    }

    /// Applies changes in order and returns the writes that persist them, as one batch.
    ///
    /// Every article is validated first: on error nothing is applied. A batch that changes
    /// nothing returns empty writes and leaves the generation as it was.
    pub fn apply(
        &mut self,
        changes: impl IntoIterator<Item = Change>,
    ) -> Result<IndexWrites, IndexError> {
        let changes: Vec<Change> = changes.into_iter().collect();
        let mut new_ids = BTreeSet::new();
        for change in &changes {
            if let Change::Upsert(a) = change {
                a.validate()?;
                if !self.ids.contains_key(&a.id) {
                    new_ids.insert(a.id.as_str());
                }
            }
        }
        let room = u32::MAX - self.next_doc;
        if new_ids.len() as u64 > u64::from(room) {
            return Err(IndexError::Exhausted);
        }

        let mut writes = IndexWrites {
            meta_before: self.meta_bytes(),
            ..IndexWrites::default()
        };
        let mut dirty = Dirty::default();
        for change in changes {
            match change {
                Change::Upsert(article) => self.upsert_in_memory(article, &mut dirty),
                Change::Remove(id) => self.remove_in_memory(&id, &mut dirty),
            }
        }
        if dirty.terms.is_empty() && dirty.docs.is_empty() {
            return Ok(writes);
        }

        // Sorted, so a batch lists its keys in a stable order.
        let mut blocks: Vec<(String, u32)> = dirty.terms.into_iter().collect();
        edgedesk_sort::sort(&mut blocks);
        let mut vanished: Vec<String> = Vec::new();
        for (name, block) in blocks {
            let key = term_key(&self.prefix, &name, block);
            let Some(&slot) = self.slots.get(&name) else {
                continue;
            };
            let term = &self.terms[slot as usize];
            match term.encode_block(block) {
                Some(bytes) => writes.puts.push((key, bytes)),
                None => writes.deletes.push(key),
            }
            if term.docs.is_empty() && vanished.last() != Some(&name) {
                vanished.push(name);
            }
        }
        // Free the slots of vanished terms only now, so no slot changes meaning mid-batch.
        for name in vanished {
            if let Some(slot) = self.slots.remove(&name) {
                self.terms[slot as usize] = Term::default();
                self.free_slots.push(slot);
            }
        }
        for id in dirty.docs {
            let key = format!("{}{DOC_PREFIX}{id}", self.prefix);
            match self.ids.get(&id).map(|&n| (n, self.doc_record(n))) {
                Some((_, Some(record))) => writes.puts.push((key, encode(&record))),
                _ => writes.deletes.push(key),
            }
        }
        if dirty.dictionary {
            self.dictionary = OnceLock::new();
        }
        self.generation += 1;
        if let Some(meta) = self.meta_bytes() {
            writes.puts.push((self.meta_key(), meta));
        }
        Ok(writes)
    }

    fn doc_record(&self, num: u32) -> Option<DocRecord> {
        let i = num as usize;
        let a = self.docs.get(i)?.as_ref()?;
        Some(DocRecord {
            num,
            lens: self.lens[i],
            locale: a.locale.clone(),
            title: a.title.clone(),
            body: a.body.clone(),
            tags: a.tags.clone(),
        })
    }

    fn intern_locale(&mut self, locale: &str) -> u32 {
        if let Some(i) = self
            .locales
            .iter()
            .position(|l| l.eq_ignore_ascii_case(locale))
        {
            return i as u32;
        }
        self.locales.push(locale.to_ascii_lowercase());
        (self.locales.len() - 1) as u32
    }

    /// The slot of `name`, allocating an empty term for it if needed.
    fn slot_for(&mut self, name: &str) -> usize {
        if let Some(&slot) = self.slots.get(name) {
            return slot as usize;
        }
        let term = Term {
            name: name.to_owned(),
            ..Term::default()
        };
        let slot = match self.free_slots.pop() {
            Some(slot) => {
                self.terms[slot as usize] = term;
                slot
            }
            None => {
                self.terms.push(term);
                (self.terms.len() - 1) as u32
            }
        };
        self.slots.insert(name.to_owned(), slot);
        slot as usize
    }

    fn upsert_in_memory(&mut self, article: Article, dirty: &mut Dirty) {
        let new = analyse(&article);
        let (num, old) = match self.ids.get(&article.id) {
            Some(&num) => {
                let Some(existing) = &self.docs[num as usize] else {
                    return;
                };
                if *existing == article {
                    return;
                }
                (num, Some(analyse(existing)))
            }
            None => {
                let num = self.next_doc;
                self.next_doc += 1;
                self.ids.insert(article.id.clone(), num);
                // Per-document vectors cover the numbers in use, which after removals of the
                // newest articles may stop short of `next_doc`.
                let len = num as usize + 1;
                self.docs.resize(len, None);
                self.lens.resize(len, [0; NUM_FIELDS]);
                self.doc_locale.resize(len, 0);
                self.live += 1;
                (num, None)
            }
        };
        let i = num as usize;
        let no_usage = Usage::default();
        for (name, usage) in &new.terms {
            let before = old
                .as_ref()
                .and_then(|o| o.terms.get(name))
                .unwrap_or(&no_usage);
            if before == usage {
                continue;
            }
            let slot = self.slot_for(name);
            let term = &mut self.terms[slot];
            term.set(num, usage.freqs);
            for s in &usage.surfaces {
                if before.surfaces.binary_search(s).is_err() {
                    dirty.dictionary |= term.count_form(s, block_of(num), true);
                }
            }
            for s in &before.surfaces {
                if usage.surfaces.binary_search(s).is_err() {
                    dirty.dictionary |= term.count_form(s, block_of(num), false);
                }
            }
            dirty.term(name, block_of(num));
        }
        if let Some(old) = &old {
            for (name, usage) in &old.terms {
                if !new.terms.contains_key(name) {
                    self.forget(num, name, usage, dirty);
                }
            }
        }
        for f in 0..NUM_FIELDS {
            self.totals[f] = self.totals[f] - u64::from(self.lens[i][f]) + u64::from(new.lens[f]);
        }
        self.lens[i] = new.lens;
        self.doc_locale[i] = self.intern_locale(&article.locale);
        dirty.docs.insert(article.id.clone());
        self.docs[i] = Some(article);
    }

    /// Takes document `num`'s use of term `name` out of the term.
    fn forget(&mut self, num: u32, name: &str, usage: &Usage, dirty: &mut Dirty) {
        let Some(&slot) = self.slots.get(name) else {
            return;
        };
        let term = &mut self.terms[slot as usize];
        term.remove(num);
        for s in &usage.surfaces {
            dirty.dictionary |= term.count_form(s, block_of(num), false);
        }
        dirty.term(name, block_of(num));
    }

    fn remove_in_memory(&mut self, id: &str, dirty: &mut Dirty) {
        let Some(num) = self.ids.remove(id) else {
            return;
        };
        let i = num as usize;
        if let Some(old) = self.docs[i].take() {
            for (name, usage) in &analyse(&old).terms {
                self.forget(num, name, usage, dirty);
            }
        }
        for f in 0..NUM_FIELDS {
            self.totals[f] -= u64::from(self.lens[i][f]);
        }
        self.lens[i] = [0; NUM_FIELDS];
        self.live -= 1;
        dirty.docs.insert(id.to_owned());
    }

    /// Loads an index from its records (e.g. a prefix scan of `prefix`). Keys outside `prefix`
    /// are ignored; an empty set of records is an empty index.
    pub fn from_records<K, V>(
        prefix: impl Into<String>,
        records: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Self, IndexError>
    where
        K: AsRef<str>,
        V: AsRef<[u8]>,
    {
        let mut index = Index::new(prefix);
        let mut meta: Option<MetaRecord> = None;
        let mut docs: Vec<(String, DocRecord)> = Vec::new();
        let mut blocks: HashMap<String, Vec<(u32, TermBlock)>> = HashMap::new();
        for (key, value) in records {
            let key = key.as_ref();
            let value = value.as_ref();
            let Some(rest) = key.strip_prefix(index.prefix.as_str()) else {
                continue;
            };
            if rest == META_KEY {
                meta = Some(decode(key, value)?);
            } else if let Some(id) = rest.strip_prefix(DOC_PREFIX) {
                docs.push((id.to_owned(), decode(key, value)?));
            } else if let Some(rest) = rest.strip_prefix(TERM_PREFIX) {
                let (name, block) =
                    parse_term_key(rest).ok_or_else(|| corrupt(key, "bad term key"))?;
                let data = decode_term(key, name, block, value)?;
                // Most terms span few blocks: look up before allocating the key.
                match blocks.get_mut(name) {
                    Some(parts) => parts.push((block, data)),
                    None => {
                        blocks.insert(name.to_owned(), vec![(block, data)]);
                    }
                }
            } else {
                return Err(corrupt(key, "unknown record"));
            }
        }
        for (name, mut parts) in blocks {
            edgedesk_sort::sort_by_key(&mut parts, |(b, _)| *b);
            if parts.windows(2).any(|w| w[0].0 == w[1].0) {
                return Err(corrupt(
                    &term_key(&index.prefix, &name, parts[0].0),
                    "duplicate block",
                ));
            }
            let mut term = Term {
                name: name.clone(),
                ..Term::default()
            };
            let mut forms: BTreeMap<String, Vec<(u32, u32)>> = BTreeMap::new();
            for (block, data) in parts {
                term.docs.extend(data.docs);
                term.freqs.extend(data.freqs);
                for (surface, n) in data.surfaces {
                    forms.entry(surface).or_default().push((block, n));
                }
            }
            term.forms = forms
                .into_iter()
                .map(|(surface, blocks)| Form { surface, blocks })
                .collect();
            index.slots.insert(name, index.terms.len() as u32);
            index.terms.push(term);
        }
        let Some(meta) = meta else {
            if docs.is_empty() && index.terms.is_empty() {
                return Ok(index);
            }
            return Err(corrupt(&index.meta_key(), "missing"));
        };
        if meta.format != FORMAT_VERSION {
            return Err(IndexError::UnsupportedFormat {
                found: meta.format,
                expected: FORMAT_VERSION,
            });
        }
        index.generation = meta.generation;
        index.next_doc = meta.next_doc;
        // Size by the numbers actually used, not by `next_doc`, which a damaged meta record
        // could make huge.
        let n = docs
            .iter()
            .map(|(_, r)| r.num as usize + 1)
            .max()
            .unwrap_or(0);
        index.docs = vec![None; n];
        index.lens = vec![[0; NUM_FIELDS]; n];
        index.doc_locale = vec![0; n];
        for (id, record) in docs {
            let i = record.num as usize;
            if record.num >= meta.next_doc || index.docs[i].is_some() {
                return Err(corrupt(
                    &format!("{}{DOC_PREFIX}{id}", index.prefix),
                    "document number out of range or reused",
                ));
            }
            index.lens[i] = record.lens;
            for f in 0..NUM_FIELDS {
                index.totals[f] += u64::from(record.lens[f]);
            }
            index.doc_locale[i] = index.intern_locale(&record.locale);
            index.ids.insert(id.clone(), record.num);
            index.docs[i] = Some(record.into_article(id));
            index.live += 1;
        }
        for term in &index.terms {
            let missing = |&d: &u32| index.docs.get(d as usize).is_none_or(Option::is_none);
            if let Some(&d) = term.docs.iter().find(|d| missing(d)) {
                return Err(corrupt(
                    &term_key(&index.prefix, &term.name, block_of(d)),
                    "posting for a missing document",
                ));
            }
        }
        Ok(index)
    }

    /// Every record of the index in key order, for a full rebuild of its storage or a snapshot.
    pub fn records(&self) -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::with_capacity(1 + self.ids.len() + self.slots.len());
        if let Some(meta) = self.meta_bytes() {
            out.push((self.meta_key(), meta));
        }
        for (num, article) in self.docs.iter().enumerate() {
            if let (Some(a), Some(record)) = (article, self.doc_record(num as u32)) {
                out.push((
                    format!("{}{DOC_PREFIX}{}", self.prefix, a.id),
                    encode(&record),
                ));
            }
        }
        for &slot in self.slots.values() {
            if let Some(t) = self.terms.get(slot as usize) {
                for block in t.blocks() {
                    if let Some(bytes) = t.encode_block(block) {
                        out.push((term_key(&self.prefix, &t.name, block), bytes));
                    }
                }
            }
        }
        edgedesk_sort::sort_by(&mut out, |a, b| a.0.cmp(&b.0));
        out
    }

    /// The word-form dictionary for typos and completion, built on first use after a change.
    pub(crate) fn dictionary(&self) -> &fst::Map<Vec<u8>> {
        self.dictionary.get_or_init(|| {
            let mut entries = Vec::new();
            for &slot in self.slots.values() {
                if let Some(t) = self.terms.get(slot as usize) {
                    if !is_cjk_term(&t.name) {
                        // The stem too: a typo of "refunds" may be closer to "refund".
                        entries.push((t.name.as_str(), u64::from(slot)));
                        entries.extend(
                            t.forms
                                .iter()
                                .map(|f| (f.surface.as_str(), u64::from(slot))),
                        );
                    }
                }
            }
            fuzzy::dictionary(entries)
        })
    }

    /// Does the work a first query would otherwise pay for: the typo dictionary and automata.
    pub fn prepare(&self) {
        fuzzy::warm_up();
        self.dictionary();
    }

    /// Which interned locales pass the filter (`None`: all).
    pub(crate) fn locale_mask(&self, wanted: Option<&str>) -> Vec<bool> {
        self.locales
            .iter()
            .map(|l| wanted.is_none_or(|w| locale_matches(l, w)))
            .collect()
    }

    /// Article id by document number.
    pub(crate) fn doc_id(&self, num: u32) -> &str {
        self.docs
            .get(num as usize)
            .and_then(Option::as_ref)
            .map_or("", |a| a.id.as_str())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::BTreeMap;

    use super::*;

    pub(crate) fn art(id: &str, locale: &str, title: &str, body: &str, tags: &[&str]) -> Article {
        Article {
            id: id.into(),
            locale: locale.into(),
            title: title.into(),
            body: body.into(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
        }
    }

    /// Applies writes to a key-value map, as storage would.
    pub(crate) fn persist(kv: &mut BTreeMap<String, Vec<u8>>, w: IndexWrites) {
        for (k, v) in w.puts {
            kv.insert(k, v);
        }
        for k in w.deletes {
            kv.remove(&k);
        }
    }

    #[test]
    fn a_new_article_writes_its_record_its_terms_and_the_meta() {
        let mut index = Index::new("kb:");
        let w = index
            .upsert(art("a1", "en", "Refund policy", "Refunds take days", &[]))
            .unwrap();
        let keys: Vec<&str> = w.puts.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "kb:t:day/0",
                "kb:t:polici/0",
                "kb:t:refund/0",
                "kb:t:take/0",
                "kb:d:a1",
                "kb:meta"
            ]
        );
        assert!(w.deletes.is_empty());
        assert_eq!(w.meta_before, None);
        assert_eq!(index.generation(), 1);
    }

    #[test]
    fn editing_one_word_rewrites_only_the_terms_that_changed() {
        let mut index = Index::new("kb:");
        index
            .upsert(art("a1", "en", "Refund policy", "Refunds take days", &[]))
            .unwrap();
        let w = index
            .upsert(art("a1", "en", "Refund policy", "Refunds take weeks", &[]))
            .unwrap();
        let puts: Vec<&str> = w.puts.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(puts, ["kb:t:week/0", "kb:d:a1", "kb:meta"]);
        assert_eq!(w.deletes, ["kb:t:day/0"]);
        assert!(w.meta_before.is_some());
    }

    #[test]
    fn an_edit_rewrites_only_the_block_holding_the_article() {
        let mut index = Index::new("kb:");
        let n = BLOCK_DOCS as usize + 10;
        index
            .apply((0..n).map(|i| Change::Upsert(art(&format!("a{i}"), "en", "Refund", "", &[]))))
            .unwrap();
        let last = format!("a{}", n - 1);
        let w = index.upsert(art(&last, "en", "Refunds", "", &[])).unwrap();
        let puts: Vec<&str> = w.puts.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            puts,
            ["kb:t:refund/1", format!("kb:d:{last}").as_str(), "kb:meta"]
        );
        // The first block's record was not touched, and every record stays a few KiB.
        assert!(index
            .records()
            .iter()
            .all(|(_, v)| v.len() <= 5 * BLOCK_DOCS as usize));
    }

    #[test]
    fn re_indexing_an_unchanged_article_writes_nothing() {
        let mut index = Index::new("kb:");
        let a = art("a1", "en", "Refund policy", "Refunds take days", &[]);
        index.upsert(a.clone()).unwrap();
        let w = index.upsert(a).unwrap();
        assert!(w.is_empty());
        assert_eq!(index.generation(), 1);
    }

    #[test]
    fn an_invalid_article_in_a_batch_leaves_the_index_untouched() {
        let mut index = Index::new("kb:");
        let err = index.apply([
            Change::Upsert(art("a1", "en", "Refund", "", &[])),
            Change::Upsert(art("a2", "not a locale", "Refund", "", &[])),
        ]);
        assert!(matches!(err, Err(IndexError::InvalidArticle { .. })));
        assert!(index.is_empty());
        assert_eq!(index.generation(), 0);
    }

    #[test]
    fn records_round_trip_into_an_equal_index() {
        let mut index = Index::new("kb:");
        let mut kv = BTreeMap::new();
        persist(
            &mut kv,
            index
                .apply([
                    Change::Upsert(art(
                        "a1",
                        "en",
                        "Refund policy",
                        "Refunds take days",
                        &["billing"],
                    )),
                    Change::Upsert(art("a2", "zh-CN", "退款政策", "退款需要三天", &[])),
                ])
                .unwrap(),
        );
        persist(&mut kv, index.remove("a1").unwrap());
        let loaded = Index::from_records("kb:", &kv).unwrap();
        assert_eq!(loaded.records(), index.records());
        assert!(loaded.is_current(kv.get("kb:meta").map(Vec::as_slice)));
        let as_records: BTreeMap<String, Vec<u8>> = index.records().into_iter().collect();
        assert_eq!(as_records, kv);
        assert!(index.records().windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn loading_refuses_postings_that_point_at_missing_articles() {
        let mut index = Index::new("kb:");
        let mut kv = BTreeMap::new();
        persist(
            &mut kv,
            index.upsert(art("a1", "en", "Refund", "", &[])).unwrap(),
        );
        kv.remove("kb:d:a1");
        assert!(matches!(
            Index::from_records("kb:", &kv),
            Err(IndexError::Corrupt { .. })
        ));
    }

    #[test]
    fn loading_refuses_an_index_of_another_format() {
        let mut kv = BTreeMap::new();
        kv.insert(
            "kb:meta".to_string(),
            encode(&MetaRecord {
                format: FORMAT_VERSION + 1,
                generation: 1,
                next_doc: 0,
            }),
        );
        assert!(matches!(
            Index::from_records("kb:", &kv),
            Err(IndexError::UnsupportedFormat { .. })
        ));
    }

    #[test]
    fn a_damaged_meta_record_is_refused_or_harmless() {
        let mut index = Index::new("kb:");
        let mut kv = BTreeMap::new();
        persist(
            &mut kv,
            index.upsert(art("a1", "en", "Refund", "", &[])).unwrap(),
        );
        let meta = |next_doc| {
            encode(&MetaRecord {
                format: FORMAT_VERSION,
                generation: 1,
                next_doc,
            })
        };
        // A huge next document number costs nothing until used.
        kv.insert("kb:meta".into(), meta(u32::MAX));
        let loaded = Index::from_records("kb:", &kv).unwrap();
        assert_eq!(loaded.docs.len(), 1);
        // One below the numbers in use is inconsistent.
        kv.insert("kb:meta".into(), meta(0));
        assert!(matches!(
            Index::from_records("kb:", &kv),
            Err(IndexError::Corrupt { .. })
        ));
    }

    #[test]
    fn records_of_other_prefixes_are_ignored_when_loading() {
        let records = vec![("other:meta".to_string(), vec![1u8, 2, 3])];
        let index = Index::from_records("kb:", records).unwrap();
        assert!(index.is_empty());
    }

    #[test]
    fn a_stale_meta_record_is_detected() {
        let mut index = Index::new("kb:");
        let first = index.upsert(art("a1", "en", "Refund", "", &[])).unwrap();
        let stored = first.puts.last().map(|(_, v)| v.clone());
        assert!(index.is_current(stored.as_deref()));
        index.upsert(art("a2", "en", "Return", "", &[])).unwrap();
        assert!(!index.is_current(stored.as_deref()));
    }
}
