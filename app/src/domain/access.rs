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
}

impl Viewer {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

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
