//! An API failure in words, with a retry button; a rate limit counts down and retries by itself.

#[cfg(target_arch = "wasm32")]
use std::time::Duration;

use leptos::prelude::*;

use crate::api::ApiError;

/// Shows why a section could not load.
#[component]
pub fn ErrorNotice(
    /// What went wrong.
    error: ApiError,
    /// Loads the section again.
    retry: Callback<()>,
) -> impl IntoView {
    let title = match &error {
        ApiError::InvalidInput(_) => "Invalid request",
        ApiError::NotFound(_) => "Not found",
        ApiError::Unauthorized(_) => "Sign-in needed",
        ApiError::Forbidden(_) => "Not permitted",
        ApiError::RateLimited { .. } => "Rate limited",
        ApiError::Unreachable(_) => "Server unreachable",
        ApiError::Server { .. } => "Server error",
        ApiError::Decode(_) => "Unexpected answer",
    };
    let message = match &error {
        ApiError::RateLimited { .. } => "The server is limiting requests.".to_string(),
        other => other.to_string(),
    };
    let countdown = match error {
        ApiError::RateLimited { retry_after } => Some(RwSignal::new(retry_after)),
        _ => None,
    };
    // Counting down is the browser's: the server draws the notice as it first shows (`prerender.rs`).
    #[cfg(target_arch = "wasm32")]
    if let Some(left) = countdown {
        let handle = set_interval_with_handle(
            move || {
                let now = left.get_untracked().saturating_sub(1);
                left.set(now);
                if now == 0 {
                    retry.run(());
                }
            },
            Duration::from_secs(1),
        );
        if let Ok(handle) = handle {
            on_cleanup(move || handle.clear());
        }
    }
    view! {
        <div class="error-notice" role="alert">
            <p>
                <strong>{title}</strong>
                ": "
                {message}
                {countdown.map(|left| view! { " Retrying in " {move || left.get()} " s." })}
            </p>
            <button type="button" on:click=move |_| retry.run(())>
                "Retry"
            </button>
        </div>
    }
}
