//! Lets a build serve an OpenAPI document generated beforehand instead of building it per
//! request: with `EDGEDESK_OPENAPI_JSON` naming a file (the Cloudflare Worker's build writes it
//! from `openapi::document()` on the host), `openapi::response()` serves that file's text and the
//! generator is left out of the binary. Without it the document is generated at run time.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(openapi_prebuilt)");
    println!("cargo::rerun-if-env-changed=EDGEDESK_OPENAPI_JSON");
    if let Some(path) = std::env::var_os("EDGEDESK_OPENAPI_JSON") {
        let path = std::path::PathBuf::from(path);
        println!("cargo::rerun-if-changed={}", path.display());
        println!("cargo::rustc-env=EDGEDESK_OPENAPI_FILE={}", path.display());
        println!("cargo::rustc-cfg=openapi_prebuilt");
    }
}
