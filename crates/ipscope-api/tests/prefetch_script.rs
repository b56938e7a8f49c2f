//! `index.html`'s scripts apply the theme and ask the server for the IP page's drawing before the app loads, so they
//! repeat two of the app's rules in JavaScript: where the token is kept and where the theme is kept. This keeps the
//! copies equal. The API calls (and the periods' hours in them) are the app's alone: the server learns them by
//! rendering the app's page, and the script hands the app the answers by the paths the app asked for.

fn index_html() -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../index.html");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn the_pages_scripts_know_the_token_and_theme_keys_and_no_api_call() {
    let html = index_html();
    // No copy of the calls or the periods to drift from the app's: the drawing's answers carry their paths.
    assert!(!html.contains("lookBackHours") && !html.contains("\"30d\""), "index.html's script builds API calls");
    assert!(html.contains("Object.entries(drawn.answers)"), "the script hands over the drawing's answers by path");
    // src/auth.rs keeps the token under this key in sessionStorage.
    let auth = std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../src/auth.rs"))
        .expect("src/auth.rs");
    assert!(auth.contains("const TOKEN_KEY: &str = \"ipscope.token\";"));
    assert!(html.contains("sessionStorage.getItem(\"ipscope.token\")"));
    // src/components/theme_toggle.rs stores the theme under this key; the page's first script applies it.
    let theme = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../src/components/theme_toggle.rs"),
    )
    .expect("src/components/theme_toggle.rs");
    assert!(theme.contains("const KEY: &str = \"ipscope-theme\";"));
    assert!(html.contains("localStorage.getItem(\"ipscope-theme\")"));
}
