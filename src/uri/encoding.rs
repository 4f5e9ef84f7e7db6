//! Percent-encoding as the URI parser reads and writes it: decoding each
//! part once (refusing bad escapes and NUL bytes), and encoding each part
//! back with the characters its position allows.

use super::wipe;
use crate::error::{Error, Result};

/// Percent-decodes `raw` (and `+` to a space when `plus_as_space`). Errors
/// name `part` and never include the text, which may be a password.
pub(super) fn decode(raw: &str, part: &str, plus_as_space: bool) -> Result<String> {
    if raw.chars().any(char::is_control) {
        return Err(Error::uri(
            part,
            "contains a control character; percent-encode it",
        ));
    }
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut rest = bytes;
    while let Some((&byte, tail)) = rest.split_first() {
        rest = tail;
        match byte {
            b'%' => {
                let high = rest.first().copied().and_then(hex_value);
                let low = rest.get(1).copied().and_then(hex_value);
                match (high, low) {
                    (Some(high), Some(low)) => {
                        out.push((high << 4) | low);
                        rest = rest.get(2..).unwrap_or_default();
                    }
                    _ => {
                        wipe(out);
                        return Err(Error::uri(
                            part,
                            "has a `%` not followed by two hex digits; write `%25` for a literal `%`",
                        ));
                    }
                }
            }
            b'+' if plus_as_space => out.push(b' '),
            other => out.push(other),
        }
    }
    match String::from_utf8(out) {
        Ok(text) if text.contains('\0') => {
            wipe(text.into_bytes());
            Err(Error::uri(part, "contains a NUL byte (`%00`)"))
        }
        Ok(text) => Ok(text),
        Err(e) => {
            wipe(e.into_bytes());
            Err(Error::uri(part, "is not valid UTF-8 once percent-decoded"))
        }
    }
}

fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

pub(super) fn encode_into(out: &mut String, text: &str, keep: fn(u8) -> bool) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &byte in text.as_bytes() {
        if keep(byte) {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
    }
}

fn is_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~')
}

fn is_sub_delim(byte: u8) -> bool {
    matches!(
        byte,
        b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'='
    )
}

pub(super) fn keep_userinfo(byte: u8) -> bool {
    is_unreserved(byte)
}

pub(super) fn keep_host(byte: u8) -> bool {
    is_unreserved(byte) || is_sub_delim(byte)
}

pub(super) fn keep_path(byte: u8) -> bool {
    is_unreserved(byte) || is_sub_delim(byte) || matches!(byte, b'/' | b':' | b'@')
}

pub(super) fn keep_query(byte: u8) -> bool {
    // `+` is a space in options, `&` and `=` separate them.
    is_unreserved(byte)
        || matches!(
            byte,
            b'/' | b':' | b'@' | b'!' | b'$' | b'\'' | b'(' | b')' | b'*' | b',' | b';'
        )
}
