//! Compile-time behaviour of `#[derive(Model)]`, with trybuild.
//!
//! `ui/pass/*.rs` must compile (and their `main` run); `ui/fail/*.rs` must fail
//! with exactly the errors in their `.stderr`: the message and the span the user
//! sees. When a new toolchain changes rustc's wording, regenerate them on purpose
//! with `TRYBUILD=overwrite cargo test --all-features --test derive_ui` and read
//! every diff.
//!
//! rustc lists the types that do implement a missing trait, and the column
//! type features add to that list, so the expected errors are those of a
//! build with all of them; other builds check only the passing cases.

const TYPE_FEATURES: bool = cfg!(all(
    feature = "chrono",
    feature = "uuid",
    feature = "json",
    feature = "decimal"
));

#[test]
fn derive_ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    if TYPE_FEATURES {
        t.compile_fail("tests/ui/fail/*.rs");
    } else {
        println!(
            "derive_ui: compile-fail cases skipped; their expected errors list the column types \
             of a build with the chrono, uuid, json and decimal features (run with --all-features)"
        );
    }
}
