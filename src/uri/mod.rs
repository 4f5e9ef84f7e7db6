//! Connection URIs: `scheme[+driver]://[user[:password]@]host[:port]/database?options`.
//!
//! ```
//! use aludel::DatabaseUri;
//!
//! let uri: DatabaseUri = "postgresql+tokio://ada:s%40cret@db.example:5433/app?sslmode=require".parse()?;
//! assert_eq!(uri.scheme(), "postgresql");
//! assert_eq!(uri.driver(), Some("tokio"));
//! assert_eq!(uri.password(), Some("s@cret"));
//! assert_eq!(uri.port(), Some(5433));
//! assert_eq!(uri.option("sslmode"), Some("require"));
//! // The password never shows in Display or Debug.
//! assert_eq!(uri.to_string(), "postgresql+tokio://ada:***@db.example:5433/app?sslmode=require");
//! # Ok::<(), aludel::Error>(())
//! ```
//!
//! # How a URI is read
//!
//! The input is split the way RFC 3986 splits a hierarchical URI: the scheme up
//! to the first `:`, then `//`, the authority up to the first `/` or `?`, the
//! path up to the first `?`, and the query. Within the authority the userinfo
//! ends at the *last* `@` and the username at the first `:`. The
//! [`url`](https://docs.rs/url) crate then parses the host (including IPv6
//! literals) and the port. Userinfo, path and query are not handed to `url`:
//! its WHATWG rules would drop an empty password, strip tabs and newlines
//! anywhere in the input, and resolve `..` in the path before anyone could
//! see it, hiding a path-traversal attempt in a SQLite URI. `url` never sees
//! the password at all.
//!
//! Every part is percent-decoded once (`%40` is `@`); in options `+` also
//! means a space, as in a web form (SQLAlchemy and SQLx do the same). A
//! decoded NUL byte is refused everywhere: C drivers would cut the string
//! there.
//!
//! # Errors and secrets
//!
//! A malformed URI is an [`Error::Uri`] naming the part at fault (`scheme`,
//! `driver`, `username`, `password`, `host`, `port`, `path`, `options`,
//! `option "name"`, `fragment`, `uri`). Messages describe the problem and
//! never repeat the input, so no password, raw or percent-encoded, can reach
//! a log through an error. [`Display`](fmt::Display) and [`Debug`] show the
//! password as `***`, as SQLAlchemy does (also when it is empty; the part is
//! left out when there is none), and do the same for the value of any option
//! whose name mentions a password, secret or token.

mod encoding;
mod sqlite;

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

use self::encoding::{decode, encode_into, keep_host, keep_path, keep_query, keep_userinfo};
pub use self::sqlite::SqliteLocation;
#[cfg(feature = "sqlite")]
pub(crate) use self::sqlite::not_a_uri_filename;
use crate::error::{Error, Result};

/// The longest URI [`DatabaseUri::parse`] accepts, in bytes (64 KiB).
pub const MAX_URI_LEN: usize = 64 * 1024;

/// A parsed database connection URI.
///
/// Parse one with [`DatabaseUri::parse`] or [`str::parse`]. All accessors
/// return percent-decoded text. Two URIs are equal when all their parts are
/// equal (the password included). `Display` and `Debug` hide the password;
/// [`to_url_string_with_password`](Self::to_url_string_with_password) is the
/// one way to render it.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUri {
    scheme: String,
    driver: Option<String>,
    username: Option<String>,
    password: Option<Password>,
    host: Option<Host>,
    port: Option<u16>,
    path: Option<DbPath>,
    options: Vec<(String, String)>,
}

/// A password: `Debug` prints `***`, and the bytes are overwritten on drop.
#[derive(Clone, PartialEq, Eq)]
struct Password(String);

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl Drop for Password {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

/// Overwrites `bytes` (a password's, or text that held one) before freeing them.
fn wipe(mut bytes: Vec<u8>) {
    zeroize::Zeroize::zeroize(&mut bytes);
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Host {
    /// A name or IPv4 address, percent-decoded.
    Name(String),
    /// An IPv6 address in its canonical text form, without brackets.
    Ipv6(String),
}

impl Host {
    fn as_str(&self) -> &str {
        match self {
            Host::Name(name) => name,
            Host::Ipv6(address) => address,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct DbPath {
    /// The path after its one leading `/`, percent-decoded.
    decoded: String,
    /// The path after the leading `/` starts with a literal `/` (as in
    /// `sqlite:////abs.db`), not with a percent-encoded one (`%2F`).
    rooted: bool,
}

impl DatabaseUri {
    /// Parses `input`.
    ///
    /// Leading and trailing ASCII whitespace is ignored. Costs one pass over
    /// the input and a few small allocations.
    ///
    /// # Errors
    ///
    /// [`Error::Uri`] naming the part at fault when the input is longer than
    /// [`MAX_URI_LEN`], has no `scheme://`, has an empty scheme or driver, a
    /// control character, a bad percent-escape, text that is not UTF-8 once
    /// decoded, a NUL byte, an invalid host or port, a fragment (`#`), an
    /// option without a name or an option given twice. The message never
    /// contains the input.
    pub fn parse(input: &str) -> Result<DatabaseUri> {
        if input.len() > MAX_URI_LEN {
            return Err(Error::uri(
                "uri",
                format!("is longer than {MAX_URI_LEN} bytes; a database URI is never that long"),
            ));
        }
        let input = input.trim_matches(|c: char| c.is_ascii_whitespace());

        let Some((scheme_raw, after_scheme)) = input.split_once(':') else {
            return Err(Error::uri(
                "scheme",
                "is missing; a database URI starts with `scheme://`, as in `sqlite:///app.db`",
            ));
        };
        let (scheme, driver) = parse_scheme(scheme_raw)?;
        let Some(rest) = after_scheme.strip_prefix("//") else {
            return Err(Error::uri(
                "scheme",
                "must be followed by `://`, as in `sqlite:///app.db` or `postgresql://host/db`",
            ));
        };
        if rest.contains('#') {
            return Err(Error::uri(
                "fragment",
                "`#` is not allowed in a database URI; percent-encode it as `%23` \
                 (in a password, for example)",
            ));
        }

        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(authority_end);
        let (path_raw, query_raw) = match tail.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (tail, None),
        };
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((userinfo, hostport)) => (Some(userinfo), hostport),
            None => (None, authority),
        };

        let (username, password) = match userinfo {
            None => (None, None),
            Some(userinfo) => {
                let (user_raw, password_raw) = match userinfo.split_once(':') {
                    Some((user, password)) => (user, Some(password)),
                    None => (userinfo, None),
                };
                let username = decode(user_raw, "username", false)?;
                let password = match password_raw {
                    Some(raw) => Some(Password(decode(raw, "password", false)?)),
                    None => None,
                };
                ((!username.is_empty()).then_some(username), password)
            }
        };

        let (host, port) = parse_host_port(hostport)?;

        let path = match path_raw.strip_prefix('/') {
            None => None,
            Some(raw) => Some(DbPath {
                decoded: decode(raw, "path", false)?,
                rooted: raw.starts_with('/'),
            }),
        };

        let options = match query_raw {
            Some(query) => parse_options(query)?,
            None => Vec::new(),
        };

        Ok(DatabaseUri {
            scheme,
            driver,
            username,
            password,
            host,
            port,
            path,
            options,
        })
    }

    /// The scheme, lower-case, without the `+driver`: `postgresql` for
    /// `postgresql+tokio://...`. It selects the backend.
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// The driver after `+` in the scheme, lower-case: `tokio` for
    /// `postgresql+tokio://...`; `None` when there is no `+`.
    pub fn driver(&self) -> Option<&str> {
        self.driver.as_deref()
    }

    /// The user name, percent-decoded; `None` when absent or empty.
    pub fn username(&self) -> Option<&str> {
        self.username.as_deref()
    }

    /// The password, percent-decoded; `Some("")` for `user:@host`, `None`
    /// when there is no `:` in the userinfo.
    ///
    /// Hand it to the driver and nowhere else: do not log or format it.
    pub fn password(&self) -> Option<&str> {
        self.password.as_ref().map(|password| password.0.as_str())
    }

    /// The host, percent-decoded (`%2Fvar%2Frun%2Fpostgresql` is a socket
    /// folder); an IPv6 address without its brackets (`::1`). `None` when
    /// the host is empty, as in `sqlite:///app.db`.
    pub fn host(&self) -> Option<&str> {
        self.host.as_ref().map(Host::as_str)
    }

    /// The port, when one is given.
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// The path after its single leading `/`, percent-decoded: the database
    /// name, or for SQLite the file (`/abs/path.db` for `sqlite:////abs/path.db`).
    /// `None` when the URI has no path, `Some("")` for a lone `/`.
    pub fn database(&self) -> Option<&str> {
        self.path.as_ref().map(|path| path.decoded.as_str())
    }

    /// The query options, in order, percent-decoded. Names are unique.
    pub fn options(&self) -> impl Iterator<Item = (&str, &str)> {
        self.options
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
    }

    /// The value of option `name` (case-sensitive), if given. `?flag` with no
    /// `=` has the value `""`.
    pub fn option(&self, name: &str) -> Option<&str> {
        self.options
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Removes option `name` and returns its value, if it was given.
    ///
    /// Backends take the options they understand, then call
    /// [`reject_unknown_options`](Self::reject_unknown_options) on the rest.
    pub fn take_option(&mut self, name: &str) -> Option<String> {
        let index = self.options.iter().position(|(key, _)| key == name)?;
        Some(self.options.remove(index).1)
    }

    /// Sets option `name` to `value`, replacing the URI's own value if it
    /// has one: what [`DatabaseBuilder::option`](crate::DatabaseBuilder::option) does.
    pub fn set_option(&mut self, name: &str, value: &str) {
        match self.options.iter_mut().find(|(key, _)| key == name) {
            Some((_, old)) => *old = value.to_owned(),
            None => self.options.push((name.to_owned(), value.to_owned())),
        }
    }

    /// Fails on the first option left whose name is not in `known`.
    ///
    /// # Errors
    ///
    /// [`Error::Uri`] whose part is `option "name"` and whose message names
    /// `backend` and lists the `known` options.
    pub fn reject_unknown_options(&self, backend: &str, known: &[&str]) -> Result<()> {
        let Some((name, _)) = self
            .options
            .iter()
            .find(|(name, _)| !known.contains(&name.as_str()))
        else {
            return Ok(());
        };
        let message = if known.is_empty() {
            format!("is unknown; the {backend} backend takes no options")
        } else {
            let list: Vec<String> = known.iter().map(|k| format!("`{k}`")).collect();
            format!(
                "is unknown to the {backend} backend; known options: {}",
                list.join(", ")
            )
        };
        Err(Error::uri(option_part(name), message))
    }

    /// Renders the URI with its password, percent-encoded where needed.
    /// Parsing the result gives a URI equal to this one.
    ///
    /// This is the only way to see the password in a rendered URI; the
    /// returned string is a secret.
    pub fn to_url_string_with_password(&self) -> String {
        self.render(true)
    }

    fn render(&self, reveal: bool) -> String {
        let mut out = String::with_capacity(64);
        out.push_str(&self.scheme);
        if let Some(driver) = &self.driver {
            out.push('+');
            out.push_str(driver);
        }
        out.push_str("://");
        if self.username.is_some() || self.password.is_some() {
            if let Some(username) = &self.username {
                encode_into(&mut out, username, keep_userinfo);
            }
            if let Some(password) = &self.password {
                out.push(':');
                if reveal {
                    encode_into(&mut out, &password.0, keep_userinfo);
                } else {
                    out.push_str("***");
                }
            }
            out.push('@');
        }
        match &self.host {
            Some(Host::Name(name)) => encode_into(&mut out, name, keep_host),
            Some(Host::Ipv6(address)) => {
                out.push('[');
                out.push_str(address);
                out.push(']');
            }
            None => {}
        }
        if let Some(port) = self.port {
            out.push(':');
            out.push_str(&port.to_string());
        }
        if let Some(path) = &self.path {
            out.push('/');
            match path.decoded.strip_prefix('/') {
                // A leading `/` that came from `%2F` stays encoded, so the
                // rendered URI cannot turn into an explicit absolute path.
                Some(rest) if !path.rooted => {
                    out.push_str("%2F");
                    encode_into(&mut out, rest, keep_path);
                }
                _ => encode_into(&mut out, &path.decoded, keep_path),
            }
        }
        for (index, (name, value)) in self.options.iter().enumerate() {
            out.push(if index == 0 { '?' } else { '&' });
            encode_into(&mut out, name, keep_query);
            out.push('=');
            if reveal || !is_secret_option(name) {
                encode_into(&mut out, value, keep_query);
            } else {
                out.push_str("***");
            }
        }
        out
    }
}

impl FromStr for DatabaseUri {
    type Err = Error;

    fn from_str(input: &str) -> Result<DatabaseUri> {
        DatabaseUri::parse(input)
    }
}

impl fmt::Display for DatabaseUri {
    /// The URI with the password (and secret-looking option values) shown as `***`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(false))
    }
}

impl fmt::Debug for DatabaseUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Options<'a>(&'a [(String, String)]);
        impl fmt::Debug for Options<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let mut list = f.debug_list();
                for (name, value) in self.0 {
                    if is_secret_option(name) {
                        list.entry(&(name, format_args!("***")));
                    } else {
                        list.entry(&(name, value));
                    }
                }
                list.finish()
            }
        }
        f.debug_struct("DatabaseUri")
            .field("scheme", &self.scheme)
            .field("driver", &self.driver)
            .field("username", &self.username)
            .field("password", &self.password)
            .field("host", &self.host())
            .field("port", &self.port)
            .field("database", &self.database())
            .field("options", &Options(&self.options))
            .finish()
    }
}

/// The `part` of an [`Error::Uri`] about option `name`: `option "name"`.
pub(crate) fn option_part(name: &str) -> String {
    format!("option {name:?}")
}

/// Options whose value `Display` and `Debug` hide (`?password=...`, which
/// libpq and tokio-postgres accept, `sslpassword`, `secret`, `token`, ...).
fn is_secret_option(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["password", "passwd", "pwd", "secret", "token"]
        .iter()
        .any(|word| name.contains(word))
}

fn parse_scheme(raw: &str) -> Result<(String, Option<String>)> {
    let (scheme, driver) = match raw.split_once('+') {
        Some((scheme, driver)) => (scheme, Some(driver)),
        None => (raw, None),
    };
    if scheme.is_empty() {
        return Err(Error::uri(
            "scheme",
            "is empty; a database URI starts with `scheme://`, as in `sqlite:///app.db`",
        ));
    }
    let valid_scheme = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    if !valid_scheme {
        return Err(Error::uri(
            "scheme",
            "must start with a letter and hold only letters, digits, `-` and `.` \
             (or is the `://` missing?)",
        ));
    }
    let driver = match driver {
        None => None,
        Some("") => {
            return Err(Error::uri(
                "driver",
                "is empty after `+`; write `scheme+driver://` or leave out the `+`",
            ));
        }
        Some(driver) if driver.contains('+') => {
            return Err(Error::uri(
                "driver",
                "holds a second `+`; write `scheme+driver://`",
            ));
        }
        Some(driver) => {
            if !driver
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
            {
                return Err(Error::uri(
                    "driver",
                    "must hold only letters, digits, `-`, `.` and `_`",
                ));
            }
            Some(driver.to_ascii_lowercase())
        }
    };
    Ok((scheme.to_ascii_lowercase(), driver))
}

fn parse_host_port(hostport: &str) -> Result<(Option<Host>, Option<u16>)> {
    if hostport.is_empty() {
        return Ok((None, None));
    }
    if hostport.chars().any(char::is_control) {
        return Err(Error::uri(
            "host",
            "contains a control character; percent-encode it",
        ));
    }
    // A fixed, non-special scheme gives every URI the same (generic) host
    // rules; the trailing `/` keeps `url` from trimming trailing spaces.
    let url = url::Url::parse(&format!("aludel://{hostport}/")).map_err(|e| match e {
        url::ParseError::InvalidPort => {
            Error::uri("port", "must be a number from 1 to 65535")
        }
        url::ParseError::EmptyHost => Error::uri("host", "is missing before the port"),
        url::ParseError::InvalidIpv6Address => Error::uri(
            "host",
            "is not a valid IPv6 address in brackets (zone ids such as `%eth0` are not supported)",
        ),
        url::ParseError::InvalidDomainCharacter => Error::uri(
            "host",
            "contains a character not allowed in a host (space, `<`, `>`, `[`, `]`, `\\`, `^`, `|`, ...); \
             percent-encode it",
        ),
        _ => Error::uri("host", "is not a valid host"),
    })?;
    let host = match url.host() {
        None => None,
        Some(url::Host::Domain(name)) => Some(Host::Name(decode(name, "host", false)?)),
        Some(url::Host::Ipv4(address)) => Some(Host::Name(address.to_string())),
        Some(url::Host::Ipv6(address)) => Some(Host::Ipv6(address.to_string())),
    };
    let port = match url.port() {
        Some(0) => return Err(Error::uri("port", "must be a number from 1 to 65535")),
        port => port,
    };
    Ok((host, port))
}

fn parse_options(query: &str) -> Result<Vec<(String, String)>> {
    let mut options = Vec::new();
    let mut seen = HashSet::new();
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (name_raw, value_raw) = pair.split_once('=').unwrap_or((pair, ""));
        let name = decode(name_raw, "options", true)?;
        if name.is_empty() {
            return Err(Error::uri(
                "options",
                "an option has no name (`=value` with nothing before the `=`)",
            ));
        }
        let value = decode(value_raw, &option_part(&name), true)?;
        if !seen.insert(name.clone()) {
            return Err(Error::uri(option_part(&name), "is given more than once"));
        }
        options.push((name, value));
    }
    Ok(options)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::sqlite::relative_sqlite_path;
    use super::*;

    fn parse(input: &str) -> DatabaseUri {
        match DatabaseUri::parse(input) {
            Ok(uri) => uri,
            Err(e) => panic!("{input:?} should parse: {e}"),
        }
    }

    #[test]
    fn rooted_flag_tracks_a_literal_slash() {
        assert!(parse("sqlite:////abs.db").path.is_some_and(|p| p.rooted));
        assert!(parse("sqlite:///%2Fabs.db").path.is_some_and(|p| !p.rooted));
    }

    #[test]
    fn an_encoded_leading_slash_stays_encoded_when_rendered() {
        let uri = parse("sqlite:///%2Fetc%2Fpasswd");
        assert_eq!(uri.to_url_string_with_password(), "sqlite:///%2Fetc/passwd");
        assert_eq!(parse(&uri.to_url_string_with_password()), uri);
    }

    #[test]
    fn password_debug_is_redacted() {
        assert_eq!(format!("{:?}", Password("hunter2".into())), "***");
    }

    #[test]
    fn decode_rejects_bad_escapes() {
        for raw in ["%", "%4", "%zz", "a%g1"] {
            assert!(decode(raw, "path", false).is_err(), "{raw:?}");
        }
        assert_eq!(
            decode("a+b%2B", "options", true).ok().as_deref(),
            Some("a b+")
        );
        assert_eq!(decode("a+b", "path", false).ok().as_deref(), Some("a+b"));
    }

    #[test]
    fn relative_paths_are_normalized() {
        assert_eq!(
            relative_sqlite_path("a/./b/../c.db").ok(),
            Some(PathBuf::from("a/c.db"))
        );
        assert!(relative_sqlite_path("a\\..\\..\\x.db").is_err());
    }
}
