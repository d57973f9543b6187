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
}
