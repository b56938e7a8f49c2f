//! `ApiResource`: an API call's answer as a page reads it, reloaded when the signals its call reads change.
//!
//! Every `ApiResource` shares one untyped core: the answer is kept as `Rc<dyn Any>` and the call as a boxed future
//! (`api::Call::send_erased`), and the typed wrapper only downcasts. Generic resource machinery, one copy per kind
//! of answer, cost the module about 6 KB each, ten times over, and V8 compiles each copy again when a page first
//! runs it.
//!
//! The core is a signal holding the latest answer and an effect that makes the call, not Leptos's
//! `LocalResource`: the app needs no suspense or transitions, and `LocalResource`'s async-derived signal brought
//! them (with an async lock and an event-listener queue), about 19 KB of the module.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::rc::Rc;

use leptos::prelude::*;

use crate::api::{AnyAnswer as Answer, ApiError, Call};

/// The call behind a resource, with its answer's type erased.
type ErasedCall = Box<dyn Fn() -> Pin<Box<dyn Future<Output = Answer>>>>;

/// The answer of an API call that returns `T`: `None` while the first answer is awaited, then the data or the
/// error. Like `LocalResource`, it keeps its last answer while it reloads. `Copy`, so views capture it freely.
pub struct ApiResource<T: 'static> {
    #[cfg(target_arch = "wasm32")]
    shared: Shared,
    /// Rendered by the server (`prerender.rs`): the answer the call gave at once, if it did.
    #[cfg(not(target_arch = "wasm32"))]
    shared: StoredValue<Option<Answer>, LocalStorage>,
    answer: PhantomData<fn() -> T>,
}

impl<T: 'static> Clone for ApiResource<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: 'static> Copy for ApiResource<T> {}

impl<T: 'static> ApiResource<T> {
    /// Makes the call `call` describes now, and again whenever a signal it reads changes.
    pub fn new(call: impl Fn() -> Call<T> + 'static) -> Self {
        let call: ErasedCall = Box::new(move || call().send_erased());
        ApiResource { shared: shared_resource(call), answer: PhantomData }
    }

    /// The answer so far, tracked: `None` until the first answer.
    pub fn get(&self) -> Option<Result<Rc<T>, ApiError>> {
        #[cfg(target_arch = "wasm32")]
        let answer = self.shared.answer.get();
        #[cfg(not(target_arch = "wasm32"))]
        let answer = self.shared.get_value();
        answer.map(|answer| {
            answer
                .map(|data| data.downcast::<T>().unwrap_or_else(|_| unreachable!("an ApiResource holds its own type")))
        })
    }

    /// Calls again (the retry button).
    pub fn refetch(&self) {
        #[cfg(target_arch = "wasm32")]
        self.shared.reload.notify();
    }
}

/// What every `ApiResource` holds in the browser, whatever its type.
#[cfg(target_arch = "wasm32")]
#[derive(Clone, Copy)]
struct Shared {
    /// The latest answer; `None` until the first.
    answer: RwSignal<Option<Answer>, LocalStorage>,
    /// Notified to call again (the retry button).
    reload: Trigger,
}

/// Makes the call now, and again when a signal it reads changes or `reload` is notified. Only the answer of the
/// latest call is kept: calling again cleans up the effect's owner, which aborts the request before (`Api::send`
/// ties its `AbortController` to the owner), as leaving the page does.
#[cfg(target_arch = "wasm32")]
fn shared_resource(call: ErasedCall) -> Shared {
    use std::cell::Cell;
    let answer = RwSignal::new_local(None);
    let reload = Trigger::new();
    let latest = Rc::new(Cell::new(0u64));
    Effect::new(move || {
        reload.track();
        // The signals the call reads (a period, say) are tracked here, where the call is made.
        let future = call();
        let run = latest.get() + 1;
        latest.set(run);
        let latest = latest.clone();
        // Polled with this run's owner, so the request's cleanup belongs to it; reads while it waits are not
        // tracked.
        leptos::task::spawn_local(leptos::reactive::computed::ScopedFuture::new_untracked(async move {
            let result = future.await;
            if latest.get() == run {
                answer.try_set(Some(result));
            }
        }));
    });
    Shared { answer, reload }
}

/// Rendered by the server: the call's answer if it gives one at once (the server's answers do), else none ever.
#[cfg(not(target_arch = "wasm32"))]
fn shared_resource(call: ErasedCall) -> StoredValue<Option<Answer>, LocalStorage> {
    use std::task::{Context, Poll, Waker};
    let answer = match call().as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(answer) => Some(answer),
        Poll::Pending => None,
    };
    StoredValue::new_local(answer)
}
