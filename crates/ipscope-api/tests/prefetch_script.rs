//! `index.html`'s scripts apply the theme and start the IP page's API calls before the app loads, so they repeat
//! three of the app's rules in JavaScript: the hours of each period preset, where the token is kept and where the
//! theme is kept. This keeps the copies equal.

use ipscope_api::period::{PeriodChoice, Preset};

fn index_html() -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../index.html");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn the_prefetch_script_knows_every_preset_and_the_token_key() {
    let html = index_html();
    for preset in Preset::ALL {
        let entry = format!("\"{}\": {}", preset.token(), preset.hours());
        assert!(html.contains(&entry), "index.html's script lacks {entry}");
    }
    let PeriodChoice::Preset(default) = PeriodChoice::default() else { panic!("the default period is a preset") };
    assert!(html.contains(&format!("query.get(\"period\") || \"{}\"", default.token())), "the default period");
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
