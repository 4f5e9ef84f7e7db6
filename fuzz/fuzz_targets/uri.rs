//! Fuzzes `DatabaseUri::parse` with any bytes, read as lossy UTF-8 (invalid
//! sequences become U+FFFD), so every input reaches the parser.
//!
//! Checks that parsing never panics; that a URI that parses, rendered with
//! its password and parsed again, has equal parts and renders the same; that
//! the redacted `Display` form parses and shows no password but `***`; and
//! that `sqlite_location` never panics and means the same before and after
//! the round trip.
//!
//! Secrets: the input's password and the values of its secret-named options
//! (names containing `password`, `passwd`, `pwd`, `secret` or `token`, in
//! any case, as the crate documents) are replaced by a marker that needs
//! percent-encoding; neither the marker nor its encoded forms may appear
//! in `Display`, in `Debug`, or in any error (parsing, `sqlite_location`,
//! `reject_unknown_options`). When both the input and its marked copy
//! parse, their `Display` and `Debug` must be identical: the text shown
//! does not depend on the secrets at all. And when the input fails to
//! parse, no secret of it (six bytes or more, raw or decoded) appears in
//! the error's message, unless the marked copy's error holds the same text
//! (the secret was made of the message's own words).

#![no_main]

use std::path::Path;

use aludel::Error;
use aludel::{DatabaseUri, MAX_URI_LEN};
use libfuzzer_sys::fuzz_target;

/// The marker, decoded: it holds characters every part must encode.
const MARKER: &str = "mk@r:/k?#&=%é Q7z";
/// The marker as written into a URI.
const MARKER_ENCODED: &str = "mk%40r%3A%2Fk%3F%23%26%3D%25%C3%A9%20Q7z";

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let parsed = DatabaseUri::parse(&text);
    secrets(&text, &parsed);
    let uri = match parsed {
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

/// Whether option `name` (as decoded) holds a secret, by the crate's
/// documented rule.
fn secret_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["password", "passwd", "pwd", "secret", "token"]
        .iter()
        .any(|word| name.contains(word))
}

/// Percent-decodes `text` (and `+` as a space, in options) where it can;
/// a bad escape stays as it is.
fn decode(text: &str, plus: bool) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' if plus => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The byte ranges of `text` that hold secrets: the password (between the
/// first `:` of the user information and its last `@`) and the values of
/// secret-named options. Found the simple way a reader would, which is all
/// the check needs: the parser's own reading is what is under test.
fn secret_spans(text: &str) -> Vec<std::ops::Range<usize>> {
    let mut spans = Vec::new();
    let Some(start) = text.find("://").map(|i| i + 3) else {
        return spans;
    };
    let rest = &text[start..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    if let Some(at) = authority.rfind('@')
        && let Some(colon) = authority[..at].find(':')
    {
        spans.push(start + colon + 1..start + at);
    }
    if let Some(question) = rest.find('?') {
        let query_start = start + question + 1;
        let query_end = text[query_start..]
            .find('#')
            .map_or(text.len(), |i| query_start + i);
        let mut offset = query_start;
        for pair in text[query_start..query_end].split('&') {
            if let Some(eq) = pair.find('=')
                && secret_name(&decode(&pair[..eq], true))
            {
                spans.push(offset + eq + 1..offset + pair.len());
            }
            offset += pair.len() + 1;
        }
    }
    spans
}

/// Every text a user could see from a parse of `text`: the error, or the
/// URI's `Display` and `Debug` and the errors its methods give.
fn visible(parsed: &aludel::Result<DatabaseUri>) -> Vec<String> {
    match parsed {
        Err(e) => vec![e.to_string(), format!("{e:?}")],
        Ok(uri) => {
            let mut shown = vec![uri.to_string(), format!("{uri:?}")];
            for instance in [Some(Path::new("/instance")), None] {
                if let Err(e) = uri.sqlite_location(instance) {
                    shown.push(format!("{e} {e:?}"));
                }
            }
            if let Err(e) = uri.reject_unknown_options("fuzz", &[]) {
                shown.push(format!("{e} {e:?}"));
            }
            shown
        }
    }
}

/// The secrets checks (see the module's notes).
fn secrets(text: &str, parsed: &aludel::Result<DatabaseUri>) {
    let spans = secret_spans(text);
    if spans.is_empty() || text.contains("Q7z") {
        return;
    }

    // The same input with every secret replaced by the marker.
    let mut marked = String::with_capacity(text.len() + 64);
    let mut last = 0;
    for span in &spans {
        marked.push_str(&text[last..span.start]);
        marked.push_str(MARKER_ENCODED);
        last = span.end;
    }
    marked.push_str(&text[last..]);
    let marked_parsed = DatabaseUri::parse(&marked);
    let forms = [
        MARKER.to_owned(),
        MARKER_ENCODED.to_owned(),
        MARKER_ENCODED.to_ascii_lowercase(),
        MARKER.replace(' ', "+"),
        "Q7z".to_owned(),
    ];
    for shown in visible(&marked_parsed) {
        for form in &forms {
            assert!(
                !shown.contains(form.as_str()),
                "a secret shows as {form:?} in {shown:?}\n(from {marked:?})"
            );
        }
    }

    match (parsed, &marked_parsed) {
        (Ok(uri), Ok(marked_uri)) => {
            // Everything but the secrets is the same in both...
            let same_parts = uri.scheme() == marked_uri.scheme()
                && uri.driver() == marked_uri.driver()
                && uri.username() == marked_uri.username()
                && uri.host() == marked_uri.host()
                && uri.port() == marked_uri.port()
                && uri.database() == marked_uri.database()
                && uri.password().is_some() == marked_uri.password().is_some()
                && uri.options().count() == marked_uri.options().count()
                && uri
                    .options()
                    .zip(marked_uri.options())
                    .all(|((n1, v1), (n2, v2))| n1 == n2 && (secret_name(n1) || v1 == v2));
            // ...so what is shown must be the same too.
            if same_parts {
                assert_eq!(
                    uri.to_string(),
                    marked_uri.to_string(),
                    "Display shows a secret"
                );
                assert_eq!(
                    format!("{uri:?}"),
                    format!("{marked_uri:?}"),
                    "Debug shows a secret"
                );
            }
        }
        (Err(e), marked_result) => {
            let Error::Uri { message, .. } = e else {
                return;
            };
            // The fuzzer is good at making a secret out of the message's
            // own words: text the marked copy's error holds too came from
            // the message, not from the secret.
            let marked_message = match marked_result {
                Err(Error::Uri { message, .. }) => message.as_str(),
                _ => "",
            };
            for span in &spans {
                let raw = &text[span.clone()];
                for secret in [raw.to_owned(), decode(raw, true), decode(raw, false)] {
                    if secret.len() >= 6 && !marked_message.contains(secret.as_str()) {
                        assert!(
                            !message.contains(secret.as_str()),
                            "the error {e:?} repeats the secret {secret:?}"
                        );
                    }
                }
            }
        }
        (Ok(_), Err(_)) => {}
    }
}
