//! Reusable views. Components take plain data and do no I/O.

pub mod account_menu;
pub mod copy_button;
pub mod error_notice;
pub mod export_buttons;
pub mod geo_info;
pub mod observed_devices;
pub mod prevalence_chart;
pub mod prevalence_panel;
pub mod related_alerts;
pub mod search_box;
pub mod section;
pub mod theme_toggle;
pub mod time;
