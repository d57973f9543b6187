//! The engine's own rows, as the engine names them: inbound cursors and the overlap window's seen
//! set, the connection state and the workspace's sync settings. The SQL is in the store
//! ([`app::store::cursors`], `app::store::connection`, `app::store::settings`); what the rows mean
//! for syncing is decided in [`super`].

pub use app::store::{
    load_cursor, load_seen, save_cursor, save_seen, BulkCursor, BulkJobRef, Cursor,
};

/// The connection as the status endpoint and the scheduler see it. A workspace without a
/// connection row is connected (see `app::store::connection` for why).
pub use app::store::SyncConnection as Connection;
pub use app::store::{
    mark_reconnect_needed, set_connection_state as set_connection, set_limit_pause,
    sync_connection as connection,
};

/// A workspace's sync rules and write settings: the same ones the Overview tab edits.
pub use app::domain::settings::SyncSettings as Settings;
pub use app::store::{load_settings as settings, save_settings};
