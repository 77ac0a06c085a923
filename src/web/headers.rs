//! Headers every response carries, and the request id a client may send.

use axum::extract::{Request, State};
use axum::http::{header, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

/// Scripts and styles come only from this site (`/static/app.js`, `/static/app.css`): no
/// inline script or style, no framing, forms post only here.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; \
    object-src 'none'";

/// Paths whose URL holds a secret (an applicant's link).
fn tokened(path: &str) -> bool {
    [
        "/verify/",
        "/status/",
        "/quiz/",
        "/links/",
        "/offer/",
        "/unsubscribe/",
    ]
    .iter()
    .any(|p| path.starts_with(p))
}

/// Pages never to be cached: those with a secret in the URL, and those with a person's data
/// (staff pages, the signup receipt, the API).
fn private(path: &str) -> bool {
    tokened(path)
        || ["/admin", "/apply/thanks", "/api/"]
            .iter()
            .any(|p| path.starts_with(p))
}

/// Whether the site is served over HTTPS (then browsers are told to keep to it).
#[derive(Clone, Copy)]
pub struct Https(pub bool);

pub async fn security_headers(State(https): State<Https>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let (private, tokened) = (private(path), tokened(path));
    let mut r = next.run(req).await;
    let h = r.headers_mut();
    // A response that sets its own (the email preview's frame, stricter in what it runs) keeps
    // it; every other gets the site's.
    h.entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(CSP));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.entry(header::X_FRAME_OPTIONS)
        .or_insert(HeaderValue::from_static("DENY"));
    // A URL with a token is never sent on, not even within the site. Other pages tell only
    // this site where the visitor came from: `no-referrer` there would make browsers send
    // `Origin: null` with their forms, which the staff pages' cross-site check refuses.
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static(if tokened {
            "no-referrer"
        } else {
            "same-origin"
        }),
    );
    if private {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if https.0 {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    r
}

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Keeps a client's `x-request-id` only when it is a UUID, so a client cannot write what it
/// likes into the logs; otherwise a fresh one is made.
pub async fn only_uuid_request_ids(mut req: Request, next: Next) -> Response {
    let valid = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| uuid::Uuid::parse_str(v).is_ok());
    if !valid {
        req.headers_mut().remove(&REQUEST_ID);
    }
    next.run(req).await
}
