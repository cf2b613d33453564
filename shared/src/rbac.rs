//! Role-based access control: the one place that says who may do what.
//!
//! Every request is authorised here, whether it carries an API key (whose scope maps onto a
//! role) or an agent's console session. Handlers name the permission they need; they never
//! inspect roles themselves.

use serde::{Deserialize, Serialize};

use crate::model::{KeyScope, Role};

/// An action a request wants to perform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// Read tenant settings, agents, contacts, conversations, messages, tickets, events.
    Read,
    /// Create and update contacts, conversations, tickets; post messages and notes.
    Work,
    /// Delete contacts, conversations and tickets.
    Delete,
    /// Manage agents and their roles.
    ManageAgents,
    /// Create, list and revoke API keys.
    ManageKeys,
    /// Create channels and read their secrets; change tenant settings.
    ManageSettings,
    /// Grant or remove the owner role.
    ManageOwners,
    /// Create, edit, publish, restore and delete knowledge-base categories and articles
    /// (reading them is `Read`).
    WriteKnowledgeBase,
    /// Define the bot's intents and settings (trying the bot on a text is `Work`).
    ManageBot,
}

/// A role's permissions. Owners hold everything; admins all but owner changes; agents do
/// the daily work; viewers only read.
pub fn role_allows(role: Role, permission: Permission) -> bool {
    use Permission::*;
    match role {
        Role::Owner => true,
        Role::Admin => !matches!(permission, ManageOwners),
        Role::Agent => matches!(permission, Read | Work | WriteKnowledgeBase),
        Role::Viewer => matches!(permission, Read),
    }
}

/// The role an API key acts with.
pub fn scope_role(scope: KeyScope) -> Role {
    match scope {
        KeyScope::Admin => Role::Admin,
        KeyScope::Agent => Role::Agent,
        KeyScope::ReadOnly => Role::Viewer,
    }
}

/// Whether a principal holding `granter` may hand out `granted` (to a key or an agent):
/// nobody grants more than they hold.
pub fn may_grant(granter: Role, granted: Role) -> bool {
    match granted {
        Role::Owner => role_allows(granter, Permission::ManageOwners),
        _ => rank(granter) >= rank(granted),
    }
}

fn rank(role: Role) -> u8 {
    match role {
        Role::Owner => 3,
        Role::Admin => 2,
        Role::Agent => 1,
        Role::Viewer => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_viewer_can_read_but_not_reply() {
        assert!(role_allows(Role::Viewer, Permission::Read));
        assert!(!role_allows(Role::Viewer, Permission::Work));
    }

    #[test]
    fn an_agent_cannot_manage_keys_or_delete() {
        assert!(role_allows(Role::Agent, Permission::Work));
        assert!(!role_allows(Role::Agent, Permission::ManageKeys));
        assert!(!role_allows(Role::Agent, Permission::Delete));
    }

    #[test]
    fn only_owners_manage_owners() {
        assert!(!role_allows(Role::Admin, Permission::ManageOwners));
        assert!(role_allows(Role::Owner, Permission::ManageOwners));
        assert!(!may_grant(Role::Admin, Role::Owner));
        assert!(may_grant(Role::Admin, Role::Admin));
        assert!(!may_grant(Role::Agent, Role::Admin));
    }

    #[test]
    fn agents_write_the_knowledge_base_and_viewers_only_read_it() {
        assert!(role_allows(Role::Agent, Permission::WriteKnowledgeBase));
        assert!(role_allows(Role::Admin, Permission::WriteKnowledgeBase));
        assert!(!role_allows(Role::Viewer, Permission::WriteKnowledgeBase));
        assert!(role_allows(Role::Viewer, Permission::Read));
    }

    #[test]
    fn admins_manage_the_bot_and_agents_only_try_it() {
        assert!(role_allows(Role::Admin, Permission::ManageBot));
        assert!(!role_allows(Role::Agent, Permission::ManageBot));
        assert!(role_allows(Role::Agent, Permission::Work));
        assert!(!role_allows(Role::Viewer, Permission::ManageBot));
    }

    #[test]
    fn key_scopes_map_to_roles() {
        assert_eq!(scope_role(KeyScope::ReadOnly), Role::Viewer);
        assert_eq!(scope_role(KeyScope::Agent), Role::Agent);
        assert_eq!(scope_role(KeyScope::Admin), Role::Admin);
    }
}
