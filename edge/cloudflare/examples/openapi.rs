//! Writes the OpenAPI document generated from the functions' annotations to the file named by
//! the first argument. The Worker's build embeds that file (see `functions/build.rs`) so the
//! Worker serves the same document without carrying the generator; the Worker's suite checks the
//! served document against `edgedesk_functions::openapi::document()`.

fn main() -> std::io::Result<()> {
    let Some(path) = std::env::args_os().nth(1) else {
        eprintln!("usage: openapi <output file>");
        std::process::exit(2);
    };
    std::fs::write(path, edgedesk_functions::openapi::document())
}
