//! EdgeDesk as a Spin HTTP component.
//!
//! This is a thin adapter: it converts Spin's request into the functions' request type and
//! implements the functions' ports on Spin's APIs (SQLite for storage, variables for
//! configuration, WASI for time and randomness). No business rule lives here.

mod platform;

use spin_sdk::http_component;

#[http_component]
async fn handle(req: http::Request<Vec<u8>>) -> http::Response<Vec<u8>> {
    edgedesk_functions::handle(&platform::SpinPlatform::default(), req).await
}
