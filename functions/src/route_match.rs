//! Matching a request path against the route table without building anything first.
//!
//! The component answers every request from a fresh instance, so a router built on first use
//! (a radix tree, a `OnceLock`) is rebuilt for every request; inserting the ~100 routes took
//! longer than the rest of a cheap request's work. This walks the static table instead: each
//! pattern is compared segment by segment with the path, which costs a few comparisons per
//! pattern and allocates nothing.
//!
//! A `{name}` segment matches any non-empty segment. When several patterns match, the one whose
//! first differing segment is literal wins (`/v1/rules/test` over `/v1/rules/{id}`), as with a
//! radix-tree router that prefers static children.

/// A matched route: the table's pattern and value (the path's parameters are read with
/// [`crate::routes::Args::capture`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Matched<T> {
    pub pattern: &'static str,
    pub value: T,
}

/// Where a pattern has parameters: bit `63 - i` for segment `i`. A smaller mask has its first
/// parameter later, i.e. is more literal at the first place two patterns differ.
///
/// Compares bytes directly, so most patterns are refused at their first literal byte.
fn param_mask(pattern: &str, path: &str) -> Option<u64> {
    let (want, got) = (pattern.as_bytes(), path.as_bytes());
    let (mut i, mut j, mut segment, mut mask) = (0, 0, 0u32, 0u64);
    while i < want.len() {
        if want[i] == b'{' {
            // A parameter: one or more bytes up to the next `/`.
            let start = j;
            while j < got.len() && got[j] != b'/' {
                j += 1;
            }
            if j == start {
                return None;
            }
            mask |= 1u64.checked_shl(63u32.saturating_sub(segment)).unwrap_or(0);
            while i < want.len() && want[i] != b'}' {
                i += 1;
            }
            i += 1;
        } else {
            if got.get(j) != Some(&want[i]) {
                return None;
            }
            if want[i] == b'/' {
                segment += 1;
            }
            i += 1;
            j += 1;
        }
    }
    // The path may not go on past the pattern.
    (j == got.len()).then_some(mask)
}

/// The most literal pattern of `table` that matches `path`, if any.
pub(crate) fn find<T: Copy>(table: &'static [(&'static str, T)], path: &str) -> Option<Matched<T>> {
    let mut best: Option<(u64, &'static str, T)> = None;
    for (pattern, value) in table {
        if let Some(mask) = param_mask(pattern, path) {
            if best.is_none_or(|(b, _, _)| mask < b) {
                best = Some((mask, pattern, *value));
            }
        }
    }
    let (_, pattern, value) = best?;
    Some(Matched { pattern, value })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &[(&str, u8)] = &[
        ("/v1/rules", 1),
        ("/v1/rules/test", 2),
        ("/v1/rules/{id}", 3),
        ("/v1/widget/{tenant}/kb/articles/{id}", 4),
        ("/help/{tenant}", 5),
        ("/help/{tenant}/", 6),
        ("/help/{tenant}/{locale}", 7),
    ];

    fn value(path: &str) -> Option<u8> {
        find(TABLE, path).map(|m| m.value)
    }

    #[test]
    fn a_literal_segment_wins_over_a_parameter_in_either_table_order() {
        assert_eq!(value("/v1/rules/test"), Some(2));
        assert_eq!(value("/v1/rules/rul_1"), Some(3));
        const REVERSED: &[(&str, u8)] = &[("/v1/rules/{id}", 3), ("/v1/rules/test", 2)];
        assert_eq!(find(REVERSED, "/v1/rules/test").map(|m| m.value), Some(2));
    }

    #[test]
    fn parameters_are_borrowed_from_the_path() {
        let path = "/v1/widget/ten_9/kb/articles/art_3";
        let m = find(TABLE, path).unwrap();
        assert_eq!(m.pattern, "/v1/widget/{tenant}/kb/articles/{id}");
        let args = crate::routes::Args::capture(m.pattern, path);
        assert_eq!((args.tenant, args.id), ("ten_9", "art_3"));
    }

    #[test]
    fn empty_segments_extra_segments_and_missing_segments_do_not_match() {
        assert_eq!(value("/v1/rules/"), None);
        assert_eq!(value("/v1/rules/a/b"), None);
        assert_eq!(value("/v1"), None);
        assert_eq!(value(""), None);
        assert_eq!(value("/"), None);
    }

    #[test]
    fn a_trailing_slash_is_its_own_route() {
        assert_eq!(value("/help/ten_1"), Some(5));
        assert_eq!(value("/help/ten_1/"), Some(6));
        assert_eq!(value("/help/ten_1/en"), Some(7));
    }

    /// The real table, against the radix-tree router it replaces, on every pattern filled in
    /// with sample values and on near misses.
    #[test]
    fn the_route_table_matches_exactly_what_a_radix_tree_router_matches() {
        let mut tree = matchit::Router::new();
        for (pattern, route) in crate::routes::ROUTES {
            tree.insert(*pattern, (*pattern, *route)).unwrap();
        }
        let mut paths = vec![
            String::new(),
            "/".to_owned(),
            "/v1".to_owned(),
            "/v1/".to_owned(),
            "/nothing".to_owned(),
        ];
        for (pattern, _) in crate::routes::ROUTES {
            for sample in [
                "x1",
                "test",
                "import",
                "api",
                "widget",
                "sitemap.xml",
                "search",
            ] {
                let filled: String = pattern
                    .split('/')
                    .map(|s| if s.starts_with('{') { sample } else { s })
                    .collect::<Vec<_>>()
                    .join("/");
                paths.push(filled.clone());
                paths.push(format!("{filled}/"));
                paths.push(format!("{filled}/extra"));
                paths.push(filled.rsplit_once('/').map(|(a, _)| a.to_owned()).unwrap());
            }
        }
        for path in &paths {
            let expected = tree.at(path).ok().map(|m| {
                (
                    m.value.0,
                    m.value.1,
                    ["id", "tenant", "version", "locale", "slug"]
                        .map(|n| m.params.get(n).unwrap_or("").to_owned()),
                )
            });
            let got = find(crate::routes::ROUTES, path).map(|m| {
                let a = crate::routes::Args::capture(m.pattern, path);
                (
                    m.pattern,
                    m.value,
                    [a.id, a.tenant, a.version, a.locale, a.slug].map(str::to_owned),
                )
            });
            assert_eq!(got, expected, "path {path:?}");
        }
    }
}
