//! Writes the API document (`GET /v1/openapi.json`) to the file named by the first argument, or
//! to standard output; the test command validates it with a standard OpenAPI validator.

fn main() -> std::io::Result<()> {
    let doc = edgedesk_functions::routes::document();
    match std::env::args_os().nth(1) {
        Some(path) => std::fs::write(path, doc),
        None => {
            use std::io::Write;
            std::io::stdout().write_all(doc.as_bytes())
        }
    }
}
