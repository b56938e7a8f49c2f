//! "Export CSV" and "Export JSON" for a table: the rows as shown, downloaded as a file.

use leptos::prelude::*;
use wasm_bindgen::JsCast;

/// Two buttons downloading `csv()` and `json()` as `{name}.csv` and `{name}.json`.
#[component]
pub fn ExportButtons(
    /// File name without extension, e.g. `alerts-203.0.113.66`.
    name: String,
    /// Builds the CSV text of the rows shown.
    csv: Callback<(), String>,
    /// Builds the JSON text of the rows shown.
    json: Callback<(), String>,
) -> impl IntoView {
    let csv_name = format!("{name}.csv");
    let json_name = format!("{name}.json");
    view! {
        <div class="export">
            <button type="button" on:click=move |_| download(&csv_name, "text/csv", &csv.run(()))>
                "Export CSV"
            </button>
            <button type="button" on:click=move |_| download(&json_name, "application/json", &json.run(()))>
                "Export JSON"
            </button>
        </div>
    }
}

/// Offers `text` as a download named `file_name`.
fn download(file_name: &str, mime: &str, text: &str) {
    let parts = js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(text));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let Ok(blob) = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options) else { return };
    let Ok(url) = web_sys::Url::create_object_url_with_blob(&blob) else { return };
    if let Ok(a) = document().create_element("a") {
        let a: web_sys::HtmlAnchorElement = a.unchecked_into();
        a.set_href(&url);
        a.set_download(file_name);
        a.click();
    }
    let _ = web_sys::Url::revoke_object_url(&url);
}
