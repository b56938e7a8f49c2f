//! One section of a page: a labelled `<section>` whose content loads on its own, with loading and error states.

use std::rc::Rc;

use leptos::prelude::*;

use crate::api::ApiError;
use crate::components::error_notice::ErrorNotice;
use crate::resource::ApiResource;

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
    resource: ApiResource<T>,
    /// Renders the data, shared with the resource (not copied).
    render: impl Fn(Rc<T>) -> V + Send + Sync + 'static,
) -> impl IntoView
where
    T: 'static,
    V: IntoView + 'static,
{
    // The resource keeps its last value while it reloads (a new period), so the old content stays until the new
    // arrives, as a `<Transition>` would show it, without a suspense boundary and its futures per section.
    let content = move || resource.get().map(|answer| answer.map(|data| render(data).into_any()));
    section_frame(id, title, loading, Box::new(content), Callback::new(move |()| resource.refetch()))
}

/// What a section shows: `None` while loading, then the rendered data or the error.
type Content = Box<dyn Fn() -> Option<Result<AnyView, ApiError>> + Send + Sync>;

/// The part of `Section` that does not depend on the data's type: the frame, the loading line and the error, built
/// once in the module rather than once per kind of data.
fn section_frame(
    id: &'static str,
    title: &'static str,
    loading: &'static str,
    content: Content,
    retry: Callback<()>,
) -> AnyView {
    let shown = move || match content() {
        None => view! { <p class="loading" role="status">{loading}</p> }.into_any(),
        Some(Ok(view)) => view,
        Some(Err(error)) => view! { <ErrorNotice error retry /> }.into_any(),
    };
    view! {
        <section class="panel" aria-labelledby=id>
            <div class="panel-head">
                <h2 id=id>{title}</h2>
            </div>
            {shown}
        </section>
    }
    .into_any()
}
