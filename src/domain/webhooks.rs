//! Webhooks: the events an integration can subscribe to, the rules for registering an
//! endpoint, and the signature every delivery carries.

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

use super::{add_error, FieldErrors};

/// The events, and what each reports.
pub const EVENTS: [(&str, &str); 4] = [
    ("agent.activated", "A cohort member went live"),
    ("agent.paused", "A live agent was paused"),
    ("agent.offboarded", "An agent was offboarded"),
    (
        "application.stage_changed",
        "An application moved to another stage",
    ),
];

pub const URL_MAX: usize = 2000;
pub const SECRET_MIN: usize = 16;
pub const SECRET_MAX: usize = 200;

/// A registration that passed the checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWebhook {
    pub url: String,
    pub secret: String,
    pub events: Vec<String>,
}

/// Checks `{url, secret, events}` and names each wrong field. The URL is http or https, with
/// a host and no user or password in it; the secret is 16 to 200 visible characters; the
/// events are one or more of `EVENTS` (each once).
pub fn parse_webhook(body: &Value) -> Result<NewWebhook, FieldErrors> {
    let mut errors = FieldErrors::new();
    if !body.is_object() {
        add_error(&mut errors, "body", "Send the webhook as a JSON object.");
        return Err(errors);
    }
    let text = |field: &str| body.get(field).and_then(Value::as_str).unwrap_or("");
    let url = text("url").trim().to_string();
    let parsed = url::Url::parse(&url).ok();
    // As written, not only as parsed: the parser would also take `https:///x` or a backslash.
    let written = url
        .split_once("://")
        .is_some_and(|(_, rest)| rest.starts_with(|c: char| c.is_ascii_alphanumeric()))
        && !url.contains(|c: char| c.is_whitespace() || c == '\\');
    let url_ok = written
        && url.len() <= URL_MAX
        && parsed.as_ref().is_some_and(|u| {
            matches!(u.scheme(), "http" | "https")
                && u.host_str().is_some_and(host_name)
                && u.port() != Some(0)
                && u.username().is_empty()
                && u.password().is_none()
        });
    if !url_ok {
        add_error(
            &mut errors,
            "url",
            format!(
                "Give the endpoint as an http or https URL of at most {URL_MAX} characters, \
                 without a user name or password in it, such as https://hooks.example.com/onramp."
            ),
        );
    }
    let secret = text("secret").to_string();
    let n = secret.chars().count();
    if !(SECRET_MIN..=SECRET_MAX).contains(&n) || secret.chars().any(char::is_whitespace) {
        add_error(
            &mut errors,
            "secret",
            format!(
                "Give a secret of {SECRET_MIN} to {SECRET_MAX} characters without spaces, such \
                 as the output of `openssl rand -hex 32`."
            ),
        );
    }
    let mut events: Vec<String> = Vec::new();
    match body.get("events").and_then(Value::as_array) {
        Some(list) if !list.is_empty() => {
            for e in list {
                match e.as_str() {
                    Some(name) if EVENTS.iter().any(|(k, _)| *k == name) => {
                        if !events.iter().any(|x| x == name) {
                            events.push(name.to_string());
                        }
                    }
                    _ => {
                        add_error(
                            &mut errors,
                            "events",
                            format!(
                                "{e} is not an event; choose from: {}.",
                                EVENTS.map(|(k, _)| k).join(", ")
                            ),
                        );
                    }
                }
            }
        }
        _ => add_error(
            &mut errors,
            "events",
            format!(
                "Give events as a list of one or more of: {}.",
                EVENTS.map(|(k, _)| k).join(", ")
            ),
        ),
    }
    if errors.is_empty() {
        Ok(NewWebhook {
            url,
            secret,
            events,
        })
    } else {
        Err(errors)
    }
}

/// A host name or IPv4 address as the schema states it: dot-separated labels of letters,
/// digits and inner hyphens.
fn host_name(host: &str) -> bool {
    host.split('.').all(|label| {
        let b = label.as_bytes();
        !b.is_empty()
            && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
            && b[0] != b'-'
            && b[b.len() - 1] != b'-'
    })
}

/// `sha256=<hex>`: HMAC-SHA256 with `secret` over `timestamp + "." + body`, the value of the
/// `X-Onramp-Signature` header.
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_signature_is_hmac_sha256_over_timestamp_dot_body() {
        // Expected values computed with Python's hmac module.
        assert_eq!(
            signature("Jefe", 0, "what do ya want for nothing?"),
            "sha256=37f471929915ccd2cbbe79feb84ffcff4f2bb25e15fc41c2506687331ae179cc"
        );
        assert_eq!(
            signature(
                "whsec_test_0123456789",
                1_767_225_600,
                r#"{"event":"agent.activated"}"#
            ),
            "sha256=6f6dbdbdd5a1c421a9c73dee9829003971c6262163fff1edb256da09a929c6c0"
        );
    }

    #[test]
    fn a_registration_names_each_wrong_field() {
        let ok = parse_webhook(&json!({
            "url": "https://hooks.example.com/onramp", "secret": "0123456789abcdef",
            "events": ["agent.activated", "agent.activated", "application.stage_changed"],
        }))
        .unwrap();
        assert_eq!(ok.events, ["agent.activated", "application.stage_changed"]);
        for (body, field) in [
            (
                json!({ "url": "ftp://x.example", "secret": "0123456789abcdef", "events": ["agent.paused"] }),
                "url",
            ),
            (
                json!({ "url": "https://u:p@x.example", "secret": "0123456789abcdef", "events": ["agent.paused"] }),
                "url",
            ),
            (
                json!({ "url": "not a url", "secret": "0123456789abcdef", "events": ["agent.paused"] }),
                "url",
            ),
            (
                json!({ "url": "https://x.example", "secret": "short", "events": ["agent.paused"] }),
                "secret",
            ),
            (
                json!({ "url": "https://x.example", "secret": "0123456789 abcdef", "events": ["agent.paused"] }),
                "secret",
            ),
            (
                json!({ "url": "https://x.example", "secret": "0123456789abcdef", "events": [] }),
                "events",
            ),
            (
                json!({ "url": "https://x.example", "secret": "0123456789abcdef", "events": ["agent.hired"] }),
                "events",
            ),
            (
                json!({ "url": "https://x.example", "secret": "0123456789abcdef" }),
                "events",
            ),
        ] {
            let e = parse_webhook(&body).unwrap_err();
            assert_eq!(e.keys().collect::<Vec<_>>(), [field], "{body}");
        }
    }
}
