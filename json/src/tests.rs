//! [`from_slice`] against [`serde_json::from_slice`] over the shapes EdgeDesk's types have.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::from_slice;

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Inner {
    name: String,
    #[serde(default)]
    count: u32,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Id(String);

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Outer {
    Plain,
    Wrapped(Inner),
    Pair(u8, u8),
    Shaped { inner: Inner },
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Tagged {
    One { inner: Inner },
    Two { n: i64 },
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
enum Either {
    Number(f64),
    Inner(Inner),
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Record {
    id: Id,
    inner: Inner,
    maybe: Option<Inner>,
    list: Vec<Inner>,
    by_name: BTreeMap<String, Inner>,
    outer: Vec<Outer>,
    tagged: Option<Tagged>,
    either: Vec<Either>,
    tuple: Option<(u8, String)>,
    big: Option<i128>,
    any: Option<Value>,
    #[serde(flatten)]
    rest: BTreeMap<String, Value>,
}

const GOOD: &str = r#"{
    "id": "rec_1",
    "inner": {"name": "a"},
    "maybe": {"name": "b", "count": 2},
    "list": [{"name": "c"}, {"count": 4, "name": "d"}],
    "by_name": {"e": {"name": "e"}},
    "outer": ["plain", {"wrapped": {"name": "f"}}, {"pair": [1, 2]}, {"shaped": {"inner": {"name": "g"}}}],
    "tagged": {"type": "one", "inner": {"name": "h"}},
    "either": [1.5, {"name": "i"}],
    "tuple": [7, "seven"],
    "big": 170141183460469231731687303715884105727,
    "any": {"deep": [1, "two", null, {"three": 3.0}]},
    "extra": true
}"#;

/// serde_json and the wrapper agree: the same value, or the same error with the same position.
fn same<T>(text: &str)
where
    T: for<'a> Deserialize<'a> + PartialEq + std::fmt::Debug,
{
    let theirs = serde_json::from_slice::<T>(text.as_bytes());
    let ours = from_slice::<T>(text.as_bytes());
    match (ours, theirs) {
        (Ok(ours), Ok(theirs)) => assert_eq!(ours, theirs, "{text}"),
        (Err(ours), Err(theirs)) => assert_eq!(ours.to_string(), theirs.to_string(), "{text}"),
        (ours, theirs) => panic!("{text}: ours {ours:?}, serde_json {theirs:?}"),
    }
}

#[test]
fn every_shape_decodes_as_serde_json_decodes_it() {
    same::<Record>(GOOD);
    let record: Record = from_slice(GOOD.as_bytes()).expect("decodes");
    assert_eq!(record.list[1].count, 4);
    assert_eq!(record.rest.get("extra"), Some(&Value::Bool(true)));
    same::<Value>(GOOD);
    same::<Vec<Option<Inner>>>(r#"[null, {"name": "x"}]"#);
    same::<BTreeMap<u32, String>>(r#"{"1": "one", "2": "two"}"#);
}

#[test]
fn bad_input_gets_the_error_and_position_serde_json_gives() {
    let cases = [
        "",
        "   ",
        "{",
        r#"{"name": "a"} trailing"#,
        r#"{"name": 5}"#,
        r#"{"count": 1}"#,
        r#"{"name": "a", "name": "b"}"#,
        r#"{"name": "a\q"}"#,
        "\"not an object\"",
        "null",
        r#"{"name": "a", "count": -1}"#,
        r#"{"name": "a", "count": 1e3}"#,
    ];
    for case in cases {
        same::<Inner>(case);
    }
    same::<Outer>(r#"{"unknown": 1}"#);
    same::<Outer>(r#""wrapped""#);
    same::<Tagged>(r#"{"type": "three"}"#);
    same::<Tagged>(r#"{"type": "two", "n": "x"}"#);
    same::<Either>(r#""neither""#);
    same::<Value>(r#"{"a": [1, 2"#);
    same::<Value>("[1, 2] 3");
}

#[test]
fn a_struct_spelled_as_an_array_is_refused_wherever_it_is() {
    let cases = [
        (
            r#"["a", 1]"#,
            "invalid type: sequence, expected struct Inner at line 1 column 0",
        ),
        (
            r#"[{"name": "a"}, ["b", 2]]"#,
            "invalid type: sequence, expected struct Inner at line 1 column 16",
        ),
    ];
    let single = from_slice::<Inner>(cases[0].0.as_bytes()).unwrap_err();
    assert!(serde_json::from_slice::<Inner>(cases[0].0.as_bytes()).is_ok());
    assert_eq!(single.to_string(), cases[0].1);
    let nested = from_slice::<Vec<Inner>>(cases[1].0.as_bytes()).unwrap_err();
    assert!(serde_json::from_slice::<Vec<Inner>>(cases[1].0.as_bytes()).is_ok());
    assert_eq!(nested.to_string(), cases[1].1);
    for (text, what) in [
        (r#"{"id": "r", "inner": ["a", 1]}"#, "a field"),
        (r#"{"maybe": ["a", 1]}"#, "an option"),
        (r#"{"by_name": {"x": ["a", 1]}}"#, "a map value"),
        (r#"{"outer": [{"wrapped": ["a", 1]}]}"#, "a newtype variant"),
    ] {
        let err = from_slice::<Record>(text.as_bytes()).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("invalid type: sequence, expected struct Inner"),
            "{what}: {err}"
        );
    }
}

#[test]
fn borrowed_strings_borrow_from_the_input() {
    #[derive(Deserialize)]
    struct Borrowing<'a> {
        #[serde(borrow)]
        name: &'a str,
    }
    let text = br#"{"name": "plain"}"#;
    let b: Borrowing = from_slice(text).expect("decodes");
    assert_eq!(b.name, "plain");
    assert!(text.as_ptr_range().contains(&b.name.as_ptr()));
}
