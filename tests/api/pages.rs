//! Every staff page renders for every role: 200 with the layout for those who may use it, a 403
//! inside the staff layout (navigation and sign-out kept) for those who may not. Sign-in returns
//! to the page that was asked for.

use crate::helpers::*;

fn assert_page(html: &str, what: &str) {
    assert!(html.contains("<html lang=\"en\">"), "{what}: no lang");
    assert!(html.contains("<main"), "{what}: no <main>");
    assert!(html.contains("<h1"), "{what}: no <h1>");
    assert!(html.contains("<title>"), "{what}: no title");
}

#[test]
fn the_page_list_covers_every_admin_page() {
    let routes = admin_get_routes();
    assert!(routes.len() >= 8, "{routes:?}");
    for route in routes.iter().filter(|r| {
        !r.ends_with("/login")
            && !r.ends_with(".json")
            && !r.ends_with(".csv")
            // An email's HTML part alone, for the preview's frame: a document, not a page
            // (tests/api/outbox.rs checks it).
            && !r.ends_with("/html")
            && !r.starts_with("/admin/invite/")
    }) {
        assert!(
            STAFF_PAGES.iter().any(|p| matches_route(route, p)),
            "{route} is not in STAFF_PAGES"
        );
    }
    for page in STAFF_PAGES {
        assert!(
            routes.iter().any(|r| matches_route(r, page)),
            "{page} matches no route"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_staff_page_renders_for_every_role() {
    let app = spawn_app().await;
    app.load_quizzes().await;
    for (email, role) in [
        ("ada@onramp.test", "admin"),
        ("rita@onramp.test", "recruiter"),
        ("max@onramp.test", "manager"),
    ] {
        app.staff_user(email, role).await;
        let cookie = app.sign_in(email).await;
        for (page, path) in app.staff_pages().await {
            let r = app.get_as(&cookie, &path).await;
            let status = r.status().as_u16();
            let html = r.text().await.unwrap();
            let what = format!("{role} {path}");
            assert_page(&html, &what);
            assert!(html.contains("Sign out"), "{what}: no sign-out");
            assert!(html.contains(email), "{what}: who is signed in");
            assert!(
                !html.contains("<script>alert"),
                "{what}: a note not escaped"
            );
            let allowed = match role {
                "admin" => true,
                "recruiter" => !ADMIN_PAGES.contains(&page) && !REPORT_PAGES.contains(&page),
                _ => MANAGER_PAGES.contains(&page),
            };
            // A filter that cannot be read still shows the page, with the problem named.
            let unreadable = page.contains("score_min=101")
                || page == REPORT_WITH_A_BAD_FILTER
                || page == OUTBOX_WITH_A_BAD_FILTER;
            let expected = match (allowed, unreadable) {
                (false, _) => 403,
                (true, true) => 422,
                (true, false) => 200,
            };
            assert_eq!(status, expected, "{what}: {html}");
            // The navigation shows only what the role may use.
            assert_eq!(
                html.contains("href=\"/admin/questions\""),
                role != "manager",
                "{what}: navigation"
            );
        }
    }
    // A manager's home is a real page, not a refusal.
    let manager = app.sign_in("max@onramp.test").await;
    let home = app.get_as(&manager, "/admin").await.text().await.unwrap();
    assert!(home.contains("<h1>Reports</h1>"), "{home}");
    assert!(!home.contains("Forbidden"));
    // It gives this week's figures and the way to the report.
    assert!(home.contains("live pilot agents"), "{home}");
    assert!(home.contains("href=\"/reports\""), "{home}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forms_posted_with_fields_missing_still_render() {
    let app = spawn_app().await;
    app.load_quizzes().await;
    app.staff_user("rita@onramp.test", "recruiter").await;
    let cookie = app.sign_in("rita@onramp.test").await;
    for path in [
        "/admin/quizzes",
        "/admin/quizzes/agents-sweden",
        "/admin/questions",
        "/admin/questions/tone-001",
    ] {
        let r = app.post_as(&cookie, path, &[]).await;
        assert_eq!(r.status(), 422, "{path}");
        let html = r.text().await.unwrap();
        assert_page(&html, path);
        assert!(html.contains("id=\"error-summary\""), "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_returns_to_the_page_asked_for_and_only_on_this_site() {
    let app = spawn_app().await;
    app.load_quizzes().await;
    app.staff_user("rita@onramp.test", "recruiter").await;
    let r = app.get("/admin/quizzes/agents-sweden/analysis").await;
    assert_eq!(r.status(), 303);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(
        location,
        "/admin/login?next=%2Fadmin%2Fquizzes%2Fagents%2Dsweden%2Fanalysis"
    );
    let form = app.get(&location).await.text().await.unwrap();
    assert!(form.contains(r#"name="next" value="/admin/quizzes/agents-sweden/analysis""#));

    let sign_in = |next: &'static str| {
        let app = &app;
        async move {
            let r = app.login("rita@onramp.test", PASSWORD, Some(next)).await;
            assert_eq!(r.status(), 303, "{next}");
            r.headers()["location"].to_str().unwrap().to_string()
        }
    };
    assert_eq!(
        sign_in("/admin/quizzes/agents-sweden/analysis").await,
        "/admin/quizzes/agents-sweden/analysis"
    );
    assert_eq!(
        sign_in("/admin/emails?status=sent").await,
        "/admin/emails?status=sent"
    );
    for hostile in [
        "//evil.example/admin",
        "https://evil.example/admin",
        "/\\evil.example",
        "/admin\\@evil.example",
        "javascript:alert(1)",
        "/status/abc",
        "",
    ] {
        assert_eq!(sign_in(hostile).await, "/admin", "{hostile}");
    }
    // A wrong password keeps the target for the next try.
    let r = app
        .login("rita@onramp.test", "wrong password", Some("/admin/quizzes"))
        .await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains(r#"name="next" value="/admin/quizzes""#));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_site_icon_is_served_and_every_page_names_it() {
    let app = spawn_app().await;
    let r = app.get("/favicon.ico").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/x-icon");
    let icon = r.bytes().await.unwrap();
    // An ICO directory with one image, a PNG inside.
    assert_eq!(&icon[..4], &[0, 0, 1, 0]);
    assert_eq!(&icon[22..26], b"\x89PNG");
    for page in ["/", "/apply", "/privacy"] {
        let html = app.get(page).await.text().await.unwrap();
        assert!(
            html.contains(r#"<link rel="icon" href="/favicon.ico""#),
            "{page}"
        );
    }
}
