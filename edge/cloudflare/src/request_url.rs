//! The parts of a request's URL the Worker needs (authority, path, query), read from the URL
//! string the runtime hands over.
//!
//! That string is already serialized by the runtime's WHATWG URL parser, so it needs no second
//! parse: the scheme ends at `://`, the authority at the first `/` or `?`, the path at the first
//! `?` (a `?` inside the path is always percent-encoded), and requests carry no fragment.
//! Parsing it again with the `url` crate would link its IDNA and Unicode normalisation tables,
//! about 0.2 MB of wasm, for nothing.

/// A request URL split into the parts the functions see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UrlParts<'a> {
    /// `host` or `host:port` (with `user:password@` if the URL had one).
    pub authority: &'a str,
    /// The percent-encoded path, `/` when the URL has none.
    pub path: &'a str,
    /// The query without its `?`; `Some("")` for a bare `?`.
    pub query: Option<&'a str>,
}

impl<'a> UrlParts<'a> {
    /// Splits a serialized absolute URL. A string without a scheme is taken as a path.
    pub fn of(url: &'a str) -> UrlParts<'a> {
        let url = url.split_once('#').map_or(url, |(before, _)| before);
        let (authority, rest) = match url.split_once("://") {
            Some((_, after)) => match after.find(['/', '?']) {
                Some(i) => after.split_at(i),
                None => (after, ""),
            },
            None => ("", url),
        };
        let (path, query) = match rest.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (rest, None),
        };
        UrlParts {
            authority,
            path: if path.is_empty() { "/" } else { path },
            query,
        }
    }

    /// The path with `?query` appended when there is one, as an HTTP request target.
    pub fn path_and_query(&self) -> String {
        match self.query {
            Some(q) => format!("{}?{q}", self.path),
            None => self.path.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::UrlParts;

    fn parts(url: &str) -> (&str, &str, Option<&str>) {
        let p = UrlParts::of(url);
        (p.authority, p.path, p.query)
    }

    #[test]
    fn a_url_splits_into_authority_path_and_query() {
        assert_eq!(
            parts("https://edgedesk.example/v1/tickets?limit=5&cursor=abc"),
            (
                "edgedesk.example",
                "/v1/tickets",
                Some("limit=5&cursor=abc")
            )
        );
        assert_eq!(
            parts("http://127.0.0.1:8787/health"),
            ("127.0.0.1:8787", "/health", None)
        );
    }

    #[test]
    fn an_empty_path_is_the_root_and_a_bare_question_mark_an_empty_query() {
        assert_eq!(parts("https://a.example"), ("a.example", "/", None));
        assert_eq!(
            parts("https://a.example?x=1"),
            ("a.example", "/", Some("x=1"))
        );
        assert_eq!(parts("https://a.example/p?"), ("a.example", "/p", Some("")));
    }

    #[test]
    fn encoded_characters_stay_encoded_and_a_fragment_is_dropped() {
        assert_eq!(
            parts("https://a.example/a%3F%23%2Fb?q=%26#frag"),
            ("a.example", "/a%3F%23%2Fb", Some("q=%26"))
        );
        assert_eq!(
            parts("https://a.example/help/t/zh-CN/search?q=%E9%80%80%E6%AC%BE"),
            (
                "a.example",
                "/help/t/zh-CN/search",
                Some("q=%E9%80%80%E6%AC%BE")
            )
        );
    }

    #[test]
    fn path_and_query_rebuilds_the_request_target() {
        assert_eq!(
            UrlParts::of("https://a.example/v1/x?y=1").path_and_query(),
            "/v1/x?y=1"
        );
        assert_eq!(
            UrlParts::of("https://a.example/v1/x").path_and_query(),
            "/v1/x"
        );
        assert_eq!(
            UrlParts::of("/already/a/path").path_and_query(),
            "/already/a/path"
        );
    }
}
