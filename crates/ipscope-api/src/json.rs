//! JSON as the app reads and writes it: one small parser into a [`Json`] tree, and per-type conversions
//! (`#[derive(FromJson, ToJson)]`, which read the types' `#[serde]` attributes).
//!
//! The server uses serde; the app uses this. serde_json's reader is generic over each type's visitor, so every
//! wire type brought its own copy of the parsing state machine into the module (76 KB of it). Here the parser
//! exists once and a type's reader is a list of member lookups. `tests` checks, type by type and on damaged
//! documents, that both read the same values and refuse the same documents, and that both write the same text.

use chrono::{DateTime, NaiveDate, Utc};
use std::fmt;

pub use ipscope_json_derive::{FromJson, ToJson};

/// A JSON value. Objects keep their members in order; numbers keep their text until a type reads them.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, as written (valid JSON number syntax).
    Number(String),
    /// A string, unescaped.
    String(String),
    /// An array.
    Array(Vec<Json>),
    /// An object's members in document order.
    Object(Vec<(String, Json)>),
}

/// Why a document could not be read, with where: `value[3].lastSeen: expected a string, found null`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    path: String,
    message: String,
}

impl JsonError {
    fn new(message: impl Into<String>) -> Self {
        JsonError { path: String::new(), message: message.into() }
    }

    fn expected(what: &str, found: &Json) -> Self {
        JsonError::new(format!("expected {what}, found {}", found.kind()))
    }

    /// A string that names none of a type's values.
    pub fn unknown_value(text: &str) -> Self {
        JsonError::new(format!("unknown value \"{text}\""))
    }

    /// The same error, inside the array element `index`.
    fn within_element(self, index: usize) -> Self {
        self.within(&format!("[{index}]"))
    }

    /// The same error, inside the member or element `step` (`name` or `[3]`).
    pub fn within(mut self, step: &str) -> Self {
        if !self.path.is_empty() && !self.path.starts_with('[') {
            self.path.insert(0, '.');
        }
        self.path.insert_str(0, step);
        self
    }
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for JsonError {}

impl Json {
    /// "null", "a string", ...: what an error says it found.
    fn kind(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "a boolean",
            Json::Number(_) => "a number",
            Json::String(_) => "a string",
            Json::Array(_) => "an array",
            Json::Object(_) => "an object",
        }
    }

    /// The JSON text, indented by two spaces as `serde_json::to_string_pretty` writes it.
    pub fn to_pretty(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, Some(0));
        out
    }

    /// The JSON text without spaces, as `serde_json::to_string` writes it.
    pub fn to_compact(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, None);
        out
    }

    fn write(&self, out: &mut String, indent: Option<usize>) {
        let inner = indent.map(|i| i + 1);
        let newline = |out: &mut String, depth: Option<usize>| {
            if let Some(depth) = depth {
                out.push('\n');
                (0..depth).for_each(|_| out.push_str("  "));
            }
        };
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Number(n) => out.push_str(n),
            Json::String(s) => write_string(out, s),
            Json::Array(items) if items.is_empty() => out.push_str("[]"),
            Json::Object(members) if members.is_empty() => out.push_str("{}"),
            Json::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    newline(out, inner);
                    item.write(out, inner);
                }
                newline(out, indent);
                out.push(']');
            }
            Json::Object(members) => {
                out.push('{');
                for (i, (name, value)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    newline(out, inner);
                    write_string(out, name);
                    out.push_str(if indent.is_some() { ": " } else { ":" });
                    value.write(out, inner);
                }
                newline(out, indent);
                out.push('}');
            }
        }
    }
}

/// `s` as a JSON string, escaped as serde_json escapes it.
fn write_string(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => {
                out.push_str("\\u00");
                out.push(HEX[(c as usize) >> 4] as char);
                out.push(HEX[(c as usize) & 15] as char);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// How deep arrays and objects may nest (serde_json's limit): deeper is an error, not a stack overflow.
const MAX_DEPTH: usize = 128;

/// Reads a whole JSON document.
pub fn parse(text: &str) -> Result<Json, JsonError> {
    let mut parser = Parser { text: text.as_bytes(), at: 0 };
    let value = parser.value(0).and_then(|value| {
        parser.skip_space();
        if parser.at < parser.text.len() {
            return Err("trailing characters");
        }
        Ok(value)
    });
    value.map_err(|message| {
        let before = &text.as_bytes()[..parser.at.min(text.len())];
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let column = before.len() - before.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1) + 1;
        JsonError::new(format!("{message} at line {line} column {column}"))
    })
}

/// Reads a whole JSON document as a `T`.
pub fn from_str<T: FromJson>(text: &str) -> Result<T, JsonError> {
    T::from_json(&parse(text)?)
}

/// `value` as indented JSON text (what a JSON export holds).
pub fn to_string_pretty<T: ToJson + ?Sized>(value: &T) -> String {
    value.to_json().to_pretty()
}

/// `value` as compact JSON text.
pub fn to_string<T: ToJson + ?Sized>(value: &T) -> String {
    value.to_json().to_compact()
}

struct Parser<'a> {
    text: &'a [u8],
    at: usize,
}

type Parsed<T> = Result<T, &'static str>;

impl Parser<'_> {
    fn skip_space(&mut self) {
        while matches!(self.text.get(self.at), Some(b' ' | b'\n' | b'\r' | b'\t')) {
            self.at += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_space();
        self.text.get(self.at).copied()
    }

    fn literal(&mut self, word: &str, value: Json) -> Parsed<Json> {
        if self.text[self.at..].starts_with(word.as_bytes()) {
            self.at += word.len();
            Ok(value)
        } else {
            Err("expected a value")
        }
    }

    fn value(&mut self, depth: usize) -> Parsed<Json> {
        if depth > MAX_DEPTH {
            return Err("nested too deeply");
        }
        match self.peek() {
            None => Err("unexpected end of the document"),
            Some(b'n') => self.literal("null", Json::Null),
            Some(b't') => self.literal("true", Json::Bool(true)),
            Some(b'f') => self.literal("false", Json::Bool(false)),
            Some(b'"') => self.string().map(Json::String),
            Some(b'-' | b'0'..=b'9') => self.number().map(Json::Number),
            Some(b'[') => self.sequence(b']', "expected `,` or `]`", |p| p.value(depth + 1)).map(Json::Array),
            Some(b'{') => self
                .sequence(b'}', "expected `,` or `}`", |p| {
                    if p.peek() != Some(b'"') {
                        return Err("expected a member name");
                    }
                    let name = p.string()?;
                    if p.peek() != Some(b':') {
                        return Err("expected `:`");
                    }
                    p.at += 1;
                    Ok((name, p.value(depth + 1)?))
                })
                .map(Json::Object),
            Some(_) => Err("expected a value"),
        }
    }

    /// The items of an array or object, the opening bracket at `self.at`: `item` each, separated by `,`, up to
    /// `close`; `unexpected` when something else follows an item.
    fn sequence<T>(
        &mut self,
        close: u8,
        unexpected: &'static str,
        mut item: impl FnMut(&mut Self) -> Parsed<T>,
    ) -> Parsed<Vec<T>> {
        self.at += 1;
        let mut items = Vec::new();
        if self.peek() == Some(close) {
            self.at += 1;
            return Ok(items);
        }
        loop {
            items.push(item(self)?);
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(c) if c == close => break,
                _ => return Err(unexpected),
            }
        }
        self.at += 1;
        Ok(items)
    }

    fn digits(&mut self) -> usize {
        let start = self.at;
        while self.text.get(self.at).is_some_and(u8::is_ascii_digit) {
            self.at += 1;
        }
        self.at - start
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`
    fn number(&mut self) -> Parsed<String> {
        let start = self.at;
        if self.text[self.at] == b'-' {
            self.at += 1;
        }
        let leading_zero = self.text.get(self.at) == Some(&b'0');
        match self.digits() {
            0 => return Err("expected a digit"),
            n if n > 1 && leading_zero => return Err("a number may not start with 0"),
            _ => {}
        }
        if self.text.get(self.at) == Some(&b'.') {
            self.at += 1;
            if self.digits() == 0 {
                return Err("expected a digit after `.`");
            }
        }
        if matches!(self.text.get(self.at), Some(b'e' | b'E')) {
            self.at += 1;
            if matches!(self.text.get(self.at), Some(b'+' | b'-')) {
                self.at += 1;
            }
            if self.digits() == 0 {
                return Err("expected a digit in the exponent");
            }
        }
        // Only ASCII was consumed, so this cannot split a character.
        Ok(String::from_utf8_lossy(&self.text[start..self.at]).into_owned())
    }

    fn hex4(&mut self) -> Parsed<u32> {
        let digits = self.text.get(self.at..self.at + 4).ok_or("expected four hex digits")?;
        let mut n = 0;
        for &d in digits {
            n = n * 16 + (d as char).to_digit(16).ok_or("expected four hex digits")?;
        }
        self.at += 4;
        Ok(n)
    }

    /// A string, the opening quote at `self.at`.
    fn string(&mut self) -> Parsed<String> {
        self.at += 1;
        let mut out = Vec::new();
        loop {
            let start = self.at;
            while let Some(&b) = self.text.get(self.at) {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.at += 1;
            }
            out.extend_from_slice(&self.text[start..self.at]);
            match self.text.get(self.at) {
                None => return Err("unterminated string"),
                Some(b'"') => {
                    self.at += 1;
                    // The input is a `str` and escapes add whole characters, so this is UTF-8.
                    return String::from_utf8(out).map_err(|_| "invalid UTF-8");
                }
                Some(b'\\') => {
                    self.at += 1;
                    let escaped = self.text.get(self.at).copied().ok_or("unterminated string")?;
                    self.at += 1;
                    let c = match escaped {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let first = self.hex4()?;
                            let code = if (0xD800..0xDC00).contains(&first) {
                                if !self.text[self.at..].starts_with(b"\\u") {
                                    return Err("lone surrogate in a \\u escape");
                                }
                                self.at += 2;
                                let second = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&second) {
                                    return Err("lone surrogate in a \\u escape");
                                }
                                0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
                            } else {
                                first
                            };
                            char::from_u32(code).ok_or("lone surrogate in a \\u escape")?
                        }
                        _ => return Err("invalid escape"),
                    };
                    out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                }
                Some(_) => return Err("control character in a string"),
            }
        }
    }
}

/// A type read from JSON. Derive it (`#[derive(FromJson)]`) for structs and unit enums.
pub trait FromJson: Sized {
    /// Reads `value`.
    fn from_json(value: &Json) -> Result<Self, JsonError>;

    /// The value of a member that is absent: only `Option`s have one (`None`), as with serde.
    fn missing() -> Option<Self> {
        None
    }

    /// A stand-in for a member that could not be read, so a derived reader reads every member without returning
    /// early (each early return dropped the members read so far: code per member, per type) and reports the first
    /// error at the end. Never seen outside: the reader's answer is then that error.
    fn fallback() -> Self;
}

/// A type written as JSON. Derive it (`#[derive(ToJson)]`) for structs and unit enums.
pub trait ToJson {
    /// The JSON value.
    fn to_json(&self) -> Json;
}

/// The members of an object (for derived readers).
pub fn object(value: &Json) -> Result<&[(String, Json)], JsonError> {
    match value {
        Json::Object(members) => Ok(members),
        other => Err(JsonError::expected("an object", other)),
    }
}

/// The text of a string (for derived readers).
pub fn string(value: &Json) -> Result<&str, JsonError> {
    match value {
        Json::String(s) => Ok(s),
        other => Err(JsonError::expected("a string", other)),
    }
}

fn member<'a>(object: &'a [(String, Json)], name: &str) -> Option<&'a Json> {
    object.iter().find(|(n, _)| n == name).map(|(_, v)| v)
}

/// Keeps the first error a reader met.
fn note(first: &mut Option<JsonError>, error: JsonError) {
    first.get_or_insert(error);
}

/// `value` as a `T`, or `T`'s fallback with the error noted (for readers).
fn read_or_note<T: FromJson>(value: &Json, name: &str, first: &mut Option<JsonError>) -> T {
    T::from_json(value).unwrap_or_else(|e| {
        note(first, e.within(name));
        T::fallback()
    })
}

/// The member `name` as a `T`; absent, `T`'s missing value, else an error noted in `first` (for derived readers).
pub fn field<T: FromJson>(object: &[(String, Json)], name: &str, first: &mut Option<JsonError>) -> T {
    match member(object, name) {
        Some(value) => read_or_note(value, name, first),
        None => T::missing().unwrap_or_else(|| {
            note(first, JsonError::new(format!("missing field `{name}`")));
            T::fallback()
        }),
    }
}

/// The member `name` as a `T`, or `T::default()` when absent (`#[serde(default)]`).
pub fn field_or_default<T: FromJson + Default>(
    object: &[(String, Json)],
    name: &str,
    first: &mut Option<JsonError>,
) -> T {
    match member(object, name) {
        Some(value) => read_or_note(value, name, first),
        None => T::default(),
    }
}

/// Notes an error naming the first member not in `known` (`#[serde(deny_unknown_fields)]`).
pub fn deny_unknown_fields(object: &[(String, Json)], known: &[&str], first: &mut Option<JsonError>) {
    if let Some((name, _)) = object.iter().find(|(name, _)| !known.contains(&name.as_str())) {
        note(first, JsonError::new(format!("unknown field `{name}`, expected one of {}", known.join(", "))));
    }
}

/// What a derived reader answers: `value`, unless an error was noted.
pub fn finish<T>(value: T, first: Option<JsonError>) -> Result<T, JsonError> {
    match first {
        None => Ok(value),
        Some(error) => Err(error),
    }
}

impl FromJson for String {
    fn from_json(value: &Json) -> Result<Self, JsonError> {
        string(value).map(str::to_string)
    }

    fn fallback() -> Self {
        String::new()
    }
}

impl FromJson for bool {
    fn from_json(value: &Json) -> Result<Self, JsonError> {
        match value {
            Json::Bool(b) => Ok(*b),
            other => Err(JsonError::expected("a boolean", other)),
        }
    }

    fn fallback() -> Self {
        false
    }
}

/// Integers: the number's text must be a whole number in the type's range (`1.0` and `1e3` are not, as with
/// serde_json).
macro_rules! integer {
    ($($t:ty: $what:literal),*) => {$(
        impl FromJson for $t {
            fn from_json(value: &Json) -> Result<Self, JsonError> {
                match value {
                    Json::Number(text) => text.parse().map_err(|_| JsonError::new(format!("expected {}, found {text}", $what))),
                    other => Err(JsonError::expected($what, other)),
                }
            }

            fn fallback() -> Self {
                0
            }
        }

        impl ToJson for $t {
            fn to_json(&self) -> Json {
                Json::Number(self.to_string())
            }
        }
    )*};
}

integer!(u16: "an integer from 0 to 65535", u32: "a whole number from 0", u64: "a whole number from 0", i64: "a whole number");

impl FromJson for f64 {
    fn from_json(value: &Json) -> Result<Self, JsonError> {
        match value {
            Json::Number(text) => Ok(parse_f64(text)),
            other => Err(JsonError::expected("a number", other)),
        }
    }

    fn fallback() -> Self {
        0.0
    }
}

/// A number's text (valid JSON syntax) as the nearest `f64`; beyond its range, infinity as with `str::parse`.
#[cfg(not(target_arch = "wasm32"))]
fn parse_f64(text: &str) -> f64 {
    text.parse().expect("the parser checked the syntax")
}

/// In the browser, by the browser, which rounds the same way: `str::parse::<f64>` brings its own tables (4 KB).
#[cfg(target_arch = "wasm32")]
fn parse_f64(text: &str) -> f64 {
    js_sys::parse_float(text)
}

impl<T: FromJson> FromJson for Option<T> {
    fn from_json(value: &Json) -> Result<Self, JsonError> {
        match value {
            Json::Null => Ok(None),
            value => T::from_json(value).map(Some),
        }
    }

    fn missing() -> Option<Self> {
        Some(None)
    }

    fn fallback() -> Self {
        None
    }
}

impl<T: FromJson> FromJson for Vec<T> {
    fn from_json(value: &Json) -> Result<Self, JsonError> {
        let Json::Array(items) = value else { return Err(JsonError::expected("an array", value)) };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            out.push(T::from_json(item).map_err(|e| e.within_element(i))?);
        }
        Ok(out)
    }

    fn fallback() -> Self {
        Vec::new()
    }
}

/// A string read by `parse`, or an error saying it is not `what`.
fn parsed<T>(value: &Json, parse: fn(&str) -> Option<T>, what: &str) -> Result<T, JsonError> {
    let text = string(value)?;
    parse(text).ok_or_else(|| JsonError::new(format!("not {what}: {text}")))
}

/// What `crate::time::de_utc` reads.
impl FromJson for DateTime<Utc> {
    fn from_json(value: &Json) -> Result<Self, JsonError> {
        parsed(value, crate::time::read_utc, "an RFC 3339 timestamp")
    }

    fn fallback() -> Self {
        DateTime::UNIX_EPOCH
    }
}

/// What `crate::time::de_date` reads.
impl FromJson for NaiveDate {
    fn from_json(value: &Json) -> Result<Self, JsonError> {
        parsed(value, crate::time::read_date, "a date")
    }

    fn fallback() -> Self {
        NaiveDate::MIN
    }
}

impl FromJson for Json {
    fn from_json(value: &Json) -> Result<Self, JsonError> {
        Ok(value.clone())
    }

    fn fallback() -> Self {
        Json::Null
    }
}

impl ToJson for String {
    fn to_json(&self) -> Json {
        Json::String(self.clone())
    }
}

impl ToJson for str {
    fn to_json(&self) -> Json {
        Json::String(self.to_string())
    }
}

impl ToJson for bool {
    fn to_json(&self) -> Json {
        Json::Bool(*self)
    }
}

impl<T: ToJson> ToJson for Option<T> {
    fn to_json(&self) -> Json {
        self.as_ref().map_or(Json::Null, T::to_json)
    }
}

impl<T: ToJson> ToJson for [T] {
    fn to_json(&self) -> Json {
        Json::Array(self.iter().map(T::to_json).collect())
    }
}

impl<T: ToJson> ToJson for Vec<T> {
    fn to_json(&self) -> Json {
        self.as_slice().to_json()
    }
}

impl<T: ToJson + ?Sized> ToJson for &T {
    fn to_json(&self) -> Json {
        (**self).to_json()
    }
}

/// As chrono's `Serialize` writes it: `2021-01-26T20:33:57.722023900Z`.
impl ToJson for DateTime<Utc> {
    fn to_json(&self) -> Json {
        Json::String(self.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
    }
}

/// As chrono's `Serialize` writes it: `2026-11-25`.
impl ToJson for NaiveDate {
    fn to_json(&self) -> Json {
        Json::String(self.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sign_in::AuthSettings;
    use crate::wire::*;
    use serde::{de::DeserializeOwned, Serialize};
    use serde_json::{json, Value};

    #[test]
    fn reads_json_documents() {
        let doc =
            parse(r#" {"a": [1, -2.5e3, true, false, null], "b": "q\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00", "c": {}} "#);
        let Ok(Json::Object(members)) = doc else { panic!("{doc:?}") };
        assert_eq!(members[0].0, "a");
        let nums = Json::Array(vec![
            Json::Number("1".into()),
            Json::Number("-2.5e3".into()),
            Json::Bool(true),
            Json::Bool(false),
            Json::Null,
        ]);
        assert_eq!(members[0].1, nums);
        assert_eq!(members[1].1, Json::String("q\"\\/\u{8}\u{c}\n\r\t\u{e9}\u{1f600}".into()));
        assert_eq!(members[2].1, Json::Object(vec![]));
    }

    #[test]
    fn says_where_a_document_is_broken() {
        let error = |text: &str| parse(text).unwrap_err().to_string();
        assert_eq!(error("{\"a\": 1,\n  \"b\" 2}"), "expected `:` at line 2 column 7");
        assert_eq!(error("[1, 2"), "expected `,` or `]` at line 1 column 6");
        assert_eq!(error(""), "unexpected end of the document at line 1 column 1");
        assert_eq!(error("[01]"), "a number may not start with 0 at line 1 column 4");
        assert_eq!(error("{} x"), "trailing characters at line 1 column 4");
        assert_eq!(error(r#""\ud800""#), "lone surrogate in a \\u escape at line 1 column 8");
        assert_eq!(error("\"a\nb\""), "control character in a string at line 1 column 3");
        assert!(error(&"[".repeat(200)).starts_with("nested too deeply"));
        assert!(parse(&format!("{}{}", "[".repeat(100), "]".repeat(100))).is_ok());
        for bad in ["tru", "nul", "1.", "-", ".5", "1e", "{\"a\"}", "{,}", "[,]", "[1,]", "\"\\x\"", "'a'", "\u{feff}1"]
        {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn errors_name_the_field_that_is_wrong() {
        let error = |text: &str| from_str::<ObservedDevices>(text).unwrap_err().to_string();
        let mut doc = serde_json::to_value(devices()).unwrap();
        doc["value"][1]["lastSeen"] = Value::Null;
        assert_eq!(error(&doc.to_string()), "value[1].lastSeen: expected a string, found null");
        doc["value"][1]["lastSeen"] = json!("yesterday");
        assert_eq!(error(&doc.to_string()), "value[1].lastSeen: not an RFC 3339 timestamp: yesterday");
        doc.as_object_mut().unwrap().remove("ipAddress");
        assert_eq!(error(&doc.to_string()), "missing field `ipAddress`");
        assert_eq!(error("[]"), "expected an object, found an array");
        let status = from_str::<Alert>(&json!({"status": "Closed"}).to_string());
        assert_eq!(status.unwrap_err().to_string(), "missing field `id`");
        let class = from_str::<IpProfile>(&json!({"ipAddress": "1.2.3.4", "addressClass": "odd"}).to_string());
        assert_eq!(class.unwrap_err().to_string(), "addressClass: unknown value \"odd\"");
    }

    fn time(text: &str) -> DateTime<Utc> {
        crate::time::read_utc(text).unwrap()
    }

    fn alert() -> Alert {
        serde_json::from_str(
            r#"{
            "id": "da637472900382838869_1364969609", "incidentId": 1126093, "investigationId": -7,
            "assignedTo": "secop@contoso.com", "severity": "High", "status": "InProgress", "classification": "TruePositive",
            "determination": "Malware", "investigationState": "Running", "detectionSource": "WindowsDefenderAv",
            "detectorId": "17e10bbc", "category": "CommandAndControl", "threatFamilyName": "Emotet",
            "title": "Suspicious \"C2\"\nconnection", "description": "Tab\there, é and 😀, \u0001 control",
            "alertCreationTime": "2021-01-26T20:33:57.7220239Z", "firstEventTime": "2021-01-26T20:31:32Z",
            "lastEventTime": "2021-01-26T20:31:33.123Z", "lastUpdateTime": "2021-01-26T20:33:59+01:00",
            "resolvedTime": null, "machineId": "111e6dd8", "computerDnsName": "temp123.middleeast.corp.microsoft.com",
            "rbacGroupName": "A", "aadTenantId": "a839b112", "threatName": "Trojan:Win32/Emotet",
            "mitreTechniques": ["T1071", "T1105"],
            "relatedUser": {"userName": "temp123", "domainName": "DOMAIN"},
            "comments": [{"comment": "test comment", "createdBy": "secop@contoso.com", "createdTime": "2021-01-26T01:00:37.8404534Z"}],
            "evidence": [{
                "entityType": "Process", "evidenceCreationTime": "2021-01-26T20:33:58.42Z", "sha1": "ff8", "sha256": "e9b",
                "fileName": "cmd.exe", "filePath": "C:\\Windows\\System32", "processId": 5236,
                "processCommandLine": "cmd /c ping 45.77.12.9", "processCreationTime": "2021-01-26T20:31:32.9581596Z",
                "parentProcessId": 4000, "parentProcessFileName": "explorer.exe", "ipAddress": "45.77.12.9",
                "url": "http://x.test/a?b=c", "accountName": "temp123", "domainName": "DOMAIN", "userSid": "S-1-5-21",
                "userPrincipalName": "temp123@contoso.com", "detectionStatus": "Detected"
            }, {"entityType": "Ip", "ipAddress": "2001:db8::1"}]
        }"#,
        )
        .unwrap()
    }

    fn devices() -> ObservedDevices {
        let device = |name: &str, sha1: Option<&str>| ObservedDevice {
            machine_id: format!("m-{name}"),
            computer_dns_name: name.into(),
            last_seen: time("2026-11-24T17:00:00.5Z"),
            connections: 12_000_000_000,
            remote_port: 65535,
            protocol: Some("Tcp".into()),
            action_type: "ConnectionSuccess".into(),
            initiating_process_file_name: Some("curl.exe".into()),
            initiating_process_sha1: sha1.map(str::to_string),
            local_ip: None,
            remote_url: Some("https://x.test/".into()),
        };
        ObservedDevices {
            context: "https://api.security.microsoft.com/api/$metadata#Devices".into(),
            count: 2,
            ip_address: "45.77.12.9".into(),
            from: time("2026-10-25T00:00:00Z"),
            to: time("2026-11-24T23:59:59Z"),
            value: vec![device("fin-lt-0042", Some("d2f1a8")), device("FIN-srv-01", None)],
        }
    }

    /// One document of each shape the app reads, every field set (nulls where a field may be null).
    fn documents() -> Vec<(&'static str, Value)> {
        vec![
            ("alert", serde_json::to_value(alert()).unwrap()),
            ("alerts", serde_json::to_value(Collection::new("Alerts", vec![alert(), alert()])).unwrap()),
            ("devices", serde_json::to_value(devices()).unwrap()),
            ("prevalence", json!({
                "ipAddress": "45.77.12.9", "from": "2026-10-25T00:00:00Z", "to": "2026-11-24T23:59:59Z",
                "organizationPrevalence": 3, "connections": 40, "orgFirstSeen": "2026-10-26T08:00:00Z", "orgLastSeen": null,
                "days": [{"date": "2026-11-23", "devices": 2, "connections": 30}, {"date": "2026-11-24", "devices": 1, "connections": 10}]
            })),
            ("profile", json!({
                "ipAddress": "10.1.2.3", "addressClass": "uniqueLocal",
                "geo": {"organization": "Example", "asn": 64500, "countryCode": "DE", "country": "Germany", "state": "Berlin",
                        "city": "Berlin", "carrier": null, "latitude": 52.52, "longitude": 13.0, "postalCode": "10115"},
                "sources": [{"name": "DB-IP", "date": "2026-11", "license": "CC BY 4.0", "url": "https://db-ip.com"},
                            {"name": "none", "date": null, "license": "", "url": ""}]
            })),
            ("machine", json!({
                "id": "1e5bc9d7", "computerDnsName": "mymachine1.contoso.com", "firstSeen": "2018-08-02T14:55:03.7791856Z",
                "lastSeen": "2018-08-02T14:55:03.7791856Z", "osPlatform": "Windows10", "version": "1709", "osBuild": 18209,
                "osArchitecture": "64-bit", "lastIpAddress": "172.17.230.209", "lastExternalIpAddress": "167.220.196.71",
                "healthStatus": "Active", "riskScore": "Low", "exposureLevel": "Medium", "deviceValue": "Normal",
                "rbacGroupId": 140, "rbacGroupName": "The-A-Team", "onboardingStatus": "Onboarded", "isAadJoined": true,
                "aadDeviceId": "80fe8ff8", "machineTags": ["test tag 1"],
                "ipAddresses": [{"ipAddress": "172.17.230.209", "macAddress": "00-15-5D-04-A7-44", "operationalStatus": "Up"}]
            })),
            ("connections", serde_json::to_value(Collection::new("Connections", vec![json!({
                "remoteIp": "45.77.12.9", "lastSeen": "2026-11-24T17:00:00Z", "connections": 3, "remotePort": 443,
                "protocol": "Tcp", "actionType": "ConnectionSuccess", "initiatingProcessFileName": null, "remoteUrl": "x.test"
            })])).unwrap()),
            ("ips", json!({"@odata.context": "x#Ips", "value": [{"id": "45.77.12.9"}, {"id": "::1"}]})),
            ("stats", json!({"@odata.context": "x", "ipAddress": "45.77.12.9", "organizationPrevalence": 7,
                "orgFirstSeen": "2026-10-26T08:00:00Z", "orgLastSeen": "2026-11-26T08:00:00Z"})),
            ("error", json!({"error": {"code": "NotFound", "message": "No such \"device\"", "target": "req-1"}})),
            ("me", json!({"name": "analyst", "permissions": ["Ip.Read.All"], "deviceGroups": ["Finance", "HR"]})),
            ("auth", json!({"type": "oidc", "issuer": "https://login.test/", "clientId": "ipscope", "scope": "openid"})),
        ]
    }

    /// serde_json's reading and this module's agree on `doc`: the same value, or both refuse it.
    fn same_reading<T: DeserializeOwned + FromJson + PartialEq + std::fmt::Debug>(doc: &Value) -> Result<(), String> {
        let text = doc.to_string();
        match (serde_json::from_str::<T>(&text), from_str::<T>(&text)) {
            (Ok(a), Ok(b)) if a == b => Ok(()),
            (Err(_), Err(_)) => Ok(()),
            // serde also reads a struct from an array of its fields in order; no API writes one, and here it is
            // refused.
            (Ok(_), Err(e)) if e.message == "expected an object, found an array" => Ok(()),
            (a, b) => Err(format!("serde: {a:?}\n json: {b:?}\n  doc: {text}")),
        }
    }

    fn reading_agrees(kind: &str, doc: &Value) -> Result<(), String> {
        match kind {
            "alert" => same_reading::<Alert>(doc),
            "alerts" => same_reading::<Collection<Alert>>(doc),
            "devices" => same_reading::<ObservedDevices>(doc),
            "prevalence" => same_reading::<Prevalence>(doc),
            "profile" => same_reading::<IpProfile>(doc),
            "machine" => same_reading::<Machine>(doc),
            "connections" => same_reading::<Collection<DeviceConnection>>(doc),
            "ips" => same_reading::<Collection<IpRef>>(doc),
            "stats" => same_reading::<IpStats>(doc),
            "error" => same_reading::<ErrorResponse>(doc),
            "me" => same_reading::<Me>(doc),
            "auth" => same_reading::<AuthSettings>(doc),
            other => panic!("no type for {other}"),
        }
    }

    /// Every way to damage `doc` one member or element at a time: remove it, or replace it with each of a set of
    /// values of other types and ranges, at every depth.
    fn damaged(doc: &Value) -> Vec<Value> {
        let replacements = [
            Value::Null,
            json!(true),
            json!(0),
            json!(-1),
            json!(70000),
            json!(1.5),
            json!(""),
            json!("High"),
            json!("2026-11-24"),
            json!("2026-11-24T17:00:00Z"),
            json!([]),
            json!({}),
        ];
        let mut out = Vec::new();
        match doc {
            Value::Object(members) => {
                for (name, value) in members {
                    let mut without = members.clone();
                    without.remove(name);
                    out.push(Value::Object(without));
                    for replacement in replacements.iter().chain(damaged(value).iter()) {
                        let mut changed = members.clone();
                        changed.insert(name.clone(), replacement.clone());
                        out.push(Value::Object(changed));
                    }
                }
            }
            Value::Array(items) if !items.is_empty() => {
                for replacement in replacements.iter().chain(damaged(&items[0]).iter()) {
                    let mut changed = items.clone();
                    changed[0] = replacement.clone();
                    out.push(Value::Array(changed));
                }
            }
            _ => {}
        }
        out
    }

    #[test]
    fn reads_what_serde_reads_and_refuses_what_it_refuses() {
        let mut failures = Vec::new();
        let mut checked = 0;
        for (kind, doc) in documents() {
            for variant in std::iter::once(doc.clone()).chain(damaged(&doc)) {
                checked += 1;
                if let Err(e) = reading_agrees(kind, &variant) {
                    failures.push(format!("{kind}: {e}"));
                }
            }
        }
        assert!(checked > 2500, "only {checked} documents");
        assert!(
            failures.is_empty(),
            "{} of {checked} differ, first:\n{}",
            failures.len(),
            failures[..3.min(failures.len())].join("\n")
        );
    }

    #[test]
    fn the_config_file_refuses_unknown_fields_as_serde_does() {
        #[derive(Debug, PartialEq, serde::Deserialize, FromJson)]
        #[serde(rename_all = "camelCase", deny_unknown_fields)]
        struct Config {
            api_base_url: Option<String>,
            #[serde(default)]
            frame_ancestors: Vec<String>,
        }
        for doc in [
            json!({"apiBaseUrl": "api/"}),
            json!({}),
            json!({"apiBaseUrl": "x", "frameAncestors": ["a"]}),
            json!({"apiBase": "x"}),
        ] {
            same_reading::<Config>(&doc).unwrap();
        }
        let e = from_str::<Config>(r#"{"apiBase": "x"}"#).unwrap_err();
        assert_eq!(e.to_string(), "unknown field `apiBase`, expected one of apiBaseUrl, frameAncestors");
    }

    fn same_writing<T: Serialize + ToJson + ?Sized>(value: &T) {
        assert_eq!(to_string_pretty(value), serde_json::to_string_pretty(value).unwrap());
        assert_eq!(to_string(value), serde_json::to_string(value).unwrap());
    }

    #[test]
    fn writes_what_serde_writes() {
        let mut sparse = alert();
        sparse.evidence[0] = Evidence { entity_type: "File".into(), ..Evidence::default() };
        sparse.related_user = None;
        sparse.comments.clear();
        sparse.mitre_techniques.clear();
        same_writing(&vec![alert(), sparse]);
        same_writing(&devices().value);
        same_writing(&devices());
        same_writing::<[Alert]>(&[]);
        let connection = DeviceConnection {
            remote_ip: "::1".into(),
            last_seen: time("2026-11-24T17:00:00.000123Z"),
            connections: 0,
            remote_port: 0,
            protocol: None,
            action_type: "\u{7f}\u{1f}\\".into(),
            initiating_process_file_name: None,
            remote_url: None,
        };
        same_writing(&Collection::new("Connections", vec![connection]));
    }
}
