//! Entry point of the wasm app: mount only.

fn main() {
    console_error_panic_hook::set_once();
    ipscope::start();
}
