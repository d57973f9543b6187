//! Who is looking: the signed-in person, the workspace the request is for, and their role in it.

use serde::{Deserialize, Serialize};

/// What a person may do in a workspace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Connects, reconnects and disconnects Salesforce, changes the sync settings, invites and
    /// removes members; reads everything.
    Admin,
    /// Reads everything in the workspace: the Overview, the activity, runs and records.
    Member,
}

impl Role {
    pub const ALL: &'static [Role] = &[Role::Admin, Role::Member];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }

    pub fn parse(code: &str) -> Option<Role> {
        Role::ALL.iter().copied().find(|r| r.as_str() == code)
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Admin => "Admin",
            Role::Member => "Member",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The signed-in person as one request sees them: who, in which workspace, with which role. The
/// server puts it on every request it lets through; pages and handlers read it from there.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Viewer {
    pub user_id: i64,
    pub email: String,
    pub name: String,
    pub workspace: String,
    pub workspace_name: String,
    pub role: Role,
    /// Set when the request came with an API token (its id) rather than a signed-in session.
    #[serde(default)]
    pub token: Option<i64>,
}

impl Viewer {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

/// Every workspace the signed-in person belongs to, as the [`Viewer`] they are in each (an API
/// token: its one workspace). On each request beside the [`Viewer`] of the address's workspace;
/// the product bar's switcher lists them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Workspaces(pub Vec<Viewer>);

impl Viewer {
    /// `path` (`/settings/crm/…`) in this viewer's workspace: `/w/{workspace}/settings/crm/…`.
    pub fn href(&self, path: &str) -> String {
        super::href::in_workspace(&self.workspace, path)
    }

    /// The workspace, as the store names it.
    #[cfg(feature = "ssr")]
    pub fn ws(&self) -> crate::store::WorkspaceId {
        crate::store::WorkspaceId(self.workspace.clone())
    }
}

/// What an API token may do: read like a member, or also change like an admin.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenAccess {
    Read,
    ReadWrite,
}

impl TokenAccess {
    pub const ALL: &'static [TokenAccess] = &[TokenAccess::Read, TokenAccess::ReadWrite];

    pub fn as_str(self) -> &'static str {
        match self {
            TokenAccess::Read => "read",
            TokenAccess::ReadWrite => "read_write",
        }
    }

    pub fn parse(code: &str) -> Option<TokenAccess> {
        TokenAccess::ALL.iter().copied().find(|a| a.as_str() == code)
    }

    pub fn label(self) -> &'static str {
        match self {
            TokenAccess::Read => "Read only",
            TokenAccess::ReadWrite => "Read and write",
        }
    }

    /// The role a request made with the token has.
    pub fn role(self) -> Role {
        match self {
            TokenAccess::Read => Role::Member,
            TokenAccess::ReadWrite => Role::Admin,
        }
    }
}

/// An API token as the Overview lists it (never the token itself).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiTokenView {
    pub id: i64,
    pub name: String,
    /// The token's first characters (`cvs_AbCd…`).
    pub prefix: String,
    pub access: TokenAccess,
    /// The email of the admin who made it, while their account exists.
    pub created_by: Option<String>,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// A member of a workspace, as Users & permissions lists them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub user_id: i64,
    pub email: String,
    pub name: String,
    pub role: Role,
    /// When they joined the workspace.
    pub since: i64,
}

/// An invitation not yet used, as Users & permissions lists it (never its link).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationView {
    pub id: i64,
    pub email: String,
    pub role: Role,
    pub invited_by: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
}

/// How long an invitation link works.
pub const INVITATION_DAYS: i64 = 7;

/// What the audit trail records. Stored by code; shown as [`AuditAction::describe`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    Connected,
    Reconnected,
    SwitchedOrg,
    KeptOrg,
    Disconnected,
    SettingsChanged,
    MemberAdded,
    MemberUpdated,
    TokenCreated,
    TokenRevoked,
    MemberInvited,
    InvitationRevoked,
    MemberJoined,
    MemberRemoved,
    AlertsChanged,
    RetriedRecords,
    StartedSync,
}

impl AuditAction {
    pub const ALL: &'static [AuditAction] = &[
        AuditAction::Connected,
        AuditAction::Reconnected,
        AuditAction::SwitchedOrg,
        AuditAction::KeptOrg,
        AuditAction::Disconnected,
        AuditAction::SettingsChanged,
        AuditAction::MemberAdded,
        AuditAction::MemberUpdated,
        AuditAction::TokenCreated,
        AuditAction::TokenRevoked,
        AuditAction::MemberInvited,
        AuditAction::InvitationRevoked,
        AuditAction::MemberJoined,
        AuditAction::MemberRemoved,
        AuditAction::AlertsChanged,
        AuditAction::RetriedRecords,
        AuditAction::StartedSync,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::Connected => "connected",
            AuditAction::Reconnected => "reconnected",
            AuditAction::SwitchedOrg => "switched_org",
            AuditAction::KeptOrg => "kept_org",
            AuditAction::Disconnected => "disconnected",
            AuditAction::SettingsChanged => "settings_changed",
            AuditAction::MemberAdded => "member_added",
            AuditAction::MemberUpdated => "member_updated",
            AuditAction::TokenCreated => "token_created",
            AuditAction::TokenRevoked => "token_revoked",
            AuditAction::MemberInvited => "member_invited",
            AuditAction::InvitationRevoked => "invitation_revoked",
            AuditAction::MemberJoined => "member_joined",
            AuditAction::MemberRemoved => "member_removed",
            AuditAction::AlertsChanged => "alerts_changed",
            AuditAction::RetriedRecords => "retried_records",
            AuditAction::StartedSync => "started_sync",
        }
    }

    pub fn parse(code: &str) -> Option<AuditAction> {
        AuditAction::ALL.iter().copied().find(|a| a.as_str() == code)
    }

    /// What happened, as a sentence's verb phrase ("connected Salesforce").
    pub fn describe(self) -> &'static str {
        match self {
            AuditAction::Connected => "connected Salesforce",
            AuditAction::Reconnected => "reconnected Salesforce",
            AuditAction::SwitchedOrg => "switched to another Salesforce org",
            AuditAction::KeptOrg => "kept the connected Salesforce org",
            AuditAction::Disconnected => "disconnected Salesforce",
            AuditAction::SettingsChanged => "changed the sync settings",
            AuditAction::MemberAdded => "added a member",
            AuditAction::MemberUpdated => "changed a member's password or role",
            AuditAction::TokenCreated => "created an API token",
            AuditAction::TokenRevoked => "revoked an API token",
            AuditAction::MemberInvited => "invited someone",
            AuditAction::InvitationRevoked => "withdrew an invitation",
            AuditAction::MemberJoined => "joined through an invitation",
            AuditAction::MemberRemoved => "removed a member",
            AuditAction::AlertsChanged => "changed the alert webhook",
            AuditAction::RetriedRecords => "retried failed records",
            AuditAction::StartedSync => "started a sync now",
        }
    }
}

/// One entry of a workspace's audit trail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub at: i64,
    /// Who: their email, or what acted for nobody signed in (`server adduser`).
    pub actor: String,
    pub action: AuditAction,
    /// The particulars: the org, the settings that changed, the member and role.
    pub detail: String,
}

/// What a person who is not an admin is told when they try an admin's change.
pub const ADMINS_ONLY: &str =
    "Only workspace admins can make this change. Ask an admin of this workspace.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_read_back_their_codes() {
        for &r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("owner"), None);
    }

    #[test]
    fn audit_actions_read_back_their_codes() {
        for &a in AuditAction::ALL {
            assert_eq!(AuditAction::parse(a.as_str()), Some(a));
        }
    }
}
