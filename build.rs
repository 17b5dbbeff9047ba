//! Link options for the `sluice` binary only.
//!
//! `-z pack-relative-relocs` (DT_RELR) stores the position-independent binary's relative
//! relocations as a bitmap: 2 MB of `.rela.dyn` that the loader read at every start (and kept
//! resident) become 37 KB. The binary then needs glibc 2.36 or later where it runs (Debian 12,
//! Ubuntu 22.10, RHEL 10): GNU ld 2.38+ records that as a `GLIBC_ABI_DT_RELR` version need, so an
//! older loader refuses to start it with a clear message rather than misbehaving. GNU ld older
//! than 2.38 ignores the option with a warning. To build for an older system, set
//! `SLUICE_NO_PACKED_RELOCS=1`.
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=SLUICE_NO_PACKED_RELOCS");
    let linux = std::env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "linux");
    let gnu = std::env::var("CARGO_CFG_TARGET_ENV").is_ok_and(|env| env == "gnu");
    let opted_out = std::env::var("SLUICE_NO_PACKED_RELOCS").is_ok_and(|v| !v.is_empty() && v != "0");
    if linux && gnu && !opted_out {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}
