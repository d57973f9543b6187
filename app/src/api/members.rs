//! Users & permissions: the workspace's members, and for admins its open invitations.

use crate::domain::access::{InvitationView, Member};
use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MembersResponse {
    pub members: Vec<Member>,
    /// Invitations not yet used, for admins only.
    pub invitations: Option<Vec<InvitationView>>,
    /// Whether the signed-in person may invite and remove (an admin).
    pub can_change: bool,
    /// The signed-in person's id (they cannot remove themselves here).
    pub me: i64,
    pub as_of: i64,
}

/// `GET /api/members`: who is in the workspace.
#[server(prefix = "/api", endpoint = "members", input = GetUrl)]
pub async fn get_members() -> Result<MembersResponse, ServerFnError> {
    use super::ssr::{internal, no_cache, state, viewer};
    use crate::store;

    no_cache();
    let st = state()?;
    let me = viewer()?;
    let now = st.now_ms();
    let members = store::accounts::members(&st.pool, &st.workspace).await.map_err(internal)?;
    let invitations = if me.is_admin() {
        Some(store::invitations::list_open(&st.pool, &st.workspace, now).await.map_err(internal)?)
    } else {
        None
    };
    Ok(MembersResponse {
        members,
        invitations,
        can_change: me.is_admin(),
        me: me.user_id,
        as_of: now,
    })
}
