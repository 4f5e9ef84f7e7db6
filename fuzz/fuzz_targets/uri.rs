//! Fuzzes `DatabaseUri::parse` with any bytes, read as lossy UTF-8 (invalid
//! sequences become U+FFFD), so every input reaches the parser.
//!
//! Checks that parsing never panics; that a URI that parses, rendered with
//! its password and parsed again, has equal parts and renders the same; that
//! the redacted `Display` form parses and shows no password but `***`; and
//! that `sqlite_location` never panics and means the same before and after
//! the round trip.

#![no_main]

use std::path::Path;

use aludel::Error;
use aludel::{DatabaseUri, MAX_URI_LEN};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let uri = match DatabaseUri::parse(&text) {
        Ok(uri) => uri,
        Err(Error::Uri { part, message }) => {
            assert!(!part.is_empty() && !message.is_empty());
            return;
        }
        Err(other) => panic!("parse failed with a non-URI error: {other:?}"),
    };

    let rendered = uri.to_url_string_with_password();
    // Percent-encoding can make the rendering longer than the input; past
    // the length limit a reparse is refused, by design.
    if rendered.len() <= MAX_URI_LEN {
        let again = match DatabaseUri::parse(&rendered) {
            Ok(again) => again,
            Err(e) => panic!("the rendered URI does not parse: {e}"),
        };
        assert_eq!(again, uri, "round trip changed the parts");
        assert_eq!(
            again.to_url_string_with_password(),
            rendered,
            "rendering is not stable"
        );
        for instance in [Some(Path::new("/instance")), None] {
            let before = uri.sqlite_location(instance);
            let after = again.sqlite_location(instance);
            assert_eq!(
                format!("{before:?}"),
                format!("{after:?}"),
                "round trip changed the SQLite location"
            );
        }
    } else {
        let _ = uri.sqlite_location(Some(Path::new("/instance")));
    }

    let shown = uri.to_string();
    let _ = format!("{uri:?}");
    if shown.len() <= MAX_URI_LEN {
        match DatabaseUri::parse(&shown) {
            Ok(redacted) => assert!(
                redacted.password().is_none_or(|p| p == "***"),
                "Display shows a password"
            ),
            Err(e) => panic!("the displayed URI does not parse: {e}"),
        }
    }
});
