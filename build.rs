//! Link options for the `sluice` binary only.
//!
//! `-z pack-relative-relocs` (DT_RELR) stores the position-independent binary's relative
//! relocations as a bitmap: 2 MB of `.rela.dyn` that the loader read at every start (and kept
//! resident) becomes a few KB. GNU ld only uses it when the C library it links against can load
//! it (glibc 2.36+, `GLIBC_ABI_DT_RELR`) and ignores it otherwise, with a warning.
fn main() {
    let linux = std::env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "linux");
    let gnu = std::env::var("CARGO_CFG_TARGET_ENV").is_ok_and(|env| env == "gnu");
    if linux && gnu {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
