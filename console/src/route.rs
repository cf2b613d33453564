//! Where the console is: the part of the URL after `#`.
//!
//! The host serves the console as static files from one `index.html`, so the location of a
//! view lives in the fragment (`#/inbox/cnv_…`): reloading or sharing a link opens the same
//! view without the server knowing any console paths.

use edgedesk_shared::ids::{ConversationId, TicketId};

/// A settings page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SettingsTab {
    Profile,
    Agents,
    ApiKeys,
    Channels,
    Email,
    Widget,
    Bot,
    Canned,
    Reports,
}

impl SettingsTab {
    pub const ALL: [SettingsTab; 9] = [
        SettingsTab::Profile,
        SettingsTab::Agents,
        SettingsTab::ApiKeys,
        SettingsTab::Channels,
        SettingsTab::Email,
        SettingsTab::Widget,
        SettingsTab::Bot,
        SettingsTab::Canned,
        SettingsTab::Reports,
    ];

    fn slug(self) -> &'static str {
        match self {
            SettingsTab::Profile => "profile",
            SettingsTab::Agents => "agents",
            SettingsTab::ApiKeys => "keys",
            SettingsTab::Channels => "channels",
            SettingsTab::Email => "email",
            SettingsTab::Widget => "widget",
            SettingsTab::Bot => "bot",
            SettingsTab::Canned => "canned",
            SettingsTab::Reports => "reports",
        }
    }

    fn from_slug(slug: &str) -> Option<SettingsTab> {
        SettingsTab::ALL.into_iter().find(|t| t.slug() == slug)
    }
}

/// A view of the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Route {
    Inbox(Option<ConversationId>),
    Tickets(Option<TicketId>),
    Settings(SettingsTab),
}

impl Default for Route {
    fn default() -> Self {
        Route::Inbox(None)
    }
}

impl Route {
    /// Reads a location fragment (with or without the leading `#`). Anything unknown, or an
    /// id of the wrong kind, falls back to the inbox rather than an error page.
    pub fn parse(fragment: &str) -> Route {
        let path = fragment.trim_start_matches('#').trim_start_matches('/');
        let mut parts = path.split('/').filter(|p| !p.is_empty());
        match (parts.next(), parts.next()) {
            (Some("inbox"), id) => Route::Inbox(id.and_then(|i| i.parse().ok())),
            (Some("tickets"), id) => Route::Tickets(id.and_then(|i| i.parse().ok())),
            (Some("settings"), tab) => Route::Settings(
                tab.and_then(SettingsTab::from_slug)
                    .unwrap_or(SettingsTab::Profile),
            ),
            _ => Route::default(),
        }
    }

    /// The fragment that leads to this view, `#` included.
    pub fn href(&self) -> String {
        match self {
            Route::Inbox(None) => "#/inbox".to_owned(),
            Route::Inbox(Some(id)) => format!("#/inbox/{id}"),
            Route::Tickets(None) => "#/tickets".to_owned(),
            Route::Tickets(Some(id)) => format!("#/tickets/{id}"),
            Route::Settings(tab) => format!("#/settings/{}", tab.slug()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_survives_a_round_trip_through_its_link() {
        let cnv = ConversationId::from_parts(1_700_000_000_000, 7);
        let tkt = TicketId::from_parts(1_700_000_000_000, 9);
        let mut routes = vec![
            Route::Inbox(None),
            Route::Inbox(Some(cnv)),
            Route::Tickets(None),
            Route::Tickets(Some(tkt)),
        ];
        routes.extend(SettingsTab::ALL.map(Route::Settings));
        for r in routes {
            assert_eq!(Route::parse(&r.href()), r, "{}", r.href());
        }
    }

    #[test]
    fn unknown_fragments_open_the_inbox() {
        for f in ["", "#", "#/", "#/nowhere", "garbage", "#/inbox/"] {
            assert_eq!(Route::parse(f), Route::Inbox(None), "{f}");
        }
    }

    #[test]
    fn an_id_of_the_wrong_kind_is_ignored() {
        let tkt = TicketId::from_parts(1, 2);
        assert_eq!(Route::parse(&format!("#/inbox/{tkt}")), Route::Inbox(None));
        assert_eq!(
            Route::parse("#/settings/unknown"),
            Route::Settings(SettingsTab::Profile)
        );
    }
}
