//! The app rendered to HTML outside the browser, for ipscope's server: the page an analyst opens is drawn from the
//! API's answers before the module has loaded, then the app draws it again and takes its place (`index.html`,
//! `lib.rs`). The same components render both; what differs is where the address, the token and the API's answers
//! come from: here, from the server, for the duration of one `render` on this thread.

use std::cell::RefCell;
use std::collections::HashMap;

use leptos::prelude::*;
use leptos::tachys::view::RenderHtml;

use crate::app::App;
use crate::config::Config;

/// An API answer as the server got it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// `Retry-After`, in seconds.
    pub retry_after: Option<u32>,
    /// The body.
    pub body: Vec<u8>,
}

/// The page being rendered on this thread.
struct Rendering {
    config: Config,
    path: String,
    query: String,
    token: Option<String>,
    answers: HashMap<String, Answer>,
    asked: Vec<String>,
}

thread_local! {
    static RENDERING: RefCell<Option<Rendering>> = const { RefCell::new(None) };
}

/// A page rendered to HTML, and the API calls (paths below the API base) whose answers it lacked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The app's markup for `<body>`: header, page, footer.
    pub html: String,
    /// Calls the page made that `answers` had no answer for, in the order made; their sections show as loading.
    pub unanswered: Vec<String>,
}

/// Renders the app at `path` (below the base path, `/ips/1.2.3.4`) with `query` (`?period=7d` or empty), signed in
/// with `token` if any, each API call answered from `answers` (by path below the API base, as the app asks:
/// `ips/1.2.3.4/devices?lookBackHours=720`). Render once without answers to learn the calls, then with them.
pub fn render(
    config: Config,
    path: &str,
    query: &str,
    token: Option<String>,
    answers: HashMap<String, Answer>,
) -> Rendered {
    /// Clears the thread's rendering however `render` ends.
    struct Clear;
    impl Drop for Clear {
        fn drop(&mut self) {
            RENDERING.with(|r| r.borrow_mut().take());
        }
    }
    let rendering = Rendering {
        config: config.clone(),
        path: path.to_string(),
        query: query.to_string(),
        token,
        answers,
        asked: Vec::new(),
    };
    RENDERING.with(|r| *r.borrow_mut() = Some(rendering));
    let _clear = Clear;
    // A server's shared context: browser-only helpers (window listeners) know to do nothing.
    let owner = Owner::new_root(Some(std::sync::Arc::new(hydration_context::SsrSharedContext::new())));
    let html = owner.with(|| view! { <App config /> }.to_html());
    owner.cleanup();
    let asked = RENDERING.with(|r| r.borrow_mut().as_mut().map(|r| std::mem::take(&mut r.asked))).unwrap_or_default();
    Rendered { html, unanswered: asked }
}

fn with<T>(read: impl FnOnce(&mut Rendering) -> T) -> T {
    RENDERING.with(|r| read(r.borrow_mut().as_mut().expect("the app renders outside a browser only in `render`")))
}

/// `read` of the configuration the page is rendered with.
pub(crate) fn config<T>(read: impl FnOnce(&Config) -> T) -> T {
    with(|r| read(&r.config))
}

/// The address rendered: path and query.
pub(crate) fn address() -> (String, String) {
    with(|r| (r.path.clone(), r.query.clone()))
}

/// The token the page is rendered for.
pub(crate) fn token() -> Option<String> {
    with(|r| r.token.clone())
}

/// The answer to `GET path`, if the server gave one; the call is noted when it did not.
pub(crate) fn answer(path: &str) -> Option<Answer> {
    with(|r| {
        let answer = r.answers.get(path).cloned();
        if answer.is_none() && !r.asked.iter().any(|p| p == path) {
            r.asked.push(path.to_string());
        }
        answer
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_config_file;

    fn config() -> Config {
        Config::new(parse_config_file(r#"{"auth":{"type":"none"}}"#), String::new(), false)
    }

    #[test]
    fn renders_the_ip_page_from_the_answers_given() {
        let first = render(config(), "/ips/1.2.3.4", "?period=7d", None, HashMap::new());
        assert!(first.html.contains("Loading devices…"), "{}", first.html);
        assert_eq!(
            first.unanswered,
            [
                "ips/1.2.3.4/profile",
                "ips/1.2.3.4/alerts",
                "ips/1.2.3.4/devices?lookBackHours=168",
                "ips/1.2.3.4/prevalence?lookBackHours=168"
            ]
        );
        let answer = |status, body: &str| Answer { status, retry_after: None, body: body.as_bytes().to_vec() };
        let mut answers: HashMap<String, Answer> =
            first.unanswered.iter().map(|path| (path.clone(), answer(500, "{}"))).collect();
        answers.insert(
            "ips/1.2.3.4/devices?lookBackHours=168".into(),
            answer(403, r#"{"error":{"code":"Forbidden","message":"Machine.Read.All is needed <here>"}}"#),
        );
        let second = render(config(), "/ips/1.2.3.4", "?period=7d", None, answers);
        assert!(second.unanswered.is_empty(), "{:?}", second.unanswered);
        assert!(second.html.contains("Machine.Read.All is needed &lt;here&gt;"), "{}", second.html);
        assert!(!second.html.contains("Loading"), "{}", second.html);
    }

    /// Every kind of answer an API call can give is drawn (a component touching the browser here would end the
    /// server's process: wasm-bindgen's stand-ins for browser functions abort outside a browser).
    #[test]
    fn draws_every_kind_of_answer() {
        let paths = ["profile", "alerts", "devices?lookBackHours=720", "prevalence?lookBackHours=720", "me"];
        let cases: &[(u16, &str, &str)] = &[
            (400, r#"{"error":{"code":"BadRequest","message":"bad period"}}"#, "bad period"),
            (401, r#"{"error":{"code":"Unauthorized","message":"expired"}}"#, "expired"),
            (403, r#"{"error":{"code":"Forbidden","message":"needs Alert.Read.All"}}"#, "needs Alert.Read.All"),
            (404, r#"{"error":{"code":"NotFound","message":"no such thing"}}"#, "no such thing"),
            (429, r#"{"error":{"code":"TooManyRequests","message":"slow down"}}"#, "Retrying in"),
            (500, "plain failure text", "plain failure text"),
            (200, "not json", "could not be read"),
        ];
        for (status, body, shown) in cases {
            let answers = paths
                .iter()
                .map(|call| {
                    let path = if *call == "me" { "me".to_string() } else { format!("ips/203.0.113.9/{call}") };
                    (path, Answer { status: *status, retry_after: Some(5), body: body.as_bytes().to_vec() })
                })
                .collect();
            let signed_in = Config::new(Ok(None), "/tools/ipscope".into(), false); // ipscope's tokens: the account menu
            let page = render(signed_in, "/ips/203.0.113.9", "", Some("t".into()), answers);
            assert!(page.html.contains(shown), "{status}: {}", page.html);
            assert!(page.unanswered.is_empty(), "{status}: {:?}", page.unanswered);
        }
        for (path, query) in [("/ips/not-an-ip", ""), ("/ips/2001:db8::1", "?period=bogus&filter=x&sort=severity")] {
            let page = render(config(), path, query, None, HashMap::new());
            assert!(page.html.contains("<main"), "{path}: {}", page.html);
        }
    }
}
