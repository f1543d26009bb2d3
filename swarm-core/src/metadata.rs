//! Mantaray metadata: a flat JSON object of string → string, read without allocating
//! (`../shared/spec/mantaray-and-api.md` §1.8).
//!
//! Acceptance follows Go Bee's `json.Unmarshal` into `map[string]string`: any key order, all
//! JSON whitespace (also as trailing padding), `null` for the whole object (no metadata) or for
//! a value (the empty string), duplicate keys (the last one wins), string escapes including
//! `\uXXXX` surrogate pairs. A lone surrogate escape and invalid UTF-8 decode to U+FFFD, as in
//! Go. Numbers, booleans, arrays, nested objects, syntax errors and trailing non-whitespace are
//! [`Error::MetadataSyntax`]. Keys and values stay borrowed in their escaped form
//! ([`JsonStr`]) and are decoded on demand.
//!
//! ```
//! use swarm_core::metadata::Metadata;
//! let m = Metadata::parse(br#"{"Filename":"a\u0026b.txt","Content-Type":"text/plain"}"#)?;
//! assert!(m.get("Filename").unwrap().eq_str("a&b.txt"));
//! let mut buf = [0u8; 16];
//! assert_eq!(m.get("Content-Type").unwrap().decode_into(&mut buf), Some("text/plain"));
//! assert!(Metadata::parse(br#"{"size":5}"#).is_err());
//! # Ok::<(), swarm_core::Error>(())
//! ```
//!
//! # Bounds
//! At most [`MAX_METADATA_KEYS`] key/value pairs (duplicates counted), else
//! [`Error::MetadataTooManyKeys`]; the text itself is at most 65535 bytes (its length field is
//! a `u16`).

use core::fmt;

use crate::Error;

/// Most key/value pairs one metadata object may hold (Bee writes 1 to 3).
pub const MAX_METADATA_KEYS: usize = 16;

/// A validated metadata object: borrowed JSON text of at most [`MAX_METADATA_KEYS`] string
/// pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Metadata<'a> {
    text: &'a [u8],
    len: usize,
}

/// One JSON string, borrowed as written between its quotes (escapes intact); `null` reads as
/// the empty string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct JsonStr<'a> {
    raw: &'a [u8],
}

/// The key/value pairs of a [`Metadata`] object in the order written (duplicates included).
#[derive(Debug, Clone)]
pub struct Pairs<'a> {
    cursor: Cursor<'a>,
    done: bool,
}

/// The decoded characters of a [`JsonStr`].
#[derive(Debug, Clone)]
pub struct Chars<'a> {
    raw: &'a [u8],
}

impl<'a> Metadata<'a> {
    /// No metadata.
    pub const EMPTY: Metadata<'static> = Metadata { text: &[], len: 0 };

    /// Validates `text` (a fork's whole metadata field) as a JSON object of strings.
    ///
    /// Empty text is no metadata (Bee writes `meta_len = 0` that way).
    ///
    /// # Errors
    /// [`Error::MetadataSyntax`] for anything `json.Unmarshal` into `map[string]string` would
    /// reject, [`Error::MetadataTooManyKeys`] above [`MAX_METADATA_KEYS`] pairs.
    pub fn parse(text: &'a [u8]) -> Result<Self, Error> {
        if text.is_empty() {
            return Ok(Self { text, len: 0 });
        }
        let mut c = Cursor { b: text, pos: 0 };
        c.skip_ws();
        let len = match c.peek() {
            Some(b'n') => {
                c.literal(b"null")?;
                0
            }
            Some(b'{') => {
                c.pos += 1;
                let mut len = 0;
                c.skip_ws();
                if c.peek() == Some(b'}') {
                    c.pos += 1;
                } else {
                    loop {
                        c.skip_ws();
                        c.string()?;
                        c.skip_ws();
                        c.expect(b':')?;
                        c.skip_ws();
                        c.value()?;
                        len += 1;
                        if len > MAX_METADATA_KEYS {
                            return Err(Error::MetadataTooManyKeys {
                                max: MAX_METADATA_KEYS,
                            });
                        }
                        c.skip_ws();
                        match c.next() {
                            Some(b',') => {}
                            Some(b'}') => break,
                            _ => return Err(c.error_before()),
                        }
                    }
                }
                len
            }
            _ => return Err(c.error()),
        };
        c.skip_ws();
        if c.pos != text.len() {
            return Err(c.error());
        }
        Ok(Self { text, len })
    }

    /// The metadata text as stored (JSON and any padding).
    #[must_use]
    pub const fn as_bytes(&self) -> &'a [u8] {
        self.text
    }

    /// Number of key/value pairs written (duplicate keys counted).
    #[must_use]
    pub const fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no pairs (no metadata, `null` or `{}`).
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The pairs in the order written.
    #[must_use]
    pub fn iter(&self) -> Pairs<'a> {
        let mut cursor = Cursor {
            b: self.text,
            pos: 0,
        };
        cursor.skip_ws();
        let done = cursor.peek() != Some(b'{');
        cursor.pos += 1;
        Pairs { cursor, done }
    }

    /// The value of `key` (decoded comparison); with duplicate keys the last one, as Go.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<JsonStr<'a>> {
        self.iter()
            .filter(|(k, _)| k.eq_str(key))
            .last()
            .map(|(_, v)| v)
    }
}

impl<'a> JsonStr<'a> {
    /// The string as written between its quotes, escapes intact.
    #[must_use]
    pub const fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// The decoded characters.
    #[must_use]
    pub const fn chars(&self) -> Chars<'a> {
        Chars { raw: self.raw }
    }

    /// The text itself when it needs no decoding (no escapes, valid UTF-8).
    #[must_use]
    pub fn as_str(&self) -> Option<&'a str> {
        if self.raw.contains(&b'\\') {
            return None;
        }
        core::str::from_utf8(self.raw).ok()
    }

    /// Whether the decoded string equals `s`.
    #[must_use]
    pub fn eq_str(&self, s: &str) -> bool {
        self.chars().eq(s.chars())
    }

    /// Length of the decoded string in UTF-8 bytes.
    #[must_use]
    pub fn decoded_len(&self) -> usize {
        self.chars().map(char::len_utf8).sum()
    }

    /// Decodes into `out`; `None` if `out` is too short.
    #[must_use]
    pub fn decode_into<'o>(&self, out: &'o mut [u8]) -> Option<&'o str> {
        let mut n = 0usize;
        for ch in self.chars() {
            let end = n.checked_add(ch.len_utf8())?;
            let dst = out.get_mut(n..end)?;
            ch.encode_utf8(dst);
            n = end;
        }
        core::str::from_utf8(out.get(..n)?).ok()
    }
}

impl<'a> Iterator for Pairs<'a> {
    type Item = (JsonStr<'a>, JsonStr<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        // The text was validated by `Metadata::parse`; stop quietly on anything unexpected.
        let c = &mut self.cursor;
        c.skip_ws();
        if c.peek() == Some(b'}') {
            self.done = true;
            return None;
        }
        let pair = (|| {
            let key = c.string().ok()?;
            c.skip_ws();
            c.expect(b':').ok()?;
            c.skip_ws();
            let value = c.value().ok()?;
            c.skip_ws();
            match c.next()? {
                b',' => {}
                b'}' => self.done = true,
                _ => return None,
            }
            Some((JsonStr { raw: key }, JsonStr { raw: value }))
        })();
        if pair.is_none() {
            self.done = true;
        }
        pair
    }
}

impl Iterator for Chars<'_> {
    type Item = char;

    fn next(&mut self) -> Option<char> {
        let (&first, rest) = self.raw.split_first()?;
        if first == b'\\' {
            let (&esc, rest) = rest.split_first()?;
            self.raw = rest;
            return Some(match esc {
                b'b' => '\u{8}',
                b'f' => '\u{c}',
                b'n' => '\n',
                b'r' => '\r',
                b't' => '\t',
                b'u' => {
                    let unit = hex4(self.raw)?;
                    self.raw = self.raw.get(4..).unwrap_or_default();
                    if (0xd800..0xdc00).contains(&unit) {
                        // A high surrogate pairs with an immediately following low surrogate.
                        if let Some(low) = self
                            .raw
                            .strip_prefix(b"\\u")
                            .and_then(hex4)
                            .filter(|l| (0xdc00..0xe000).contains(l))
                        {
                            self.raw = self.raw.get(6..).unwrap_or_default();
                            let c = 0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00);
                            char::from_u32(c).unwrap_or(char::REPLACEMENT_CHARACTER)
                        } else {
                            char::REPLACEMENT_CHARACTER
                        }
                    } else {
                        char::from_u32(unit).unwrap_or(char::REPLACEMENT_CHARACTER)
                    }
                }
                // `"`, `\`, `/` stand for themselves.
                other => char::from(other),
            });
        }
        if first < 0x80 {
            self.raw = rest;
            return Some(char::from(first));
        }
        // One UTF-8 sequence, or U+FFFD for one invalid byte (Go's `utf8.DecodeRune`).
        let window = self.raw.get(..4).unwrap_or(self.raw);
        let valid = match core::str::from_utf8(window) {
            Ok(s) => s,
            Err(e) => window
                .get(..e.valid_up_to())
                .and_then(|v| core::str::from_utf8(v).ok())
                .unwrap_or_default(),
        };
        match valid.chars().next() {
            Some(ch) => {
                self.raw = self.raw.get(ch.len_utf8()..).unwrap_or_default();
                Some(ch)
            }
            None => {
                self.raw = rest;
                Some(char::REPLACEMENT_CHARACTER)
            }
        }
    }
}

impl fmt::Display for JsonStr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use fmt::Write;
        for ch in self.chars() {
            f.write_char(ch)?;
        }
        Ok(())
    }
}

impl<'a> IntoIterator for &Metadata<'a> {
    type Item = (JsonStr<'a>, JsonStr<'a>);
    type IntoIter = Pairs<'a>;

    fn into_iter(self) -> Pairs<'a> {
        self.iter()
    }
}

/// A bounded reader over JSON text; every method checks before it indexes.
#[derive(Debug, Clone)]
struct Cursor<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.pos += 1;
        Some(b)
    }

    fn error(&self) -> Error {
        Error::MetadataSyntax { offset: self.pos }
    }

    fn error_before(&self) -> Error {
        Error::MetadataSyntax {
            offset: self.pos.saturating_sub(1),
        }
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn expect(&mut self, want: u8) -> Result<(), Error> {
        if self.peek() == Some(want) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error())
        }
    }

    fn literal(&mut self, word: &[u8]) -> Result<(), Error> {
        let end = self.pos.checked_add(word.len()).ok_or(self.error())?;
        if self.b.get(self.pos..end) == Some(word) {
            self.pos = end;
            Ok(())
        } else {
            Err(self.error())
        }
    }

    /// A string or `null` value; returns the string's raw contents (empty for `null`).
    fn value(&mut self) -> Result<&'a [u8], Error> {
        if self.peek() == Some(b'n') {
            self.literal(b"null")?;
            Ok(&[])
        } else {
            self.string()
        }
    }

    /// A JSON string starting at the cursor; returns the bytes between the quotes.
    fn string(&mut self) -> Result<&'a [u8], Error> {
        self.expect(b'"')?;
        let start = self.pos;
        loop {
            match self.next() {
                None => return Err(self.error()),
                Some(b'"') => break,
                Some(b'\\') => match self.next() {
                    Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {}
                    Some(b'u') => {
                        let rest = self.b.get(self.pos..).unwrap_or_default();
                        if hex4(rest).is_none() {
                            return Err(self.error());
                        }
                        self.pos += 4;
                    }
                    _ => return Err(self.error_before()),
                },
                Some(0..0x20) => return Err(self.error_before()),
                Some(_) => {}
            }
        }
        self.b
            .get(start..self.pos.saturating_sub(1))
            .ok_or(Error::MetadataSyntax { offset: start })
    }
}

/// Four hex digits at the start of `b`.
fn hex4(b: &[u8]) -> Option<u32> {
    let digits = b.get(..4)?;
    let mut v = 0u32;
    for &d in digits {
        let n = char::from(d).to_digit(16)?;
        v = (v << 4) | n;
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::{String, ToString};
    use std::vec::Vec;

    fn pairs(text: &str) -> Vec<(String, String)> {
        let m = Metadata::parse(text.as_bytes()).unwrap();
        m.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn reads_go_and_beejs_objects_with_padding() {
        assert_eq!(
            pairs("{\"Content-Type\":\"text/plain\",\"Filename\":\"a.txt\"}\n\n\n"),
            [
                ("Content-Type".into(), "text/plain".into()),
                ("Filename".into(), "a.txt".into())
            ]
        );
        assert_eq!(
            pairs(" { \"b\" : \"1\" ,\r\n\t\"a\":\"2\" } "),
            [("b".into(), "1".into()), ("a".into(), "2".into())]
        );
        assert!(Metadata::parse(b"").unwrap().is_empty());
        assert!(Metadata::parse(b"{}").unwrap().is_empty());
        assert!(Metadata::parse(b" null \n").unwrap().is_empty());
    }

    #[test]
    fn null_value_is_the_empty_string_and_last_duplicate_wins() {
        let m = Metadata::parse(br#"{"a":"x","b":null,"a":"y"}"#).unwrap();
        assert_eq!(m.len(), 3);
        assert!(m.get("a").unwrap().eq_str("y"));
        assert!(m.get("b").unwrap().eq_str(""));
        assert!(m.get("c").is_none());
    }

    #[test]
    fn decodes_escapes_surrogate_pairs_and_replaces_lone_surrogates() {
        let m = Metadata::parse(
            br#"{"k":"\u003c\u003e\u0026 \"q\" \\ \/ \b\f\n\r\t \ud83d\udc1d \ud83d x \udc1d \u00e9"}"#,
        )
        .unwrap();
        assert_eq!(
            m.get("k").unwrap().to_string(),
            "<>& \"q\" \\ / \u{8}\u{c}\n\r\t \u{1f41d} \u{fffd} x \u{fffd} \u{e9}"
        );
        // A high surrogate followed by another high surrogate: both replaced, both consumed.
        let m = Metadata::parse(br#"{"k":"\ud83d\ud83d\udc1d"}"#).unwrap();
        assert_eq!(m.get("k").unwrap().to_string(), "\u{fffd}\u{1f41d}");
    }

    #[test]
    fn invalid_utf8_reads_as_replacement_characters() {
        let m = Metadata::parse(b"{\"k\":\"a\xff\xc3\"}").unwrap();
        assert_eq!(m.get("k").unwrap().to_string(), "a\u{fffd}\u{fffd}");
        let m = Metadata::parse("{\"k\":\"日本\"}".as_bytes()).unwrap();
        assert_eq!(m.get("k").unwrap().as_str(), Some("日本"));
    }

    #[test]
    fn rejects_what_go_rejects() {
        for bad in [
            &b"{\"a\":1}"[..],
            b"{\"a\":true}",
            b"{\"a\":{}}",
            b"{\"a\":[\"x\"]}",
            b"{\"a\":\"b\",}",
            b"{\"a\" \"b\"}",
            b"{\"a\":\"b\"} x",
            b"{\"a\":\"b\"}{}",
            b"{\"a\":\"\x01\"}",
            b"{\"a\":\"\\x\"}",
            b"{\"a\":\"\\u12g4\"}",
            b"{\"a\":\"unterminated}",
            b"[]",
            b"\"str\"",
            b"\n\n",
            b"nul",
            b"{a:\"b\"}",
            b"{\"a\":nulll}",
        ] {
            assert!(
                matches!(Metadata::parse(bad), Err(Error::MetadataSyntax { .. })),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn rejects_more_than_max_keys() {
        let mut text = String::from("{");
        for i in 0..MAX_METADATA_KEYS {
            if i > 0 {
                text.push(',');
            }
            text.push_str(&std::format!("\"k{i}\":\"v\""));
        }
        text.push('}');
        assert_eq!(
            Metadata::parse(text.as_bytes()).unwrap().len(),
            MAX_METADATA_KEYS
        );
        text.pop();
        text.push_str(",\"x\":\"y\"}");
        assert_eq!(
            Metadata::parse(text.as_bytes()),
            Err(Error::MetadataTooManyKeys {
                max: MAX_METADATA_KEYS
            })
        );
    }

    #[test]
    fn decode_into_reports_a_short_buffer() {
        let m = Metadata::parse(br#"{"k":"\u00e9t\u00e9"}"#).unwrap();
        let v = m.get("k").unwrap();
        assert_eq!(v.decoded_len(), 5);
        let mut buf = [0u8; 5];
        assert_eq!(v.decode_into(&mut buf), Some("été"));
        assert_eq!(v.decode_into(&mut buf[..4]), None);
    }
}
