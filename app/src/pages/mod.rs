//! One page per file.

pub mod alerts_card;
pub mod crm_connection;
pub mod crm_overview;
pub mod history_card;
pub mod not_found;
pub mod record;
pub mod run;
pub mod sign_in;
pub mod sync_activity;
pub mod users;
