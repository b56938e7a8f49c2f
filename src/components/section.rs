//! One section of a page: a labelled `<section>` whose content loads on its own, with loading and error states.

use leptos::prelude::*;

use crate::api::ApiError;
use crate::components::error_notice::ErrorNotice;

/// A `<section>` labelled by its heading. It shows `loading` until `resource` resolves, then `render`'s view
/// of the data, or the error in words with a retry button. One failing section never blanks the others.
#[component]
pub fn Section<T, V>(
    /// Element id of the heading.
    id: &'static str,
    /// The heading.
    title: &'static str,
    /// What "loading" says, e.g. "Loading alerts…".
    loading: &'static str,
    /// The data.
    resource: LocalResource<Result<T, ApiError>>,
    /// Renders the data.
    render: impl Fn(T) -> V + Send + Sync + 'static,
    /// Controls shown next to the heading (filters, exports).
    #[prop(optional)]
    actions: Option<ViewFn>,
) -> impl IntoView
where
    T: Clone + Send + Sync + 'static,
    V: IntoView + 'static,
{
    // The resource keeps its last value while it reloads (a new period), so the old content stays until the new
    // arrives, as a `<Transition>` would show it, without a suspense boundary and its futures per section.
    let content = move || match resource.get() {
        None => view! { <p class="loading" role="status">{loading}</p> }.into_any(),
        Some(Ok(data)) => render(data).into_any(),
        Some(Err(error)) => view! { <ErrorNotice error retry=move || resource.refetch() /> }.into_any(),
    };
    view! {
        <section class="panel" aria-labelledby=id>
            <div class="panel-head">
                <h2 id=id>{title}</h2>
                {actions.map(|a| a.run())}
            </div>
            {content}
        </section>
    }
}
