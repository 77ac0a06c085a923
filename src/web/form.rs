//! Reading request bodies: URL-encoded forms (with repeated fields, and per-field UTF-8 checks)
//! and JSON, each behind a content-type check and the body size limit.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::{header, HeaderMap};

use super::AppError;

/// Form field name and its value, `Err(())` when the value's bytes were not UTF-8.
pub type Pairs = Vec<(String, Result<String, ()>)>;

/// The first readable value of field `name`, trimmed; None when absent or not UTF-8.
pub fn first<'a>(pairs: &'a Pairs, name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .filter(|(k, _)| k == name)
        .find_map(|(_, v)| v.as_deref().ok())
        .map(str::trim)
}

/// The fields of a URL's query string (`RawQuery`), read like a form: a malformed query gives
/// what could be read, never an error page.
pub fn query(raw: Option<String>) -> Pairs {
    parse_urlencoded(raw.unwrap_or_default().as_bytes())
}

/// The fields of a URL-encoded form body, after the content-type and size checks.
pub fn urlencoded(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    limit: usize,
) -> Result<Pairs, AppError> {
    if !content_type_is(headers, "application/x-www-form-urlencoded") {
        return Err(AppError::UnsupportedMediaType(
            "Send the form as application/x-www-form-urlencoded.",
        ));
    }
    Ok(parse_urlencoded(&checked_body(body, limit)?))
}

/// A JSON body, after the content-type, size and syntax checks.
pub fn json(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    limit: usize,
) -> Result<serde_json::Value, AppError> {
    if !content_type_is(headers, "application/json") {
        return Err(AppError::UnsupportedMediaType(
            "Send the body as application/json.",
        ));
    }
    serde_json::from_slice(&checked_body(body, limit)?).map_err(|e| {
        AppError::field(
            "body",
            format!("The body is not valid JSON ({e}). Send one JSON object."),
        )
    })
}

fn content_type_is(headers: &HeaderMap, expected: &str) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(expected))
}

fn checked_body(body: Result<Bytes, BytesRejection>, limit: usize) -> Result<Bytes, AppError> {
    body.map_err(|e| {
        if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            AppError::PayloadTooLarge(format!(
                "The submission is too large: the limit is {} KB.",
                limit / 1024
            ))
        } else {
            AppError::Internal(anyhow::anyhow!("reading body: {e}"))
        }
    })
}

/// `name=value` pairs in order. A value whose bytes are not UTF-8 is `Err(())` so the caller can
/// name the field; a name that is not UTF-8 cannot be any of our fields and is dropped.
pub fn parse_urlencoded(body: &[u8]) -> Pairs {
    body.split(|b| *b == b'&')
        .filter(|part| !part.is_empty())
        .filter_map(|part| {
            let mut kv = part.splitn(2, |b| *b == b'=');
            let name = String::from_utf8(decode(kv.next().unwrap_or_default())).ok()?;
            let value = String::from_utf8(decode(kv.next().unwrap_or_default())).map_err(|_| ());
            Some((name, value))
        })
        .collect()
}

fn decode(raw: &[u8]) -> Vec<u8> {
    let plus_as_space: Vec<u8> = raw
        .iter()
        .map(|b| if *b == b'+' { b' ' } else { *b })
        .collect();
    percent_encoding::percent_decode(&plus_as_space).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_repeated_fields_and_flags_bad_utf8() {
        let pairs =
            parse_urlencoded(b"languages=en&languages=sv&full_name=Ana+L%C3%B6f&email=%FF%FE&&x");
        assert_eq!(pairs[0], ("languages".into(), Ok("en".into())));
        assert_eq!(pairs[1], ("languages".into(), Ok("sv".into())));
        assert_eq!(pairs[2], ("full_name".into(), Ok("Ana Löf".into())));
        assert_eq!(pairs[3], ("email".into(), Err(())));
        assert_eq!(pairs[4], ("x".into(), Ok(String::new())));
    }
}
