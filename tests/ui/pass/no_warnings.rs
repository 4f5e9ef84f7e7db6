//! The generated code raises no warning in a strict crate: unused column constants
//! of a private model, `unsafe_code` forbidden (the registration must not trip it),
//! and Rust 2018 idioms.
#![forbid(unsafe_code)]
#![deny(
    warnings,
    rust_2018_idioms,
    unreachable_pub,
    missing_debug_implementations
)]

use aludel::Model;

#[derive(Model, Debug)]
struct Private {
    id: i64,
    unused_field_constant: Option<Vec<u8>>,
}

mod inner {
    #[derive(aludel::Model, Debug)]
    pub(crate) struct Restricted {
        pub(crate) id: i64,
        pub(crate) name: String,
    }
}

fn main() {
    let p = Private {
        id: 1,
        unused_field_constant: None,
    };
    let r = inner::Restricted {
        id: 1,
        name: String::new(),
    };
    assert_eq!(p.key(), Some(p.id));
    assert_eq!(r.key(), Some(r.id));
    assert!(r.name.is_empty() && p.unused_field_constant.is_none());
    assert_eq!(inner::Restricted::NAME.name(), "name");
}
