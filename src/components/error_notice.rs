//! An API failure in words, with a retry button.

use leptos::prelude::*;

use crate::api::ApiError;

/// Shows why a section could not load.
#[component]
pub fn ErrorNotice(
    /// What went wrong.
    error: ApiError,
    /// Loads the section again.
    retry: impl Fn() + Send + Sync + 'static,
) -> impl IntoView {
    let title = match &error {
        ApiError::InvalidInput(_) => "Invalid request",
        ApiError::NotFound(_) => "Not found",
        ApiError::RateLimited { .. } => "Rate limited",
        ApiError::Unreachable(_) => "Server unreachable",
        ApiError::Server { .. } => "Server error",
        ApiError::Decode(_) => "Unexpected answer",
    };
    view! {
        <div class="error-notice" role="alert">
            <p>
                <strong>{title}</strong>
                ": "
                {error.to_string()}
            </p>
            <button type="button" on:click=move |_| retry()>
                "Retry"
            </button>
        </div>
    }
}
