//! The difference between two versions of a knowledge-base article: changed title, added and
//! removed tags, and a line diff of the Markdown (unified, and line by line for side-by-side
//! views).

use serde::Serialize;
use utoipa::ToSchema;

use crate::kb::ArticleVersion;

#[derive(Serialize, ToSchema)]
pub struct FieldChange {
    pub from: String,
    pub to: String,
}

#[derive(Serialize, ToSchema)]
pub struct TagChanges {
    pub added: Vec<String>,
    pub removed: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct LineChange {
    /// `equal`, `insert` or `delete`.
    pub op: &'static str,
    pub text: String,
}

#[derive(Serialize, ToSchema)]
pub struct BodyDiff {
    /// A unified diff of the Markdown, three lines of context.
    pub unified: String,
    pub changes: Vec<LineChange>,
}

#[derive(Serialize, ToSchema)]
pub struct VersionDiff {
    pub from: u64,
    pub to: u64,
    pub title: Option<FieldChange>,
    pub tags: TagChanges,
    pub body: BodyDiff,
}

/// The difference between two versions.
pub fn diff_versions(a: &ArticleVersion, b: &ArticleVersion) -> VersionDiff {
    let text = similar::TextDiff::from_lines(a.body.as_str(), b.body.as_str());
    let unified = text
        .unified_diff()
        .context_radius(3)
        .header(&format!("v{}", a.version), &format!("v{}", b.version))
        .to_string();
    let changes = text
        .iter_all_changes()
        .map(|ch| LineChange {
            op: match ch.tag() {
                similar::ChangeTag::Equal => "equal",
                similar::ChangeTag::Insert => "insert",
                similar::ChangeTag::Delete => "delete",
            },
            text: ch.value().to_owned(),
        })
        .collect();
    let added = b
        .tags
        .iter()
        .filter(|t| !a.tags.contains(t))
        .cloned()
        .collect();
    let removed = a
        .tags
        .iter()
        .filter(|t| !b.tags.contains(t))
        .cloned()
        .collect();
    VersionDiff {
        from: a.version,
        to: b.version,
        title: (a.title != b.title).then(|| FieldChange {
            from: a.title.clone(),
            to: b.title.clone(),
        }),
        tags: TagChanges { added, removed },
        body: BodyDiff { unified, changes },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};
    use edgedesk_shared::model::ActorKind;

    fn version(v: u64, title: &str, body: &str, tags: &[&str]) -> ArticleVersion {
        ArticleVersion {
            article_id: "kba_x".into(),
            version: v,
            title: title.into(),
            body: body.into(),
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
            author: edgedesk_shared::model::Actor {
                kind: ActorKind::ApiKey,
                id: None,
            },
            created_at: DateTime::<Utc>::from_timestamp(0, 0).unwrap_or_default(),
            restored_from: None,
        }
    }

    #[test]
    fn a_diff_names_changed_lines_title_and_tags() {
        let a = version(1, "Refunds", "line one\nline two\n", &["billing", "old"]);
        let b = version(
            3,
            "Refund policy",
            "line one\nline 2\n",
            &["billing", "new"],
        );
        let d = diff_versions(&a, &b);
        assert_eq!(
            d.title.as_ref().map(|t| t.to.as_str()),
            Some("Refund policy")
        );
        assert_eq!(d.tags.added, vec!["new"]);
        assert_eq!(d.tags.removed, vec!["old"]);
        assert!(
            d.body.unified.contains("-line two\n+line 2\n"),
            "{}",
            d.body.unified
        );
        let ops: Vec<&str> = d.body.changes.iter().map(|c| c.op).collect();
        assert_eq!(ops, ["equal", "delete", "insert"]);
    }

    #[test]
    fn an_unchanged_version_diffs_to_nothing() {
        let a = version(1, "T", "same\n", &[]);
        let d = diff_versions(&a, &version(2, "T", "same\n", &[]));
        assert!(d.title.is_none() && d.tags.added.is_empty() && d.body.unified.is_empty());
    }
}
