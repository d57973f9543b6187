//! Small pieces the pages share.

pub mod badges;
pub mod chart;
pub mod counts;
pub mod layout;
pub mod tabs;
pub mod time;
pub mod live;
