//! Compile-time behaviour of `#[derive(Model)]`, with trybuild.
//!
//! `ui/pass/*.rs` must compile (and their `main` run); `ui/fail/*.rs` must fail
//! with exactly the errors in their `.stderr`: the message and the span the user
//! sees. When a new toolchain changes rustc's wording, regenerate them on purpose
//! with `TRYBUILD=overwrite cargo test --test derive_ui` and read every diff.

#[test]
fn derive_ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}
