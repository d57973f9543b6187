//! Small pieces the pages share.

pub mod badges;
pub mod chart;
pub mod counts;
pub mod detail;
pub mod health_card;
pub mod layout;
pub mod live;
pub mod tabs;
pub mod time;
