//! Admins only: staff accounts (invite by email, change a role, deactivate) and the audit log.
//! Invitations are accepted on a public page with the single-use link from the email.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{json, Value};
use uuid::Uuid;

use super::{field, Staff};
use crate::domain::email::EmailAddress;
use crate::domain::staff::Role;
use crate::domain::token::hash_token;
use crate::domain::{add_error, FieldErrors};
use crate::store::{audit, users};
use crate::usecases::staff::{self as accounts, AccountRefusal};
use crate::web::pages::{self, errors_context};
use crate::web::{form, listing, AppError, AppState, PageError};

const ROLES: [Role; 3] = [Role::Recruiter, Role::Manager, Role::Admin];

fn role_options(current: &str) -> Vec<Value> {
    ROLES
        .iter()
        .map(|r| json!({ "value": r.as_str(), "selected": r.as_str() == current }))
        .collect()
}

/// `GET /admin/users`.
pub async fn users_page(
    staff: Staff,
    State(s): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Response, PageError> {
    let notice = match field(&form::query(q), "done") {
        "invited" => Some("Invitation sent. The link in it works once, for 72 hours."),
        "role" => Some("Role changed."),
        "disabled" => Some("Account deactivated; its sessions have ended."),
        _ => None,
    };
    users_view(
        &staff,
        &s,
        StatusCode::OK,
        notice,
        &FieldErrors::new(),
        json!({}),
    )
    .await
}

async fn users_view(
    staff: &Staff,
    s: &AppState,
    status: StatusCode,
    notice: Option<&str>,
    errors: &FieldErrors,
    sent: Value,
) -> Result<Response, PageError> {
    let rows: Vec<Value> = users::list(&s.db)
        .await?
        .iter()
        .map(|u| {
            let state = if u.disabled_at.is_some() {
                "Deactivated"
            } else if u.invited_at.is_some() {
                "Invited"
            } else {
                "Active"
            };
            json!({
                "id": u.id,
                "email": u.email,
                "role": u.role,
                "roles": role_options(&u.role),
                "state": state,
                "active": u.disabled_at.is_none(),
                "me": u.id == staff.id,
                "created": staff.time(u.created_at),
            })
        })
        .collect();
    let (summary, fe) = errors_context(errors);
    let email = sent.get("email").and_then(Value::as_str).unwrap_or("");
    let role = sent
        .get("role")
        .and_then(Value::as_str)
        .unwrap_or("recruiter");
    Ok(staff.page(
        status,
        "admin_users",
        &pages::form_title("Staff accounts", errors),
        "users",
        json!({
            "rows": rows, "notice": notice, "errors": summary, "fe": fe,
            "email": email, "invite_roles": role_options(role),
        }),
    ))
}

fn refused(e: AccountRefusal) -> Result<FieldErrors, PageError> {
    match e {
        AccountRefusal::Field(f, m) => {
            let mut errors = FieldErrors::new();
            add_error(&mut errors, f, m);
            Ok(errors)
        }
        AccountRefusal::Store(crate::store::StoreError::NotFound) => Err(PageError(
            AppError::NotFound("There is no such staff account."),
        )),
        AccountRefusal::Store(e) => Err(e.into()),
    }
}

/// `POST /admin/users`: invites someone.
pub async fn invite(
    staff: Staff,
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PageError> {
    let pairs = form::urlencoded(&headers, body, s.settings.max_body_bytes)?;
    let raw_email = field(&pairs, "email");
    let raw_role = field(&pairs, "role");
    let mut errors = FieldErrors::new();
    let email = match EmailAddress::parse(raw_email) {
        Ok(e) => Some(e),
        Err(m) => {
            add_error(&mut errors, "email", m);
            None
        }
    };
    let role = Role::parse(raw_role);
    if role.is_none() {
        add_error(&mut errors, "role", "Choose recruiter, manager or admin.");
    }
    if let (Some(email), Some(role), true) = (email, role, errors.is_empty()) {
        match accounts::invite(&s.db, &format!("staff:{}", staff.id), &email, role).await {
            Ok(_) => return Ok(Redirect::to("/admin/users?done=invited").into_response()),
            Err(e) => errors = refused(e)?,
        }
    }
    let sent = json!({ "email": raw_email, "role": raw_role });
    users_view(
        &staff,
        &s,
        StatusCode::UNPROCESSABLE_ENTITY,
        None,
        &errors,
        sent,
    )
    .await
}

fn user_id(id: &str) -> Result<Uuid, PageError> {
    id.parse()
        .map_err(|_| PageError(AppError::NotFound("There is no such staff account.")))
}

/// `POST /admin/users/{id}/role`.
pub async fn set_role(
    staff: Staff,
    State(s): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PageError> {
    let id = user_id(&id)?;
    let pairs = form::urlencoded(&headers, body, s.settings.max_body_bytes)?;
    let errors = match Role::parse(field(&pairs, "role")) {
        None => {
            let mut e = FieldErrors::new();
            add_error(&mut e, "role", "Choose recruiter, manager or admin.");
            e
        }
        Some(role) => {
            match accounts::set_role(&s.db, &format!("staff:{}", staff.id), id, role).await {
                Ok(()) => return Ok(Redirect::to("/admin/users?done=role").into_response()),
                Err(e) => refused(e)?,
            }
        }
    };
    users_view(&staff, &s, StatusCode::CONFLICT, None, &errors, json!({})).await
}

/// `POST /admin/users/{id}/disable`: deactivates, ending the account's sessions at once.
pub async fn deactivate(
    staff: Staff,
    State(s): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PageError> {
    let pairs = form::urlencoded(&headers, body, s.settings.max_body_bytes)?;
    let id = user_id(&id)?;
    let email = users::emails_by_id(&s.db)
        .await?
        .remove(&id)
        .unwrap_or_default();
    let title = format!("Deactivate {email}?");
    let what = format!(
        "{email} can no longer sign in, and their sessions end now. What they did stays in the \
         audit log under their name."
    );
    let button = format!("Yes, deactivate {email}");
    let ask = super::Confirm {
        title: &title,
        what: &what,
        button: &button,
        action: &format!("/admin/users/{id}/disable"),
        back: "/admin/users",
        section: "users",
    };
    if let Some(page) = staff.confirm_first(&pairs, ask) {
        return Ok(page);
    }
    match accounts::deactivate(&s.db, staff.id, id).await {
        Ok(_) => Ok(Redirect::to("/admin/users?done=disabled").into_response()),
        Err(e) => {
            let errors = refused(e)?;
            users_view(&staff, &s, StatusCode::CONFLICT, None, &errors, json!({})).await
        }
    }
}

/// `GET /admin/audit`: the audit log, newest first, with filters.
pub async fn audit_page(
    staff: Staff,
    State(s): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Response, PageError> {
    let pairs = form::query(q);
    let (filter, errors) = match listing::audit_filter(&pairs) {
        Ok(f) => (f, FieldErrors::new()),
        Err(e) => (
            audit::Filter {
                limit: 100,
                ..audit::Filter::default()
            },
            e,
        ),
    };
    let rows = audit::list(&s.db, &filter).await?;
    let next = listing::audit_next(&rows, filter.limit).map(|c| {
        let mut keep: Vec<(&str, String)> = ["actor", "action", "subject", "from", "to"]
            .iter()
            .filter_map(|k| form::first(&pairs, k).map(|v| (*k, v.to_string())))
            .filter(|(_, v)| !v.is_empty())
            .collect();
        keep.push(("after", c));
        format!("/admin/audit?{}", listing::query_string(&keep))
    });
    // Staff by their address, not their id.
    let staff_emails = users::emails_by_id(&s.db).await?;
    let actor_name = |actor: &str| -> String {
        actor
            .strip_prefix("staff:")
            .and_then(|id| id.parse::<Uuid>().ok())
            .and_then(|id| staff_emails.get(&id).cloned())
            .unwrap_or_else(|| actor.to_string())
    };
    let items: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "at": staff.time(r.at),
                "actor": actor_name(&r.actor),
                "action": r.action,
                "subject": r.subject,
                "subject_link": r.subject.strip_prefix("application:")
                    .map(|id| format!("/admin/applicants/{id}")),
                "before": r.before,
                "after": r.after,
            })
        })
        .collect();
    let (summary, fe) = errors_context(&errors);
    let value = |k: &str| field(&pairs, k).to_string();
    Ok(staff.page(
        if errors.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        },
        "admin_audit",
        &pages::form_title("Audit log", &errors),
        "audit",
        json!({
            "rows": items, "next": next, "errors": summary, "fe": fe,
            "actor": value("actor"), "action": value("action"), "subject": value("subject"),
            // The date picker shows a day; an instant given in the URL shows its day.
            "from": value("from").chars().take(10).collect::<String>(),
            "to": value("to").chars().take(10).collect::<String>(),
        }),
    ))
}

const INVITE_GONE: &str =
    "This invitation link has been used or has expired. Ask an admin to invite you again.";

/// `GET /admin/invite/{token}`: the form to choose a password.
pub async fn invite_form(
    State(s): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, PageError> {
    match users::invite_user(&s.db, &hash_token(&token), s.db.now()).await? {
        Some((_, email)) => Ok(invite_page(
            StatusCode::OK,
            &token,
            &email,
            &FieldErrors::new(),
        )),
        None => Ok(pages::error_page(StatusCode::NOT_FOUND, INVITE_GONE)),
    }
}

fn invite_page(status: StatusCode, token: &str, email: &str, errors: &FieldErrors) -> Response {
    let (summary, fe) = errors_context(errors);
    pages::render(
        status,
        "admin_invite",
        &pages::form_title("Choose your password", errors),
        json!({
            "token": token, "email": email, "errors": summary, "fe": fe,
            "min_len": crate::domain::staff::MIN_PASSWORD_LEN,
        }),
    )
}

/// `POST /admin/invite/{token}`: sets the password (once), then on to sign in.
pub async fn accept_invite(
    State(s): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PageError> {
    let hash = hash_token(&token);
    let Some((user, email)) = users::invite_user(&s.db, &hash, s.db.now()).await? else {
        return Ok(pages::error_page(StatusCode::NOT_FOUND, INVITE_GONE));
    };
    let pairs = form::urlencoded(&headers, body, s.settings.max_body_bytes)?;
    let [new, confirm] = ["new", "confirm"].map(|f| super::untrimmed(&pairs, f));
    let mut errors = FieldErrors::new();
    let min = crate::domain::staff::MIN_PASSWORD_LEN;
    if new.chars().count() < min {
        add_error(
            &mut errors,
            "new",
            format!("Choose a password of at least {min} characters."),
        );
    }
    if confirm != new {
        add_error(&mut errors, "confirm", "Type the same password again.");
    }
    if !errors.is_empty() {
        return Ok(invite_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            &token,
            &email,
            &errors,
        ));
    }
    match accounts::accept_invite(&s.db, &hash, user, &new).await {
        Ok(true) => Ok(Redirect::to("/admin/login?invited=1").into_response()),
        Ok(false) => Ok(pages::error_page(StatusCode::NOT_FOUND, INVITE_GONE)),
        Err(e) => Err(match e {
            AccountRefusal::Store(e) => e.into(),
            AccountRefusal::Field(_, m) => PageError(AppError::Internal(anyhow::anyhow!(m))),
        }),
    }
}
