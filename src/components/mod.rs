//! Reusable views. Components take plain data and do no I/O.

pub mod error_notice;
pub mod related_alerts;
pub mod search_box;
pub mod time;
