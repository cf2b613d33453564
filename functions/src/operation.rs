//! What the route table (`crate::routes`) declares of each operation — who may call it, and
//! the path parameters a matched route captures — as plain data, so the API document and the
//! help centre can read it without depending on the dispatcher.

use edgedesk_shared::rbac::Permission;

/// Who may call an operation (the table's access column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, without credentials.
    Public,
    /// The deployment's platform token in `X-Platform-Token`.
    PlatformToken,
    /// The chat widget: public, CORS on every answer.
    Widget,
    /// The public HTML help center.
    HelpCenter,
    /// Any API key or console session of the tenant.
    SignedIn,
    /// An API key or session whose role holds the permission.
    Permission(Permission),
}

impl Access {
    /// Whether the caller must present an API key or a console session.
    pub fn authenticated(self) -> bool {
        matches!(self, Access::SignedIn | Access::Permission(_))
    }
}

/// One (method, path) pair of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation {
    /// The route's name in the table (`Tickets`, `Ticket`).
    pub route: &'static str,
    /// The HTTP method, upper case.
    pub method: &'static str,
    /// The path pattern, parameters in braces (`/v1/tickets/{id}`).
    pub pattern: &'static str,
    pub access: Access,
}

/// The path parameters of a matched route, borrowed from the path; an absent one is empty.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Args<'p> {
    pub id: &'p str,
    pub tenant: &'p str,
    pub version: &'p str,
    pub locale: &'p str,
    pub slug: &'p str,
}

impl<'p> Args<'p> {
    /// The parameters `pattern` names, read from `path` (which it matches).
    pub fn capture(pattern: &str, path: &'p str) -> Self {
        let mut args = Args::default();
        for (want, got) in pattern.split('/').zip(path.split('/')) {
            match want {
                "{id}" => args.id = got,
                "{tenant}" => args.tenant = got,
                "{version}" => args.version = got,
                "{locale}" => args.locale = got,
                "{slug}" => args.slug = got,
                _ => {}
            }
        }
        args
    }
}
