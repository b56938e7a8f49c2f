//! One section of a page: a labelled `<section>` whose content loads on its own, with loading and error states.

use leptos::prelude::*;

use crate::api::ApiError;
use crate::components::error_notice::ErrorNotice;

/// A `<section>` labelled by its heading. It shows `loading` until `resource` resolves, then `children`'s view
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
    render: impl Fn(T) -> V + Send + Sync + Clone + 'static,
    /// Controls shown next to the heading (filters, exports).
    #[prop(optional)]
    actions: Option<ViewFn>,
) -> impl IntoView
where
    T: Clone + Send + Sync + 'static,
    V: IntoView + 'static,
{
    view! {
        <section class="panel" aria-labelledby=id>
            <div class="panel-head">
                <h2 id=id>{title}</h2>
                {actions.map(|a| a.run())}
            </div>
            <Transition fallback=move || view! { <p class="loading" role="status">{loading}</p> }>
                {move || {
                    let render = render.clone();
                    Suspend::new(async move {
                        match resource.await {
                            Ok(data) => render(data).into_any(),
                            Err(error) => view! { <ErrorNotice error retry=move || resource.refetch() /> }.into_any(),
                        }
                    })
                }}
            </Transition>
        </section>
    }
}
