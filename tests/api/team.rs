//! Admins manage staff accounts (invitations by email with a single-use link, roles,
//! deactivation) and read the audit log; nobody else may.

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invited_recruiter_sets_a_password_once_and_signs_in() {
    let app = spawn_app().await;
    app.staff_user("ada@onramp.test", "admin").await;
    let ada = app.sign_in("ada@onramp.test").await;
    // Bad input is named, and stores nothing.
    for (fields, problem) in [
        (
            vec![
                ("email", "not-an-address".to_string()),
                ("role", "recruiter".to_string()),
            ],
            "email",
        ),
        (
            vec![
                ("email", "new@onramp.test".to_string()),
                ("role", "boss".to_string()),
            ],
            "Choose recruiter, manager or admin",
        ),
        (
            vec![
                ("email", "ada@onramp.test".to_string()),
                ("role", "recruiter".to_string()),
            ],
            "already exists",
        ),
    ] {
        let r = app.post_as(&ada, "/admin/users", &fields).await;
        assert_eq!(r.status(), 422);
        let html = r.text().await.unwrap();
        assert!(html.contains(problem), "{problem}: {html}");
    }
    assert_eq!(app.count("users").await, 1);

    let fields = [
        ("email", "new@onramp.test".to_string()),
        ("role", "recruiter".to_string()),
    ];
    let r = app.post_as(&ada, "/admin/users", &fields).await;
    assert_eq!(r.status(), 303);
    let page = app
        .get_as(&ada, "/admin/users?done=invited")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("new@onramp.test") && page.contains("Invited"),
        "{page}"
    );
    // The invited account cannot sign in with anything before the link is used.
    assert_eq!(
        app.login("new@onramp.test", PASSWORD, None).await.status(),
        422
    );
    app.drain().await;
    let received = app.received();
    let mail = mail_to(&received, "new@onramp.test");
    assert_eq!(mail.len(), 1);
    let url = link(mail[0], &app.base, "/admin/invite/").expect("invitation link");
    let path = &url[app.base.len()..];
    let r = app.get(path).await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("Choose your password"));
    let short = [
        ("new", "short".to_string()),
        ("confirm", "short".to_string()),
    ];
    let r = app.post_form(path, encode(&short)).await;
    assert_eq!(r.status(), 422);
    let good = [
        ("new", "a long enough new password".to_string()),
        ("confirm", "a long enough new password".to_string()),
    ];
    let r = app.post_form(path, encode(&good)).await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/admin/login?invited=1");
    // Once only.
    assert_eq!(app.post_form(path, encode(&good)).await.status(), 404);
    assert_eq!(app.get(path).await.status(), 404);
    let r = app
        .login("new@onramp.test", "a long enough new password", None)
        .await;
    assert_eq!(r.status(), 303);
    let actions: Vec<String> = onramp::on_db!(&app.db, p => sqlx::query_scalar(
        "SELECT action FROM audit_log WHERE action LIKE 'staff.%' ORDER BY at, id").fetch_all(p).await)
    .unwrap();
    assert!(actions.contains(&"staff.invite".to_string()), "{actions:?}");
    assert!(
        actions.contains(&"staff.accept_invite".to_string()),
        "{actions:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_change_and_deactivation_ends_sessions_but_the_last_admin_stays() {
    let app = spawn_app().await;
    app.staff_user("ada@onramp.test", "admin").await;
    app.staff_user("rita@onramp.test", "recruiter").await;
    let ada = app.sign_in("ada@onramp.test").await;
    let rita = app.sign_in("rita@onramp.test").await;
    let ids: Vec<(String, uuid::Uuid)> = onramp::on_db!(&app.db, p => sqlx::query_as(
        "SELECT email, id FROM users").fetch_all(p).await)
    .unwrap();
    let id_of = |email: &str| ids.iter().find(|(e, _)| e == email).unwrap().1;
    let (ada_id, rita_id) = (id_of("ada@onramp.test"), id_of("rita@onramp.test"));
    assert_eq!(app.get_as(&rita, "/admin/questions").await.status(), 200);
    // A recruiter may not manage staff or read the audit log.
    assert_eq!(app.get_as(&rita, "/admin/users").await.status(), 403);
    assert_eq!(app.get_as(&rita, "/admin/audit").await.status(), 403);
    let r = app
        .post_as(
            &rita,
            &format!("/admin/users/{rita_id}/role"),
            &[("role", "admin".to_string())],
        )
        .await;
    assert_eq!(r.status(), 403);

    let r = app
        .post_as(
            &ada,
            &format!("/admin/users/{rita_id}/role"),
            &[("role", "manager".to_string())],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(app.get_as(&rita, "/admin/questions").await.status(), 403);
    let r = app
        .post_as(
            &ada,
            &format!("/admin/users/{rita_id}/role"),
            &[("role", "king".to_string())],
        )
        .await;
    assert_eq!(r.status(), 409);
    // The only admin cannot demote or deactivate themselves out of the system.
    let r = app
        .post_as(
            &ada,
            &format!("/admin/users/{ada_id}/role"),
            &[("role", "recruiter".to_string())],
        )
        .await;
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("only active admin"));
    let confirmed = [("confirm", "yes".to_string())];
    let r = app
        .post_as(&ada, &format!("/admin/users/{ada_id}/disable"), &confirmed)
        .await;
    assert_eq!(r.status(), 409);
    // Deactivating asks first, naming whom, and changes nothing until confirmed.
    let r = app
        .post_as(&ada, &format!("/admin/users/{rita_id}/disable"), &[])
        .await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("Deactivate rita@onramp.test?"), "{html}");
    assert!(html.contains(r#"name="confirm" value="yes""#), "{html}");
    assert_eq!(app.get_as(&rita, "/admin").await.status(), 200);
    // Confirmed, it ends the person's sessions at once.
    let r = app
        .post_as(&ada, &format!("/admin/users/{rita_id}/disable"), &confirmed)
        .await;
    assert_eq!(r.status(), 303);
    let r = app.get_as(&rita, "/admin").await;
    assert_eq!(r.status(), 303);
    assert!(r.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with("/admin/login"));
    // The audit page shows it, filtered, and names a filter it cannot read.
    let html = app
        .get_as(&ada, "/admin/audit?action=staff.disable")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains(&format!("user:{rita_id}")), "{html}");
    assert!(!html.contains("staff.set_role</td>"), "filtered: {html}");
    // Who did it, by their address rather than an id.
    assert!(
        html.contains("<td class=\"break\">ada@onramp.test</td>"),
        "{html}"
    );
    assert!(!html.contains("<td class=\"break\">staff:"), "{html}");
    // From and To are date pickers; a day covers the whole day.
    assert!(
        html.contains(r#"<input type="date" id="from" name="from""#),
        "{html}"
    );
    let today = app.db.now().date_naive();
    let html = app
        .get_as(
            &ada,
            &format!("/admin/audit?action=staff.disable&from={today}&to={today}"),
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains(&format!("user:{rita_id}")), "{html}");
    assert!(
        html.contains(&format!(r#"name="to" value="{today}""#)),
        "{html}"
    );
    let before = today - chrono::Days::new(1);
    let html = app
        .get_as(
            &ada,
            &format!("/admin/audit?action=staff.disable&to={before}"),
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(!html.contains(&format!("user:{rita_id}")), "{html}");
    let r = app.get_as(&ada, "/admin/audit?from=yesterday").await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Give “From” as a date like"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_read_times_in_their_own_time_zone_named() {
    let app = spawn_app_with(|s| s.jobs.time_zone = chrono_tz::Europe::Stockholm).await;
    app.staff_user("ada@onramp.test", "admin").await;
    let ada = app.sign_in("ada@onramp.test").await;
    let audit_time = |html: &str| -> String {
        let row = html.split("<tbody>").nth(1).unwrap();
        let cell = row.split("<td>").nth(1).unwrap();
        cell[..cell.find("</td>").unwrap()].to_string()
    };
    // Someone did something: a row in the audit log.
    app.staff_user("rita@onramp.test", "recruiter").await;
    let r = app
        .post_as(
            &ada,
            "/admin/users",
            &[
                ("email", "new@onramp.test".into()),
                ("role", "recruiter".into()),
            ],
        )
        .await;
    assert!(
        r.status().is_redirection() || r.status().is_success(),
        "{}",
        r.status()
    );
    // By default, the site's zone, named.
    let html = app.get_as(&ada, "/admin/audit").await.text().await.unwrap();
    let shown = audit_time(&html);
    assert!(
        shown.ends_with(" CET") || shown.ends_with(" CEST"),
        "{shown}"
    );
    let page = app
        .get_as(&ada, "/admin/password")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("This site's zone (Europe/Stockholm)"),
        "{page}"
    );
    // A zone that does not exist is named, and nothing changes.
    let before = app.snapshot().await;
    let r = app
        .post_as(
            &ada,
            "/admin/password/time-zone",
            &[("time_zone", "Mars/Olympus".into())],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("href=\"#time_zone\""));
    assert_eq!(app.snapshot().await, before);
    // Her own zone: every staff page shows times there.
    let r = app
        .post_as(
            &ada,
            "/admin/password/time-zone",
            &[("time_zone", "Asia/Tokyo".into())],
        )
        .await;
    assert_eq!(r.status(), 303);
    let html = app.get_as(&ada, "/admin/audit").await.text().await.unwrap();
    let tokyo = audit_time(&html);
    assert!(tokyo.ends_with(" JST"), "{tokyo}");
    assert_ne!(tokyo[..16], shown[..16], "the same moment, another clock");
    let page = app
        .get_as(&ada, "/admin/password")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(r#"<option value="Asia/Tokyo" selected>"#),
        "{page}"
    );
    // Others keep theirs.
    let rita = app.sign_in("rita@onramp.test").await;
    let page = app
        .get_as(&rita, "/admin/password")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Staff pages show times in <strong>Europe/Stockholm</strong>"),
        "{page}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_admins_demoting_or_deactivating_each_other_at_once_leave_an_admin() {
    use onramp::domain::staff::Role;
    use onramp::usecases::staff as accounts;
    let app = spawn_app().await;
    for round in 0..50 {
        let (a, b) = (
            format!("a{round}@onramp.test"),
            format!("b{round}@onramp.test"),
        );
        app.staff_user(&a, "admin").await;
        app.staff_user(&b, "admin").await;
        // Every other admin from earlier rounds is gone: these two are the only ones.
        let ids: Vec<(uuid::Uuid, String)> = onramp::on_db!(&app.db, p => sqlx::query_as(
            "SELECT id, email FROM users WHERE role = 'admin' AND disabled_at IS NULL")
            .fetch_all(p).await)
        .unwrap();
        assert_eq!(ids.len(), 2, "round {round}: {ids:?}");
        let id = |e: &str| ids.iter().find(|(_, m)| m == e).unwrap().0;
        let (ida, idb) = (id(&a), id(&b));
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(2));
        let go = |who: uuid::Uuid, other: uuid::Uuid| {
            let db = app.db.clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                // Half the rounds demote, half deactivate.
                if round % 2 == 0 {
                    accounts::set_role(&db, &format!("staff:{who}"), other, Role::Recruiter)
                        .await
                        .is_ok()
                } else {
                    accounts::deactivate(&db, who, other).await.is_ok()
                }
            })
        };
        let (x, y) = tokio::join!(go(ida, idb), go(idb, ida));
        let done = [x.unwrap(), y.unwrap()];
        let left: i64 = onramp::on_db!(&app.db, p => sqlx::query_scalar(
            "SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled_at IS NULL")
            .fetch_one(p).await)
        .unwrap();
        assert_eq!(left, 1, "round {round}: {done:?}");
        assert_eq!(done.iter().filter(|d| **d).count(), 1, "round {round}");
        // Clear the round: the last admin steps down by a direct write.
        onramp::on_writer!(&app.db, p => sqlx::query(
            "UPDATE users SET disabled_at = $1 WHERE role = 'admin' AND disabled_at IS NULL")
            .bind(onramp::domain::now()).execute(p).await.map(|_| ()))
        .unwrap();
    }
}
