//! Property: an index kept up to date change by change, and persisted through the writes it
//! emits, is the same index as one built from scratch over the final articles.

use std::collections::BTreeMap;

use edgedesk_search::{Article, Change, Index, IndexWrites, SearchRequest};
use proptest::prelude::*;

const WORDS: &[&str] = &[
    "refund",
    "refunds",
    "order",
    "shipping",
    "password",
    "reset",
    "account",
    "invoice",
    "billing",
    "delivery",
    "cancel",
    "subscription",
];
const HANZI: &[&str] = &["退款", "订单", "发货", "密码", "账户", "发票"];
/// Ids changed by the generated operations; `f0` and `f1` also name filler articles, so with a
/// filler the changes touch both the first block of document numbers and a later one.
const IDS: &[&str] = &["a", "b", "c", "d", "f0", "f1"];
/// More filler articles than one block of document numbers holds.
const FILLER_PAST_ONE_BLOCK: usize = 1030;

fn text(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            prop::sample::select(WORDS).prop_map(str::to_owned),
            prop::sample::select(HANZI).prop_map(str::to_owned),
        ],
        0..max,
    )
    .prop_map(|w| w.join(" "))
}

fn article() -> impl Strategy<Value = Article> {
    (
        prop::sample::select(IDS),
        prop::sample::select(&["en", "zh-CN"][..]),
        text(4),
        text(12),
        prop::collection::vec(prop::sample::select(WORDS).prop_map(str::to_owned), 0..3),
    )
        .prop_map(|(id, locale, title, body, tags)| Article {
            id: id.into(),
            locale: locale.into(),
            title,
            body,
            tags,
        })
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        3 => article().prop_map(Change::Upsert),
        1 => prop::sample::select(IDS).prop_map(|id| Change::Remove(id.into())),
    ]
}

fn persist(kv: &mut BTreeMap<String, Vec<u8>>, w: IndexWrites) {
    // The writer's view of the meta record must be what storage holds, or the commit would
    // be refused.
    assert_eq!(w.meta_before.as_ref(), kv.get("kb:meta"));
    for (k, v) in w.puts {
        kv.insert(k, v);
    }
    for k in w.deletes {
        kv.remove(&k);
    }
}

fn queries() -> Vec<(String, bool)> {
    let mut q: Vec<(String, bool)> = WORDS.iter().map(|w| (w.to_string(), false)).collect();
    q.extend(HANZI.iter().map(|w| (w.to_string(), false)));
    q.extend(
        [
            "refnud",
            "pasword",
            "subscriptoin",
            "refund 退款 order",
            "发",
        ]
        .map(|s| (s.into(), false)),
    );
    q.extend(["re", "pass", "sub", "ord", "paswo"].map(|s| (s.into(), true)));
    q
}

fn same_results(a: &Index, b: &Index) {
    for (q, typing) in queries() {
        for locale in [None, Some("en"), Some("zh")] {
            let mut req = SearchRequest::new(&q).page(20, 0);
            if typing {
                req = req.as_you_type();
            }
            if let Some(l) = locale {
                req = req.locale(l);
            }
            assert_eq!(
                a.search(&req),
                b.search(&req),
                "query {q:?} locale {locale:?}"
            );
        }
    }
}

fn filler(n: usize) -> Vec<Article> {
    (0..n)
        .map(|i| Article {
            id: format!("f{i}"),
            locale: if i % 2 == 0 { "en" } else { "zh-CN" }.into(),
            title: WORDS[i % WORDS.len()].into(),
            body: format!(
                "{} {}",
                HANZI[i % HANZI.len()],
                WORDS[(i / 3) % WORDS.len()]
            ),
            tags: Vec::new(),
        })
        .collect()
}

/// Applies `batches` after `filler` articles, persisting every write, and checks the result
/// against storage and against a rebuild.
fn check(filler: Vec<Article>, batches: Vec<Vec<Change>>) -> Result<(), TestCaseError> {
    let mut incremental = Index::new("kb:");
    let mut kv = BTreeMap::new();
    let mut expected: BTreeMap<String, Article> =
        filler.iter().map(|a| (a.id.clone(), a.clone())).collect();
    persist(
        &mut kv,
        incremental
            .apply(filler.into_iter().map(Change::Upsert))
            .expect("valid filler"),
    );
    for batch in batches {
        for change in &batch {
            match change {
                Change::Upsert(a) => {
                    expected.insert(a.id.clone(), a.clone());
                }
                Change::Remove(id) => {
                    expected.remove(id);
                }
            }
        }
        persist(&mut kv, incremental.apply(batch).expect("valid changes"));
    }

    // What storage holds is exactly the index in memory.
    let stored: BTreeMap<String, Vec<u8>> = incremental.records().into_iter().collect();
    prop_assert_eq!(&stored, &kv);
    let loaded = Index::from_records("kb:", &kv).expect("readable records");
    prop_assert_eq!(loaded.records(), incremental.records());

    // And it answers exactly like an index built in one go from the final articles.
    let mut rebuilt = Index::new("kb:");
    rebuilt
        .apply(expected.values().cloned().map(Change::Upsert))
        .expect("valid articles");
    let (i, r) = (incremental.stats(), rebuilt.stats());
    prop_assert_eq!(
        (i.articles, i.terms, i.postings, i.word_forms),
        (r.articles, r.terms, r.postings, r.word_forms)
    );
    for (id, article) in &expected {
        prop_assert_eq!(incremental.article(id), Some(article));
    }
    same_results(&incremental, &rebuilt);
    same_results(&loaded, &rebuilt);
    Ok(())
}

fn batches() -> impl Strategy<Value = Vec<Vec<Change>>> {
    prop::collection::vec(prop::collection::vec(change(), 1..4), 1..12)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(100))]

    #[test]
    fn incremental_updates_equal_a_full_rebuild(batches in batches()) {
        check(Vec::new(), batches)?;
    }
}

proptest! {
    // Each case indexes over a thousand articles three times; fewer cases keep it quick.
    #![proptest_config(ProptestConfig::with_cases(8))]

    #[test]
    fn incremental_updates_across_blocks_equal_a_full_rebuild(batches in batches()) {
        check(filler(FILLER_PAST_ONE_BLOCK), batches)?;
    }
}
