//! Database URIs: what parses and into which parts, what fails and which part
//! the error names, that no password leaks into errors, `Display` or `Debug`,
//! the round trip through `to_url_string_with_password`, and where a SQLite
//! URI points (traversal attempts included), down to the file SQLite opens:
//! an empty instance folder is refused, and a name starting with `file:` or
//! holding `?mode=` / `?vfs=` is a plain file name, never an SQLite URI
//! filename.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use aludel::prelude::*;
use aludel::{DatabaseUri, SqliteLocation};

fn parse(input: &str) -> DatabaseUri {
    match DatabaseUri::parse(input) {
        Ok(uri) => uri,
        Err(e) => panic!("{input:?} should parse, got: {e}"),
    }
}

/// The percent-encodings of `secret` a careless message might contain.
fn forms_of(secret: &str) -> Vec<String> {
    let mut upper = String::new();
    let mut lower = String::new();
    for byte in secret.bytes() {
        if byte.is_ascii_alphanumeric() {
            upper.push(char::from(byte));
            lower.push(char::from(byte));
        } else {
            upper.push_str(&format!("%{byte:02X}"));
            lower.push_str(&format!("%{byte:02x}"));
        }
    }
    vec![secret.to_owned(), upper, lower]
}

fn assert_no_secret(text: &str, secret: &str, context: &str) {
    for form in forms_of(secret) {
        assert!(
            !text.contains(&form),
            "{context}: {text:?} contains the password (as {form:?})"
        );
    }
}

// ---------------------------------------------------------------- good URIs

#[derive(Clone, Copy)]
struct Good {
    input: &'static str,
    scheme: &'static str,
    driver: Option<&'static str>,
    username: Option<&'static str>,
    password: Option<&'static str>,
    host: Option<&'static str>,
    port: Option<u16>,
    database: Option<&'static str>,
    options: &'static [(&'static str, &'static str)],
}

const NOTHING: Good = Good {
    input: "",
    scheme: "",
    driver: None,
    username: None,
    password: None,
    host: None,
    port: None,
    database: None,
    options: &[],
};

const GOOD: &[Good] = &[
    Good {
        input: "sqlite://",
        scheme: "sqlite",
        ..NOTHING
    },
    Good {
        input: "sqlite:///",
        scheme: "sqlite",
        database: Some(""),
        ..NOTHING
    },
    Good {
        input: "sqlite:///:memory:",
        scheme: "sqlite",
        database: Some(":memory:"),
        ..NOTHING
    },
    Good {
        input: "sqlite:///rel.db",
        scheme: "sqlite",
        database: Some("rel.db"),
        ..NOTHING
    },
    Good {
        input: "sqlite:///data/rel.db",
        scheme: "sqlite",
        database: Some("data/rel.db"),
        ..NOTHING
    },
    Good {
        input: "sqlite:////abs/path.db",
        scheme: "sqlite",
        database: Some("/abs/path.db"),
        ..NOTHING
    },
    Good {
        input: "sqlite:///app.db?mode=ro",
        scheme: "sqlite",
        database: Some("app.db"),
        options: &[("mode", "ro")],
        ..NOTHING
    },
    Good {
        input: "sqlite://localhost/app.db",
        scheme: "sqlite",
        host: Some("localhost"),
        database: Some("app.db"),
        ..NOTHING
    },
    Good {
        input: "SQLite:///App.db",
        scheme: "sqlite",
        database: Some("App.db"),
        ..NOTHING
    },
    Good {
        input: "  sqlite:///app.db\n",
        scheme: "sqlite",
        database: Some("app.db"),
        ..NOTHING
    },
    Good {
        input: "postgresql://ada:hunter2@db.example.com:5432/app",
        scheme: "postgresql",
        username: Some("ada"),
        password: Some("hunter2"),
        host: Some("db.example.com"),
        port: Some(5432),
        database: Some("app"),
        ..NOTHING
    },
    Good {
        input: "postgresql+tokio://ada@localhost/app",
        scheme: "postgresql",
        driver: Some("tokio"),
        username: Some("ada"),
        host: Some("localhost"),
        database: Some("app"),
        ..NOTHING
    },
    Good {
        input: "PostgreSQL+Tokio://DB.example/App",
        scheme: "postgresql",
        driver: Some("tokio"),
        host: Some("DB.example"),
        database: Some("App"),
        ..NOTHING
    },
    Good {
        input: "mysql+mysql_async://root:@127.0.0.1:3306/test",
        scheme: "mysql",
        driver: Some("mysql_async"),
        username: Some("root"),
        password: Some(""),
        host: Some("127.0.0.1"),
        port: Some(3306),
        database: Some("test"),
        ..NOTHING
    },
    Good {
        input: "mysql://root@127.0.0.1/test",
        scheme: "mysql",
        username: Some("root"),
        host: Some("127.0.0.1"),
        database: Some("test"),
        ..NOTHING
    },
    Good {
        input: "postgresql://us%40er:p%40ss%3Aw%25rd@h/db",
        scheme: "postgresql",
        username: Some("us@er"),
        password: Some("p@ss:w%rd"),
        host: Some("h"),
        database: Some("db"),
        ..NOTHING
    },
    Good {
        input: "postgresql://user:pa:ss@h/db",
        scheme: "postgresql",
        username: Some("user"),
        password: Some("pa:ss"),
        host: Some("h"),
        database: Some("db"),
        ..NOTHING
    },
    // The userinfo ends at the last `@`, as in browsers.
    Good {
        input: "postgresql://user:p@ss@h/db",
        scheme: "postgresql",
        username: Some("user"),
        password: Some("p@ss"),
        host: Some("h"),
        database: Some("db"),
        ..NOTHING
    },
    Good {
        input: "postgresql://:pw@h/db",
        scheme: "postgresql",
        password: Some("pw"),
        host: Some("h"),
        database: Some("db"),
        ..NOTHING
    },
    Good {
        input: "postgresql://u:%F0%9F%94%91@h/db",
        scheme: "postgresql",
        username: Some("u"),
        password: Some("\u{1F511}"),
        host: Some("h"),
        database: Some("db"),
        ..NOTHING
    },
    Good {
        input: "postgresql://u:p\u{e4} ss@h/db",
        scheme: "postgresql",
        username: Some("u"),
        password: Some("p\u{e4} ss"),
        host: Some("h"),
        database: Some("db"),
        ..NOTHING
    },
    Good {
        input: "postgresql://u:pw@[::1]:5432/db",
        scheme: "postgresql",
        username: Some("u"),
        password: Some("pw"),
        host: Some("::1"),
        port: Some(5432),
        database: Some("db"),
        ..NOTHING
    },
    Good {
        input: "postgresql://[2001:DB8:0:0::1]/db",
        scheme: "postgresql",
        host: Some("2001:db8::1"),
        database: Some("db"),
        ..NOTHING
    },
    Good {
        input: "postgresql://%2Fvar%2Frun%2Fpostgresql/db",
        scheme: "postgresql",
        host: Some("/var/run/postgresql"),
        database: Some("db"),
        ..NOTHING
    },
    Good {
        input: "postgresql://ada@/app",
        scheme: "postgresql",
        username: Some("ada"),
        database: Some("app"),
        ..NOTHING
    },
    Good {
        input: "postgresql://h:5432",
        scheme: "postgresql",
        host: Some("h"),
        port: Some(5432),
        ..NOTHING
    },
    Good {
        input: "postgresql://h:/db",
        scheme: "postgresql",
        host: Some("h"),
        database: Some("db"),
        ..NOTHING
    },
    Good {
        input: "postgresql://h:65535/",
        scheme: "postgresql",
        host: Some("h"),
        port: Some(65535),
        database: Some(""),
        ..NOTHING
    },
    Good {
        input: "postgresql://h:00080/db",
        scheme: "postgresql",
        host: Some("h"),
        port: Some(80),
        database: Some("db"),
        ..NOTHING
    },
    Good {
        input: "postgresql://h/my%20db?application_name=my+app&sslmode=require",
        scheme: "postgresql",
        host: Some("h"),
        database: Some("my db"),
        options: &[("application_name", "my app"), ("sslmode", "require")],
        ..NOTHING
    },
    Good {
        input: "postgresql://h/db?flag&x=a%3Db%26c%2B&&y=",
        scheme: "postgresql",
        host: Some("h"),
        database: Some("db"),
        options: &[("flag", ""), ("x", "a=b&c+"), ("y", "")],
        ..NOTHING
    },
    Good {
        input: "postgresql://h/db?",
        scheme: "postgresql",
        host: Some("h"),
        database: Some("db"),
        ..NOTHING
    },
    Good {
        input: "x-custom.v2+drv-1.0://h/db",
        scheme: "x-custom.v2",
        driver: Some("drv-1.0"),
        host: Some("h"),
        database: Some("db"),
        ..NOTHING
    },
];

#[test]
fn good_uris_parse_into_their_parts() {
    for case in GOOD {
        let uri = parse(case.input);
        let input = case.input;
        assert_eq!(uri.scheme(), case.scheme, "scheme of {input:?}");
        assert_eq!(uri.driver(), case.driver, "driver of {input:?}");
        assert_eq!(uri.username(), case.username, "username of {input:?}");
        assert_eq!(uri.password(), case.password, "password of {input:?}");
        assert_eq!(uri.host(), case.host, "host of {input:?}");
        assert_eq!(uri.port(), case.port, "port of {input:?}");
        assert_eq!(uri.database(), case.database, "database of {input:?}");
        assert_eq!(
            uri.options().collect::<Vec<_>>(),
            case.options,
            "options of {input:?}"
        );
        for (name, value) in case.options {
            assert_eq!(
                uri.option(name),
                Some(*value),
                "option {name:?} of {input:?}"
            );
        }
    }
}

#[test]
fn from_str_is_parse() {
    for case in GOOD {
        let parsed: Result<DatabaseUri, Error> = case.input.parse();
        assert!(
            matches!(parsed, Ok(uri) if uri == parse(case.input)),
            "{:?}",
            case.input
        );
    }
}

#[test]
fn lossy_utf8_input_parses() {
    let text = String::from_utf8_lossy(b"postgresql://u:p\xffw@h/d\xfeb");
    let uri = parse(&text);
    assert_eq!(uri.password(), Some("p\u{fffd}w"));
    assert_eq!(uri.database(), Some("d\u{fffd}b"));
    assert_eq!(parse(&uri.to_url_string_with_password()), uri);
}

// ----------------------------------------------------------------- round trip

#[test]
fn to_url_string_with_password_round_trips() {
    for case in GOOD {
        let uri = parse(case.input);
        let rendered = uri.to_url_string_with_password();
        let again = parse(&rendered);
        assert_eq!(again, uri, "{:?} rendered as {rendered:?}", case.input);
        assert_eq!(
            again.to_url_string_with_password(),
            rendered,
            "{:?}",
            case.input
        );
    }
}

#[test]
fn to_url_string_with_password_encodes_what_must_be() {
    let uri =
        parse("postgresql+tokio://us%40er:p%40ss%3Aw%25rd%2F%3F%23@h:5/my%20db?a=b%26c&d=e+f");
    assert_eq!(
        uri.to_url_string_with_password(),
        "postgresql+tokio://us%40er:p%40ss%3Aw%25rd%2F%3F%23@h:5/my%20db?a=b%26c&d=e%20f"
    );
    assert_eq!(
        parse("mysql://root:@h/test").to_url_string_with_password(),
        "mysql://root:@h/test"
    );
    assert_eq!(
        parse("postgresql://[::1]:5432/db").to_url_string_with_password(),
        "postgresql://[::1]:5432/db"
    );
}

#[test]
fn equality_compares_every_part() {
    assert_eq!(
        parse("postgresql://a:b@h/db"),
        parse("POSTGRESQL://a:b@h/db")
    );
    assert_eq!(
        parse("postgresql://a:b@h/db"),
        parse("postgresql://a:%62@h/db")
    );
    assert_ne!(
        parse("postgresql://a:b@h/db"),
        parse("postgresql://a:c@h/db")
    );
    assert_ne!(parse("postgresql://a:@h/db"), parse("postgresql://a@h/db"));
    assert_ne!(parse("postgresql://h/db?x=1"), parse("postgresql://h/db"));
    assert_ne!(parse("sqlite://"), parse("sqlite:///"));
    // Same decoded path, but only the first was written as an absolute path.
    assert_ne!(
        parse("sqlite:////etc/passwd"),
        parse("sqlite:///%2Fetc%2Fpasswd")
    );
}

// ------------------------------------------------------------------ bad URIs

/// The password used in the bad URIs below, where there is one.
const SECRET: &str = "hunter2";

const BAD: &[(&str, &str)] = &[
    ("", "scheme"),
    ("   ", "scheme"),
    ("app.db", "scheme"),
    ("://h/db", "scheme"),
    (":memory:", "scheme"),
    ("+tokio://h/db", "scheme"),
    ("1sqlite:///a.db", "scheme"),
    ("post gres://h/db", "scheme"),
    ("post_gres://h/db", "scheme"),
    ("hunter2@h:5432/db", "scheme"),
    ("u:hunter2@h:5432/db", "scheme"),
    ("sqlite:app.db", "scheme"),
    ("sqlite:/app.db", "scheme"),
    ("sqlite+:", "driver"),
    ("sqlite+://", "driver"),
    ("sqlite+:///app.db", "driver"),
    ("postgresql+a+b://h/db", "driver"),
    ("postgresql+to/kio://h/db", "driver"),
    ("postgresql://u:hunter2@h:99999/db", "port"),
    ("postgresql://u:hunter2@h:65536/db", "port"),
    (
        "postgresql://u:hunter2@h:123456789012345678901234567890/db",
        "port",
    ),
    ("postgresql://u:hunter2@h:0/db", "port"),
    ("postgresql://u:hunter2@h:5a/db", "port"),
    ("postgresql://u:hunter2@h:-1/db", "port"),
    ("postgresql://u:hunter2@h:+1/db", "port"),
    ("postgresql://u:hunter2@h:1:2/db", "port"),
    // A password with an unencoded `/` puts the rest of it in the port.
    ("postgresql://u:hunter2/x@h/db", "port"),
    ("postgresql://u@h:hunter2/db", "port"),
    ("postgresql://u:hunter2@:5432/db", "host"),
    ("postgresql://u:hunter2@[::1/db", "host"),
    ("postgresql://u:hunter2@[::g]/db", "host"),
    ("postgresql://u:hunter2@[fe80::1%25eth0]/db", "host"),
    ("postgresql://u:hunter2@ho st/db", "host"),
    ("postgresql://u:hunter2@h<st/db", "host"),
    ("postgresql://u:hunter2@h%zz/db", "host"),
    ("postgresql://u:hunter2@h%00/db", "host"),
    ("postgresql://u:hunter2@h%C3%28/db", "host"),
    ("postgresql://u:hunter2@h\n/db", "host"),
    ("postgresql://u:hunter2@h\u{7f}/db", "host"),
    ("postgresql://u:hunter2#@h/db", "fragment"),
    ("postgresql://u:hunter2@h/db#frag", "fragment"),
    ("postgresql://u:hunter2%@h/db", "password"),
    ("postgresql://u:hunter2%2@h/db", "password"),
    ("postgresql://u:hunter2%zz@h/db", "password"),
    ("postgresql://u:hunter2%ff@h/db", "password"),
    ("postgresql://u:hunter2%00@h/db", "password"),
    ("postgresql://u:hunter2\u{0}@h/db", "password"),
    ("postgresql://u:hunter2\t@h/db", "password"),
    ("postgresql://u:hunter2\u{85}@h/db", "password"),
    ("postgresql://u%zz:hunter2@h/db", "username"),
    ("postgresql://u%00:hunter2@h/db", "username"),
    ("postgresql://u:hunter2@h/d%zzb", "path"),
    ("postgresql://u:hunter2@h/db%00", "path"),
    ("postgresql://u:hunter2@h/db\u{0}", "path"),
    ("sqlite:///x.db%00", "path"),
    ("postgresql://u:hunter2@h/db?a=1&a=2", "option \"a\""),
    ("postgresql://u:hunter2@h/db?a=1&%61=2", "option \"a\""),
    ("postgresql://u:hunter2@h/db?a=%zz", "option \"a\""),
    ("postgresql://u:hunter2@h/db?a=%00", "option \"a\""),
    ("postgresql://u:hunter2@h/db?a=\u{1}", "option \"a\""),
    ("postgresql://u:hunter2@h/db?=1", "options"),
    ("postgresql://u:hunter2@h/db?%zz=1", "options"),
    ("postgresql://u:hunter2@h/db?a&=", "options"),
];

#[test]
fn bad_uris_name_the_part_and_hide_the_password() {
    for (input, expected_part) in BAD {
        match DatabaseUri::parse(input) {
            Err(error @ Error::Uri { .. }) => {
                let Error::Uri { part, message } = &error else {
                    unreachable!()
                };
                assert_eq!(part, expected_part, "part for {input:?} ({message})");
                assert!(!message.is_empty(), "{input:?}");
                for text in [message.clone(), error.to_string(), format!("{error:?}")] {
                    assert_no_secret(&text, SECRET, input);
                    assert_no_secret(&text, "hunter2/x", input);
                }
            }
            Err(other) => panic!("{input:?}: expected Error::Uri, got {other:?}"),
            Ok(uri) => panic!("{input:?} should fail, parsed as {uri:?}"),
        }
    }
}

#[test]
fn bad_uris_with_encoded_passwords_hide_every_form() {
    // Passwords with characters that need encoding, in URIs that fail later.
    for secret in ["s@cret:!", "p%ss/w?rd", "\u{1F511}key"] {
        let mut encoded = String::new();
        for byte in secret.bytes() {
            if byte.is_ascii_alphanumeric() {
                encoded.push(char::from(byte));
            } else {
                encoded.push_str(&format!("%{byte:02X}"));
            }
        }
        for tail in [
            "h:bad/db",
            "h/db?a=1&a=2",
            "h/db#x",
            ":1/db",
            "h/%zz",
            "[::1/db",
        ] {
            let input = format!("postgresql://u:{encoded}@{tail}");
            match DatabaseUri::parse(&input) {
                Err(error) => {
                    for text in [error.to_string(), format!("{error:?}")] {
                        assert_no_secret(&text, secret, &input);
                        assert_no_secret(&text, &encoded, &input);
                    }
                }
                Ok(uri) => panic!("{input:?} should fail, parsed as {uri:?}"),
            }
        }
    }
}

#[test]
fn very_long_input_is_refused_before_parsing() {
    let long = format!("sqlite:///{}", "a".repeat(70_000));
    match DatabaseUri::parse(&long) {
        Err(Error::Uri { part, message }) => {
            assert_eq!(part, "uri");
            assert!(message.len() < 200, "the message must not echo the input");
        }
        other => panic!("expected Error::Uri, got {other:?}"),
    }
    let max = format!("sqlite:///{}", "a".repeat(aludel::MAX_URI_LEN - 10));
    assert_eq!(max.len(), aludel::MAX_URI_LEN);
    assert!(DatabaseUri::parse(&max).is_ok());
}

#[test]
fn pathological_inputs_do_not_panic() {
    let inputs = [
        "\0".repeat(100),
        ":".repeat(1000),
        "/".repeat(1000),
        "%".repeat(1000),
        "@".repeat(1000),
        "[".repeat(1000),
        format!("a://{}", "@".repeat(1000)),
        format!("a://h/?{}", "&".repeat(10_000)),
        format!("a://h/?{}", "a=1&".repeat(10_000)),
        format!("a://h:{}", "9".repeat(10_000)),
        format!("a://{}", "%zz".repeat(1000)),
        "a://[:::::::::::::::::::]".to_owned(),
        "a://[".to_owned(),
        "a://]".to_owned(),
        "a://%".to_owned(),
        "a://h:%35".to_owned(),
        "\u{feff}sqlite:///a.db".to_owned(),
        "sqlite:///\u{202e}bd.a".to_owned(),
    ];
    for input in &inputs {
        if let Ok(uri) = DatabaseUri::parse(input) {
            let _ = uri.sqlite_location(Some(Path::new("/srv")));
            assert_eq!(parse(&uri.to_url_string_with_password()), uri);
        }
    }
}

// ------------------------------------------------------------------ redaction

#[test]
fn display_and_debug_hide_the_password() {
    let cases = [
        (
            "postgresql://ada:hunter2@h/db",
            "postgresql://ada:***@h/db",
            "hunter2",
        ),
        (
            "postgresql://ada:s%40cret@h/db",
            "postgresql://ada:***@h/db",
            "s@cret",
        ),
        (
            "postgresql://:hunter2@h/db",
            "postgresql://:***@h/db",
            "hunter2",
        ),
        ("mysql://root:@h/test", "mysql://root:***@h/test", ""),
        ("mysql://root@h/test", "mysql://root@h/test", ""),
        (
            "postgresql+tokio://ada:hunter2@[::1]:5432/db?sslmode=require&password=hunter2",
            "postgresql+tokio://ada:***@[::1]:5432/db?sslmode=require&password=***",
            "hunter2",
        ),
        (
            "postgresql://h/db?sslpassword=s%40cret",
            "postgresql://h/db?sslpassword=***",
            "s@cret",
        ),
    ];
    for (input, shown, secret) in cases {
        let uri = parse(input);
        assert_eq!(uri.to_string(), shown, "Display of {input:?}");
        let debug = format!("{uri:?}");
        let pretty = format!("{uri:#?}");
        if !secret.is_empty() {
            for text in [uri.to_string(), debug.clone(), pretty] {
                assert_no_secret(&text, secret, input);
            }
        }
        let shown_in_debug = if uri.password().is_some() {
            "password: Some(***)"
        } else {
            "password: None"
        };
        assert!(
            debug.contains(shown_in_debug),
            "Debug of {input:?}: {debug}"
        );
    }
}

#[test]
fn debug_shows_the_other_parts() {
    let debug = format!(
        "{:?}",
        parse("postgresql+tokio://ada:hunter2@h:5/db?sslmode=require")
    );
    for part in [
        "postgresql",
        "tokio",
        "ada",
        "\"h\"",
        "5",
        "db",
        "sslmode",
        "require",
        "***",
    ] {
        assert!(debug.contains(part), "{part} missing from {debug}");
    }
}

// -------------------------------------------------------------------- options

#[test]
fn take_option_removes_it() {
    let mut uri = parse("sqlite:///a.db?mode=ro&busy_timeout=5s&cache=shared");
    assert_eq!(uri.take_option("busy_timeout").as_deref(), Some("5s"));
    assert_eq!(uri.take_option("busy_timeout"), None);
    assert_eq!(uri.option("busy_timeout"), None);
    assert_eq!(
        uri.options().collect::<Vec<_>>(),
        [("mode", "ro"), ("cache", "shared")]
    );
    assert_eq!(uri.to_string(), "sqlite:///a.db?mode=ro&cache=shared");
}

#[test]
fn unknown_options_are_named_with_the_known_ones() {
    let uri = parse("sqlite:///a.db?mode=ro&vfs=unix-none&immutable=1");
    assert!(
        uri.reject_unknown_options("sqlite", &["mode", "vfs", "immutable"])
            .is_ok()
    );
    match uri.reject_unknown_options("sqlite", &["mode", "busy_timeout"]) {
        Err(Error::Uri { part, message }) => {
            assert_eq!(part, "option \"vfs\"");
            assert!(message.contains("sqlite"), "{message}");
            assert!(
                message.contains("mode") && message.contains("busy_timeout"),
                "{message}"
            );
            assert!(!message.contains("unix-none"), "{message}");
        }
        other => panic!("expected Error::Uri, got {other:?}"),
    }
    match parse("x://h/db?a=1").reject_unknown_options("x", &[]) {
        Err(Error::Uri { part, .. }) => assert_eq!(part, "option \"a\""),
        other => panic!("expected Error::Uri, got {other:?}"),
    }
    match parse("x://h/db?we%22ird=1").reject_unknown_options("x", &[]) {
        Err(Error::Uri { part, .. }) => assert_eq!(part, "option \"we\\\"ird\""),
        other => panic!("expected Error::Uri, got {other:?}"),
    }
    assert!(parse("x://h/db").reject_unknown_options("x", &[]).is_ok());
}

#[test]
fn unknown_option_errors_hide_the_password() {
    let uri = parse("postgresql://u:hunter2@h/db?password=hunter2&bogus=hunter2");
    match uri.reject_unknown_options("postgres", &["sslmode"]) {
        Err(error) => {
            assert_no_secret(&error.to_string(), SECRET, "unknown option");
            assert_no_secret(&format!("{error:?}"), SECRET, "unknown option");
        }
        Ok(()) => panic!("`password` and `bogus` are unknown"),
    }
}

#[test]
fn pool_options_stay_in_the_uri_for_the_pool_to_take() {
    let uri = parse(
        "sqlite:///a.db?pool_max_size=4&pool_timeout=500ms&pool_create_timeout=2.5&pool_recycle_timeout=2m",
    );
    assert_eq!(uri.option("pool_max_size"), Some("4"));
    assert_eq!(uri.option("pool_timeout"), Some("500ms"));
    assert_eq!(uri.option("pool_create_timeout"), Some("2.5"));
    assert_eq!(uri.option("pool_recycle_timeout"), Some("2m"));
}

// ------------------------------------------------------------ SQLite locations

enum Expected {
    Memory,
    File(&'static str),
    Error(&'static str),
}

const INSTANCE: &str = "/srv/instance";

const SQLITE: &[(&str, Expected)] = &[
    ("sqlite://", Expected::Memory),
    ("sqlite:///", Expected::Memory),
    ("sqlite:///:memory:", Expected::Memory),
    ("sqlite://localhost/:memory:", Expected::Memory),
    ("sqlite://LOCALHOST", Expected::Memory),
    ("sqlite:///:memory:?cache=shared", Expected::Memory),
    ("sqlite:///app.db", Expected::File("/srv/instance/app.db")),
    (
        "sqlite:///app.db?mode=ro",
        Expected::File("/srv/instance/app.db"),
    ),
    (
        "sqlite://localhost/app.db",
        Expected::File("/srv/instance/app.db"),
    ),
    (
        "sqlite:///data/app.db",
        Expected::File("/srv/instance/data/app.db"),
    ),
    ("sqlite:///./app.db", Expected::File("/srv/instance/app.db")),
    (
        "sqlite:///a/../app.db",
        Expected::File("/srv/instance/app.db"),
    ),
    (
        "sqlite:///a//b/./c.db",
        Expected::File("/srv/instance/a/b/c.db"),
    ),
    (
        "sqlite:///my%20app.db",
        Expected::File("/srv/instance/my app.db"),
    ),
    ("sqlite:///..db", Expected::File("/srv/instance/..db")),
    ("sqlite:///...", Expected::File("/srv/instance/...")),
    ("sqlite:////abs/path.db", Expected::File("/abs/path.db")),
    (
        "sqlite:////abs/path.db?mode=ro",
        Expected::File("/abs/path.db"),
    ),
    (
        "sqlite://localhost//abs/path.db",
        Expected::File("/abs/path.db"),
    ),
    // Written with four slashes, an absolute path is the user's explicit choice.
    (
        "sqlite:////etc/../tmp/x.db",
        Expected::File("/etc/../tmp/x.db"),
    ),
    // Traversal out of the instance folder.
    ("sqlite:///../x.db", Expected::Error("path")),
    ("sqlite:///..", Expected::Error("path")),
    ("sqlite:///a/../../x.db", Expected::Error("path")),
    ("sqlite:///a/./../b/../../x.db", Expected::Error("path")),
    ("sqlite:///%2E%2E/x.db", Expected::Error("path")),
    ("sqlite:///%2e%2e%2fx.db", Expected::Error("path")),
    ("sqlite:///a%2F..%2F..%2Fx.db", Expected::Error("path")),
    ("sqlite:///..\\x.db", Expected::Error("path")),
    ("sqlite:///a\\..\\..\\x.db", Expected::Error("path")),
    ("sqlite:///..%5Cx.db", Expected::Error("path")),
    // A relative part that decodes to an absolute path.
    ("sqlite:///%2Fetc%2Fpasswd", Expected::Error("path")),
    ("sqlite:///%2fetc/passwd", Expected::Error("path")),
    ("sqlite:///%5Cetc%5Cpasswd", Expected::Error("path")),
    ("sqlite:///C:/x.db", Expected::Error("path")),
    ("sqlite:///c:x.db", Expected::Error("path")),
    // Folders, not files.
    ("sqlite:///.", Expected::Error("path")),
    ("sqlite:///dir/", Expected::Error("path")),
    ("sqlite:///a/..", Expected::Error("path")),
    ("sqlite:////", Expected::Error("path")),
    ("sqlite:////tmp/", Expected::Error("path")),
    // Hosts, ports and credentials a SQLite URI cannot have.
    ("sqlite://example.com/x.db", Expected::Error("host")),
    ("sqlite://127.0.0.1/x.db", Expected::Error("host")),
    ("sqlite://app.db", Expected::Error("host")),
    ("sqlite://localhost:5/x.db", Expected::Error("port")),
    ("sqlite://u:hunter2@/x.db", Expected::Error("password")),
    ("sqlite://u@/x.db", Expected::Error("username")),
];

#[test]
fn sqlite_locations() {
    for (input, expected) in SQLITE {
        let uri = parse(input);
        let got = uri.sqlite_location(Some(Path::new(INSTANCE)));
        match (expected, got) {
            (Expected::Memory, Ok(SqliteLocation::Memory)) => {}
            (Expected::File(path), Ok(SqliteLocation::File(got))) => {
                assert_eq!(got, PathBuf::from(path), "{input:?}");
            }
            (Expected::Error(part), Err(Error::Uri { part: got, message })) => {
                assert_eq!(&got, part, "part for {input:?} ({message})");
                assert_no_secret(&message, SECRET, input);
            }
            (_, got) => panic!("{input:?}: unexpected {got:?}"),
        }
        // The round trip keeps the meaning, not only the parts.
        let again = parse(&uri.to_url_string_with_password());
        let before = uri.sqlite_location(Some(Path::new(INSTANCE)));
        let after = again.sqlite_location(Some(Path::new(INSTANCE)));
        assert_eq!(format!("{before:?}"), format!("{after:?}"), "{input:?}");
    }
}

#[test]
fn relative_sqlite_paths_default_to_the_working_directory() {
    let cwd = match std::env::current_dir() {
        Ok(cwd) => cwd,
        Err(_) => return, // nothing to compare against
    };
    let got = parse("sqlite:///data/app.db").sqlite_location(None);
    assert!(
        matches!(&got, Ok(SqliteLocation::File(path)) if *path == cwd.join("data").join("app.db")),
        "{got:?}"
    );
    assert!(parse("sqlite:///../app.db").sqlite_location(None).is_err());
    assert!(matches!(
        parse("sqlite://").sqlite_location(None),
        Ok(SqliteLocation::Memory)
    ));
}

#[test]
fn a_relative_instance_folder_stays_relative() {
    let got = parse("sqlite:///app.db").sqlite_location(Some(Path::new("instance")));
    assert!(
        matches!(&got, Ok(SqliteLocation::File(path)) if path == Path::new("instance/app.db")),
        "{got:?}"
    );
}

// ------------------------------------------------------- the fuzz corpus

/// Every input of the `uri` fuzz target's committed corpus (the seeds and
/// whatever fuzzing kept, crash inputs included once minimized into it): each
/// must parse or fail cleanly, round-trip when it parses, and never panic in
/// `sqlite_location`. Checked in the ordinary test run, not only under
/// cargo-fuzz.
#[test]
fn fuzz_corpus_replays() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/uri");
    let mut checked = 0;
    for entry in std::fs::read_dir(&corpus).expect("the uri fuzz corpus") {
        let bytes = std::fs::read(entry.expect("a corpus entry").path()).expect("a corpus file");
        let input = String::from_utf8_lossy(&bytes);
        if let Ok(uri) = DatabaseUri::parse(&input) {
            let _ = uri.sqlite_location(Some(Path::new(INSTANCE)));
            let _ = uri.sqlite_location(None);
            assert_eq!(parse(&uri.to_url_string_with_password()), uri, "{input:?}");
        }
        checked += 1;
    }
    assert!(checked > 0, "the corpus in {} is empty", corpus.display());
}

// ------------------------------------------- SQLite files opened by the builder

#[derive(Model, Debug, Clone)]
#[aludel(table = "uri_note")]
struct Note {
    #[aludel(primary_key)]
    id: i64,
    body: String,
}

/// Builds a database on `uri` in `instance`, writes a row and closes it;
/// then opens it again and counts the rows. A `?mode=ro` that took effect
/// fails the write; a `?vfs=memdb` that took effect loses the row.
async fn write_then_count(uri: &str, instance: &Path) -> Result<u64, Error> {
    let db = Database::builder()
        .uri(uri)
        .instance_path(instance)
        .build()
        .await?;
    db.create_all().await?;
    let mut session = db.session();
    session.add(Note {
        id: 0,
        body: "kept".into(),
    });
    session.commit().await?;
    drop(session);
    db.close();
    drop(db);
    let again = Database::builder()
        .uri(uri)
        .instance_path(instance)
        .build()
        .await?;
    again.session().count(&select::<Note>()).await
}

/// The names in `dir`, sorted.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|read| {
            read.filter_map(|entry| entry.ok())
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn temp_dir() -> tempfile::TempDir {
    match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(e) => panic!("cannot create a temporary folder: {e}"),
    }
}

#[test]
fn an_empty_instance_path_is_refused_by_name() {
    for uri in ["sqlite:///file:../x.db", "sqlite:///app.db", "sqlite://"] {
        match parse(uri).sqlite_location(Some(Path::new(""))) {
            Err(Error::Config(message)) => assert!(message.contains("instance_path"), "{message}"),
            other => panic!("{uri:?}: expected a configuration error, got {other:?}"),
        }
    }
}

#[test]
fn a_relative_location_never_starts_with_file() {
    let got = parse("sqlite:///app.db").sqlite_location(Some(Path::new("file:inst")));
    assert!(
        matches!(&got, Ok(SqliteLocation::File(path)) if path == Path::new("./file:inst/app.db")),
        "{got:?}"
    );
}

#[tokio::test]
async fn uri_filename_syntax_in_the_name_opens_a_plain_file_in_the_instance_folder() {
    let root = temp_dir();
    let instance = root.path().join("instance");
    for (uri, file) in [
        ("sqlite:///file:../x.db", "file:../x.db"),
        ("sqlite:///file:x.db%3Fmode=ro", "file:x.db?mode=ro"),
        (
            "sqlite:///y.db%3Fvfs=memdb%26mode=ro",
            "y.db?vfs=memdb&mode=ro",
        ),
    ] {
        let count = write_then_count(uri, &instance).await;
        assert!(matches!(count, Ok(1)), "{uri:?}: {count:?}");
        assert!(
            instance.join(file).is_file(),
            "{uri:?}: {file:?} is missing"
        );
    }
    assert_eq!(entries(root.path()), ["instance"], "a file landed outside");
}

/// Set in the child process [`names_are_never_uri_filenames_relative_to_the_working_directory`]
/// starts: the folder it runs in.
const CHILD_DIR: &str = "ALUDEL_URI_TEST_CHILD_DIR";

/// Runs in a child process whose working directory is a fresh folder (the
/// parent test below), so relative instance folders can be tried without
/// touching the working directory of this process. Does nothing otherwise.
#[tokio::test]
async fn child_opens_names_relative_to_its_working_directory() {
    if std::env::var_os(CHILD_DIR).is_none() {
        return;
    }
    // With an empty instance folder, SQLite would read this as a URI filename
    // and create `../escaped.db`.
    let empty = Database::builder()
        .uri("sqlite:///file:../escaped.db")
        .instance_path("")
        .build()
        .await;
    assert!(
        matches!(&empty, Err(Error::Config(m)) if m.contains("instance_path")),
        "{empty:?}"
    );
    // A relative instance folder starting with `file:`: the file opened is
    // `file:inst/...` in the working directory, with `?mode=ro` part of its
    // name, not the read-only `inst/...` a URI filename would mean.
    for (uri, file) in [
        ("sqlite:///app.db%3Fmode=ro", "file:inst/app.db?mode=ro"),
        (
            "sqlite:///file:../x.db%3Fvfs=memdb",
            "file:inst/file:../x.db?vfs=memdb",
        ),
    ] {
        let count = write_then_count(uri, Path::new("file:inst")).await;
        assert!(matches!(count, Ok(1)), "{uri:?}: {count:?}");
        assert!(Path::new(file).is_file(), "{uri:?}: {file:?} is missing");
    }
}

#[test]
fn names_are_never_uri_filenames_relative_to_the_working_directory() {
    let root = temp_dir();
    let work = root.path().join("work");
    if let Err(e) = std::fs::create_dir(&work) {
        panic!("cannot create {}: {e}", work.display());
    }
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => panic!("cannot find the test binary: {e}"),
    };
    let output = Command::new(exe)
        .args([
            "child_opens_names_relative_to_its_working_directory",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DIR, &work)
        .current_dir(&work)
        .stdin(Stdio::null())
        .output();
    let output = match output {
        Ok(output) => output,
        Err(e) => panic!("cannot run the child test: {e}"),
    };
    assert!(
        output.status.success(),
        "the child failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    // The child really ran its test, rather than filtering it out.
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("1 passed"),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert_eq!(entries(root.path()), ["work"], "a file landed outside");
    assert_eq!(entries(&work), ["file:inst"]);
}
