//! Recognises the transaction-control statements a guest sends, so the host can route them.
//!
//! The guest talks to SQLite one statement at a time. Most statements go straight to a
//! connection, but `BEGIN`, `COMMIT`/`END` and `ROLLBACK` decide *which* connection the following
//! statements use and when the single writer is taken and released, so the host must see them
//! before SQLite does. Everything else is left to SQLite (whose authorizer, installed by the
//! host, refuses any transaction control this parser does not recognise).

/// What a statement means for transaction routing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// `BEGIN [DEFERRED | IMMEDIATE | EXCLUSIVE] [TRANSACTION]`: take the writer.
    Begin,
    /// `COMMIT [TRANSACTION]` or `END [TRANSACTION]`.
    Commit,
    /// `ROLLBACK [TRANSACTION]` (but not `ROLLBACK TO <savepoint>`).
    Rollback,
    /// `SAVEPOINT`, `RELEASE` or `ROLLBACK TO`: nested transaction control, only valid inside a
    /// transaction the guest began with `BEGIN`.
    Savepoint,
    /// Anything else: data or schema statements.
    Other,
}

/// Classifies one statement. Comments and a trailing `;` are ignored; keywords are
/// case-insensitive, as in SQLite.
pub fn classify(sql: &str) -> Control {
    let words = keywords(sql);
    let word = |i: usize| words.get(i).map(String::as_str);
    let only = |allowed_tail: &[&str]| words.len() <= 1 + allowed_tail.len();
    match word(0) {
        Some("BEGIN") => {
            let mut rest = &words[1..];
            if let Some(first) = rest.first() {
                if matches!(first.as_str(), "DEFERRED" | "IMMEDIATE" | "EXCLUSIVE") {
                    rest = &rest[1..];
                }
            }
            match rest {
                [] => Control::Begin,
                [t] if t == "TRANSACTION" => Control::Begin,
                _ => Control::Other,
            }
        }
        Some("COMMIT" | "END") => match word(1) {
            None => Control::Commit,
            Some("TRANSACTION") if only(&["TRANSACTION"]) => Control::Commit,
            _ => Control::Other,
        },
        Some("ROLLBACK") => match (word(1), word(2)) {
            (None, _) => Control::Rollback,
            (Some("TRANSACTION"), None) => Control::Rollback,
            (Some("TO"), _) | (Some("TRANSACTION"), Some("TO")) => Control::Savepoint,
            _ => Control::Other,
        },
        Some("SAVEPOINT" | "RELEASE") => Control::Savepoint,
        _ => Control::Other,
    }
}

/// The kind of schema object a `CREATE … IF NOT EXISTS` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaKind {
    Table,
    Index,
    View,
    Trigger,
}

impl SchemaKind {
    /// The `type` column of `sqlite_schema` for this kind.
    pub fn as_str(self) -> &'static str {
        match self {
            SchemaKind::Table => "table",
            SchemaKind::Index => "index",
            SchemaKind::View => "view",
            SchemaKind::Trigger => "trigger",
        }
    }
}

/// For `CREATE [UNIQUE] TABLE|INDEX|VIEW|TRIGGER IF NOT EXISTS [main.]name …`, the object it
/// would create. Such a statement is a no-op when the object exists, yet SQLite does not report
/// it read-only; guests run it on every cold start, so the host answers it from a reader when
/// the object is already there instead of taking the writer. `TEMP` objects and other schemas
/// are not recognised (they go their normal way).
pub fn create_if_not_exists(sql: &str) -> Option<(SchemaKind, String)> {
    let tokens = tokens(sql, 10);
    let mut t = tokens.iter().peekable();
    let mut word = |expected: &str| {
        matches!(t.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case(expected))
            .then(|| t.next())
            .is_some()
    };
    if !word("CREATE") {
        return None;
    }
    let unique = word("UNIQUE");
    let kind = if word("TABLE") && !unique {
        SchemaKind::Table
    } else if word("INDEX") {
        SchemaKind::Index
    } else if word("VIEW") && !unique {
        SchemaKind::View
    } else if word("TRIGGER") && !unique {
        SchemaKind::Trigger
    } else {
        return None;
    };
    if !(word("IF") && word("NOT") && word("EXISTS")) {
        return None;
    }
    let first = t.next()?.name()?;
    if matches!(t.peek(), Some(Token::Dot)) {
        t.next();
        let second = t.next()?.name()?;
        return first.eq_ignore_ascii_case("main").then_some((kind, second));
    }
    Some((kind, first))
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// A bare word (keyword or identifier).
    Word(String),
    /// A quoted identifier, unquoted.
    Quoted(String),
    Dot,
    Other,
}

impl Token {
    fn name(&self) -> Option<String> {
        match self {
            Token::Word(w) | Token::Quoted(w) => Some(w.clone()),
            Token::Dot | Token::Other => None,
        }
    }
}

/// The first `max` tokens of a statement (enough to read its head).
fn tokens(sql: &str, max: usize) -> Vec<Token> {
    let mut out = Vec::new();
    let mut rest = sql;
    while out.len() < max {
        rest = skip_space_and_comments(rest);
        let Some(c) = rest.chars().next() else { break };
        let (token, len) = match c {
            '.' => (Token::Dot, 1),
            '"' | '`' | '[' => {
                let close = if c == '[' { ']' } else { c };
                let body = &rest[1..];
                let mut name = String::new();
                let mut chars = body.char_indices();
                let mut end = None;
                while let Some((i, ch)) = chars.next() {
                    if ch == close {
                        // A doubled quote is an escaped quote (not for brackets).
                        if close != ']' && body[i + 1..].starts_with(close) {
                            name.push(close);
                            chars.next();
                            continue;
                        }
                        end = Some(i + 1);
                        break;
                    }
                    name.push(ch);
                }
                match end {
                    Some(e) => (Token::Quoted(name), 1 + e),
                    None => break,
                }
            }
            c if c.is_ascii_alphanumeric() || c == '_' => {
                let end = rest
                    .char_indices()
                    .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_'))
                    .map_or(rest.len(), |(i, _)| i);
                (Token::Word(rest[..end].to_owned()), end)
            }
            other => (Token::Other, other.len_utf8()),
        };
        out.push(token);
        rest = &rest[len..];
    }
    out
}

/// The leading words of a statement, upper-cased, skipping comments; stops at the first
/// character that is not part of a bare word (a savepoint name, an operator, a `;`). Only the
/// first few words matter for classification.
fn keywords(sql: &str) -> Vec<String> {
    const ENOUGH: usize = 4;
    let mut words = Vec::new();
    let mut rest = sql;
    while words.len() < ENOUGH {
        rest = skip_space_and_comments(rest);
        let end = rest
            .char_indices()
            .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_'))
            .map_or(rest.len(), |(i, _)| i);
        if end == 0 {
            break;
        }
        words.push(rest[..end].to_ascii_uppercase());
        rest = &rest[end..];
    }
    words
}

fn skip_space_and_comments(mut s: &str) -> &str {
    loop {
        let trimmed = s.trim_start();
        if let Some(after) = trimmed.strip_prefix("--") {
            s = after.find('\n').map_or("", |i| &after[i + 1..]);
        } else if let Some(after) = trimmed.strip_prefix("/*") {
            s = after.find("*/").map_or("", |i| &after[i + 2..]);
        } else {
            return trimmed;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_of_begin_takes_the_writer() {
        for sql in [
            "BEGIN",
            "begin;",
            "BEGIN IMMEDIATE",
            "begin immediate transaction;",
            "BEGIN DEFERRED",
            "BEGIN EXCLUSIVE TRANSACTION",
            "  -- start\n  BEGIN /* now */ IMMEDIATE",
        ] {
            assert_eq!(classify(sql), Control::Begin, "{sql}");
        }
    }

    #[test]
    fn commit_and_end_are_the_same_statement() {
        for sql in [
            "COMMIT",
            "commit transaction;",
            "END",
            "end transaction",
            "COMMIT ;",
        ] {
            assert_eq!(classify(sql), Control::Commit, "{sql}");
        }
    }

    #[test]
    fn rollback_to_a_savepoint_is_not_a_rollback_of_the_transaction() {
        assert_eq!(classify("ROLLBACK"), Control::Rollback);
        assert_eq!(classify("rollback transaction;"), Control::Rollback);
        assert_eq!(classify("ROLLBACK TO sp1"), Control::Savepoint);
        assert_eq!(
            classify("ROLLBACK TRANSACTION TO SAVEPOINT sp1"),
            Control::Savepoint
        );
        assert_eq!(classify("SAVEPOINT sp1"), Control::Savepoint);
        assert_eq!(classify("RELEASE sp1"), Control::Savepoint);
    }

    #[test]
    fn create_if_not_exists_names_the_object() {
        let cases = [
            (
                "CREATE TABLE IF NOT EXISTS kv (a)",
                Some((SchemaKind::Table, "kv")),
            ),
            (
                "create unique index if not exists main.\"by key\" on kv(k)",
                Some((SchemaKind::Index, "by key")),
            ),
            (
                "CREATE VIEW IF NOT EXISTS [v] AS SELECT 1",
                Some((SchemaKind::View, "v")),
            ),
            (
                "CREATE TABLE IF NOT EXISTS `a\"b` (x)",
                Some((SchemaKind::Table, "a\"b")),
            ),
            (
                "CREATE TABLE IF NOT EXISTS \"q\"\"q\" (x)",
                Some((SchemaKind::Table, "q\"q")),
            ),
            ("CREATE TABLE kv (a)", None),
            ("CREATE TEMP TABLE IF NOT EXISTS t (a)", None),
            ("CREATE TABLE IF NOT EXISTS other.t (a)", None),
            ("CREATE UNIQUE TABLE IF NOT EXISTS t (a)", None),
            ("INSERT INTO kv VALUES (1)", None),
        ];
        for (sql, expected) in cases {
            let got = create_if_not_exists(sql);
            let expected = expected.map(|(k, n)| (k, n.to_owned()));
            assert_eq!(got, expected, "{sql}");
        }
    }

    #[test]
    fn data_statements_and_lookalikes_are_left_to_sqlite() {
        for sql in [
            "SELECT 1",
            "INSERT INTO kv VALUES ('BEGIN', 'x', x'00')",
            "CREATE TABLE begin_log (x)",
            "BEGIN WORK",
            "",
            "-- only a comment",
            "/* unterminated",
        ] {
            assert_eq!(classify(sql), Control::Other, "{sql:?}");
        }
    }
}
