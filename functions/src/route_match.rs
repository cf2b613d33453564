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

/// A matched route: the table's pattern and value, and the path's `{id}` and `{tenant}`
/// segments (borrowed from the path).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Matched<'p, T> {
    pub pattern: &'static str,
    pub value: T,
    pub id: Option<&'p str>,
    pub tenant: Option<&'p str>,
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
pub(crate) fn find<'p, T: Copy>(
    table: &'static [(&'static str, T)],
    path: &'p str,
) -> Option<Matched<'p, T>> {
    let mut best: Option<(u64, &'static str, T)> = None;
    for (pattern, value) in table {
        if let Some(mask) = param_mask(pattern, path) {
            if best.is_none_or(|(b, _, _)| mask < b) {
                best = Some((mask, pattern, *value));
            }
        }
    }
    let (_, pattern, value) = best?;
    let mut matched = Matched {
        pattern,
        value,
        id: None,
        tenant: None,
    };
    for (want, got) in pattern.split('/').zip(path.split('/')) {
        match want {
            "{id}" => matched.id = Some(got),
            "{tenant}" => matched.tenant = Some(got),
            _ => {}
        }
    }
    Some(matched)
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
        let m = find(TABLE, "/v1/widget/ten_9/kb/articles/art_3").unwrap();
        assert_eq!((m.tenant, m.id), (Some("ten_9"), Some("art_3")));
        assert_eq!(m.pattern, "/v1/widget/{tenant}/kb/articles/{id}");
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
        for (pattern, route) in crate::ROUTES {
            tree.insert(*pattern, (*pattern, *route)).unwrap();
        }
        let mut paths = vec![
            String::new(),
            "/".to_owned(),
            "/v1".to_owned(),
            "/v1/".to_owned(),
            "/nothing".to_owned(),
        ];
        for (pattern, _) in crate::ROUTES {
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
                    m.params.get("id").map(str::to_owned),
                    m.params.get("tenant").map(str::to_owned),
                )
            });
            let got = find(crate::ROUTES, path).map(|m| {
                (
                    m.pattern,
                    m.value,
                    m.id.map(str::to_owned),
                    m.tenant.map(str::to_owned),
                )
            });
            assert_eq!(got, expected, "path {path:?}");
        }
    }
}
