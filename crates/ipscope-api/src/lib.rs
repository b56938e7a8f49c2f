//! ipscope's contract: the Defender-compatible wire types and the pure logic both the app and the server need.
//!
//! This crate depends on neither leptos nor axum, so it compiles natively and is unit-tested on its own.

// The derives in `json` name this crate by its path, from inside it too.
extern crate self as ipscope_api;

pub mod chart;
pub mod export;
pub mod filter;
pub mod ip;
pub mod json;
pub mod number;
pub mod period;
pub mod query;
pub mod sign_in;
pub mod time;
pub mod wire;
