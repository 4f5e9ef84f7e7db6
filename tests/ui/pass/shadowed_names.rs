//! The generated code uses absolute paths only: names the user shadows
//! (`Option`, `Result`, `Vec`, `Some`, `Error`, a local `aludel`-free scope)
//! do not break it.
#![allow(dead_code, unused_macros)]

mod models {
    struct Option;
    struct Some;
    struct None;
    struct Ok;
    struct Err;
    struct Vec;
    struct String;
    type Result = ();
    struct Error;
    struct Clone;
    struct Iterator;
    struct IntoIterator;
    struct ToOwned;
    macro_rules! vec {
        () => {};
    }
    macro_rules! format {
        () => {};
    }

    #[derive(aludel::Model)]
    pub(crate) struct Shadowed {
        pub(crate) id: i64,
        pub(crate) name: std::string::String,
        pub(crate) note: std::option::Option<std::string::String>,
    }
}

use aludel::Model;

fn main() {
    let s = models::Shadowed {
        id: 0,
        name: "x".into(),
        note: None,
    };
    assert_eq!(s.key(), None);
    let back = models::Shadowed::from_values(s.to_values()).unwrap();
    assert_eq!(back.name, "x");
    assert!(models::Shadowed::from_values(vec![]).is_err());
}
