//! Plain types and rules: no web framework, no SQL. Values here are parsed once at the edge, so the
//! rest of the code cannot hold an invalid one.

pub mod applicants;
pub mod application;
pub mod cohorts;
pub mod email;
pub mod iso;
pub mod pipeline;
pub mod quality;
pub mod quiz;
pub mod reports;
pub mod screening;
pub mod staff;
pub mod time;
pub mod timeline;
pub mod token;
pub mod webhooks;

use chrono::{DateTime, SubsecRound, Utc};

/// The system clock at the precision both engines store. The app itself reads the time from its
/// `Clock` (`db.now()`), so tests can move it; this is for tests and benchmarks that stand
/// outside an app.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// Per-field messages for rejected input, in field order so the error summary is stable.
pub type FieldErrors = std::collections::BTreeMap<String, Vec<String>>;

pub fn add_error(errors: &mut FieldErrors, field: &str, message: impl Into<String>) {
    errors
        .entry(field.to_string())
        .or_default()
        .push(message.into());
}
