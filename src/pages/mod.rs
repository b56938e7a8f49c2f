//! Routed views. Pages read the route, fetch, and hand plain data to components.

pub mod alert_page;
pub mod device_page;
pub mod home_page;
pub mod ip_page;
pub mod not_found_page;
pub mod sign_in_callback_page;
pub mod sign_in_page;

/// Sets the document title (the browser tab and history entries).
pub fn set_title(title: &str) {
    #[cfg(target_arch = "wasm32")]
    leptos::prelude::document().set_title(title);
    #[cfg(not(target_arch = "wasm32"))]
    let _ = title; // rendered by the server: the page's title is the app's to set
}
