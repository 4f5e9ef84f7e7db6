//! Naming conventions: struct names to table names, field names to constant names.

/// The table name for a struct name, exactly as Flask-SQLAlchemy's
/// `camel_to_snake_case` computes it, so a model ported from a Flask app keeps
/// its table:
///
/// ```python
/// def camel_to_snake_case(name):
///     name = re.sub(r"((?<=[a-z0-9])[A-Z]|(?!^)[A-Z](?=[a-z]))", r"_\1", name)
///     return name.lower().lstrip("_")
/// ```
///
/// An ASCII capital gets an underscore before it when it follows a lower-case
/// ASCII letter or digit, or when it is not the first character and is followed
/// by a lower-case ASCII letter (`HTTPResponse` -> `http_response`). The
/// character classes are ASCII-only, as in the Python pattern; lower-casing is
/// Unicode-aware, as Python's `str.lower` is.
pub(crate) fn camel_to_snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut spaced = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            let prev = chars[i - 1];
            let after_lower_or_digit = prev.is_ascii_lowercase() || prev.is_ascii_digit();
            let before_lower = chars.get(i + 1).is_some_and(char::is_ascii_lowercase);
            if after_lower_or_digit || before_lower {
                spaced.push('_');
            }
        }
        spaced.push(c);
    }
    // Lower-case the whole string, not char by char: a final sigma depends on its
    // neighbours (`Σ` at the end of a word becomes `ς`), as in Python.
    spaced.to_lowercase().trim_start_matches('_').to_owned()
}

/// The name of a field's column constant: the field name in upper case
/// (`username` -> `USERNAME`, `created_at` -> `CREATED_AT`).
pub(crate) fn constant_name(field: &str) -> String {
    field.to_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every expected value was produced by running Flask-SQLAlchemy's function
    /// (quoted on `camel_to_snake_case`) with python3.
    #[test]
    fn matches_flask_sqlalchemy() {
        let cases = [
            ("User", "user"),
            ("HTTPResponse", "http_response"),
            ("APIKey", "api_key"),
            ("CamelCase", "camel_case"),
            ("Camel2Camel", "camel2_camel"),
            ("ABC", "abc"),
            ("A1B2", "a1_b2"),
            ("OAuth2Token", "o_auth2_token"),
            ("User2FA", "user2_fa"),
            ("snake_case", "snake_case"),
            ("_Private", "private"),
            ("__Private", "private"),
            ("Private_", "private_"),
            ("UserID", "user_id"),
            ("userId", "user_id"),
            ("getHTTPResponseCode", "get_http_response_code"),
            ("A", "a"),
            ("a", "a"),
            ("IOError", "io_error"),
            ("HTMLParser", "html_parser"),
            ("Already_Snake", "already__snake"),
            ("Mixed_CASEName", "mixed_case_name"),
            ("Two__Under", "two___under"),
            ("X11Window", "x11_window"),
            ("V2", "v2"),
            ("Version2Beta", "version2_beta"),
            ("PDFs", "pd_fs"),
            ("ABc", "a_bc"),
            ("ab1C", "ab1_c"),
            ("_A", "a"),
            ("a_B", "a_b"),
            ("__", ""),
        ];
        for (name, expected) in cases {
            assert_eq!(camel_to_snake_case(name), expected, "for {name:?}");
        }
    }

    /// Non-ASCII letters never get an underscore (the Python classes are ASCII),
    /// but are lower-cased, final sigma included.
    #[test]
    fn non_ascii_like_python() {
        let cases = [
            ("Ünïcode", "ünïcode"),
            ("ÄÖÜ", "äöü"),
            ("ÉtéAB", "étéab"),
            ("aÉ", "aé"),
            ("UserΣ", "userς"),
            ("MyΣΑΣ", "myσας"),
        ];
        for (name, expected) in cases {
            assert_eq!(camel_to_snake_case(name), expected, "for {name:?}");
        }
    }

    #[test]
    fn constants_are_upper_case() {
        assert_eq!(constant_name("username"), "USERNAME");
        assert_eq!(constant_name("created_at"), "CREATED_AT");
        assert_eq!(constant_name("x2"), "X2");
    }
}
