//! Recruiters off the happy path: the ways on from their home page, the moves they are offered,
//! and what a bulk action reports.

use crate::helpers::*;

/// The markup of the `<select>` with this id.
fn select<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("<select id=\"{id}\""))
        .unwrap_or_else(|| panic!("no select {id}"));
    &html[start..start + html[start..].find("</select>").unwrap()]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_home_page_counts_lead_to_their_lists_in_pipeline_order() {
    let app = spawn_app().await;
    app.shortlisted("short@example.com").await;
    app.staff_user("rita@onramp.test", "recruiter").await;
    let cookie = app.sign_in("rita@onramp.test").await;
    let html = app.get_as(&cookie, "/admin").await.text().await.unwrap();
    assert!(
        html.contains(r#"<a href="/admin/applicants?stage=shortlisted">Shortlisted</a>"#),
        "{html}"
    );
    // The configured review stages come after the shortlist and before an offer.
    let at = |label: &str| {
        html.find(&format!(">{label}</a>"))
            .unwrap_or_else(|| panic!("{label}: {html}"))
    };
    assert!(at("Shortlisted") < at("Phone screen"));
    assert!(at("Phone screen") < at("References"));
    assert!(at("References") < at("Offered a cohort place"));
    // The link leads to the list with that filter.
    let list = app
        .get_as(&cookie, "/admin/applicants?stage=shortlisted")
        .await;
    assert_eq!(list.status(), 200);
    assert!(list.text().await.unwrap().contains("short@example.com"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_moves_offer_only_reachable_stages_and_report_people_by_name() {
    let app = spawn_app().await;
    let shortlisted = app.shortlisted("bo.berg@example.com").await;
    app.staff_user("rita@onramp.test", "recruiter").await;
    let cookie = app.sign_in("rita@onramp.test").await;
    let html = app
        .get_as(&cookie, "/admin/applicants")
        .await
        .text()
        .await
        .unwrap();
    let stages = select(&html, "bulk-to");
    for never in ["live", "paused", "offboarded", "expired", "verified"] {
        assert!(
            !stages.contains(&format!("value=\"{never}\"")),
            "{never}: {stages}"
        );
    }
    for offered in ["shortlisted", "rejected", "on_hold"] {
        assert!(
            stages.contains(&format!("value=\"{offered}\"")),
            "{offered}"
        );
    }
    // Emails are named by what they say, not their template id.
    let emails = select(&html, "bulk-template");
    assert!(
        emails.contains(">Tell the applicant their new stage and what comes next<"),
        "{emails}"
    );
    // A bulk move some cannot make names them in the report.
    let r = app
        .post_as(
            &cookie,
            "/admin/applicants/bulk",
            &[
                ("action", "move".into()),
                // Onboarding comes only from an accepted offer.
                ("to", "onboarding".into()),
                ("scope", "picked".into()),
                ("filter", "".into()),
                ("id", shortlisted.clone()),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    let fields = form_fields(&page, "/admin/applicants/bulk/run");
    let done = app
        .post_as(
            &cookie,
            "/admin/applicants/bulk/run",
            &fields
                .iter()
                .map(|(k, v)| (k.as_str(), v.clone()))
                .collect::<Vec<_>>(),
        )
        .await;
    let report = done.text().await.unwrap();
    assert!(report.contains("Not done, and why"), "{report}");
    assert!(
        report.contains(&format!(
            "<a href=\"/admin/applicants/{shortlisted}\">Ana Lind</a>"
        )),
        "{report}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_summaries_follow_the_form_and_filters_are_named_by_their_labels() {
    let app = spawn_app().await;
    app.staff_user("rita@onramp.test", "recruiter").await;
    let cookie = app.sign_in("rita@onramp.test").await;
    // Every field of the cohort form wrong: the summary lists them as the form does.
    let r = app
        .post_as(
            &cookie,
            "/admin/cohorts",
            &[
                ("name", "".into()),
                ("market", "XX".into()),
                ("language", "zz".into()),
                ("start_date", "soon".into()),
                ("capacity", "none".into()),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    let summary = &html[html.find("error-summary").unwrap()..];
    let summary = &summary[..summary.find("</ul>").unwrap()];
    let at = |field: &str| {
        summary
            .find(&format!("href=\"#{field}\""))
            .unwrap_or_else(|| panic!("{field}: {summary}"))
    };
    assert!(at("name") < at("market"), "{summary}");
    assert!(at("market") < at("language"), "{summary}");
    assert!(at("language") < at("start_date"), "{summary}");
    assert!(at("start_date") < at("capacity"), "{summary}");
    // A filter the list cannot read is named as the form labels it.
    let r = app
        .get_as(&cookie, "/admin/applicants?applied_from=1%2F2%2F2026")
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("for “Applied from”"), "{html}");
    assert!(!html.contains("for applied_from"), "{html}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_note_typed_beside_a_refused_move_is_kept_and_goes_with_the_move() {
    let app = spawn_app().await;
    let id = app.shortlisted("note@example.com").await;
    app.staff_user("rita@onramp.test", "recruiter").await;
    let cookie = app.sign_in("rita@onramp.test").await;
    let page = format!("/admin/applicants/{id}");
    let html = app.get_as(&cookie, &page).await.text().await.unwrap();
    // One form: the note's box and button belong to the move form.
    assert!(
        html.contains(r#"name="body" rows="4" form="move-form""#),
        "{html}"
    );
    assert!(
        html.contains(&format!("formaction=\"{page}/notes\"")),
        "{html}"
    );
    let note = "Called twice, sends the papers on Monday";
    let r = app
        .post_as(
            &cookie,
            &format!("{page}/move"),
            &[("to", "onboarding".into()), ("body", note.into())],
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains(&format!(">{note}</textarea>")), "{html}");
    assert_eq!(app.stage(&id).await, "shortlisted");
    // A move that works adds the note too.
    let r = app
        .post_as(
            &cookie,
            &format!("{page}/move"),
            &[("to", "phone_screen".into()), ("body", note.into())],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(app.stage(&id).await, "phone_screen");
    let html = app.get_as(&cookie, &page).await.text().await.unwrap();
    assert!(html.contains(note), "{html}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_move_to_a_final_stage_names_whom_before_it_runs() {
    let app = spawn_app().await;
    let a = app.shortlisted("one@example.com").await;
    let b = app.shortlisted("two@example.com").await;
    app.staff_user("rita@onramp.test", "recruiter").await;
    let cookie = app.sign_in("rita@onramp.test").await;
    let before = app.snapshot().await;
    let r = app
        .post_as(
            &cookie,
            "/admin/applicants/bulk",
            &[
                ("action", "reject".into()),
                ("reason", "Role filled".into()),
                ("scope", "picked".into()),
                ("filter", "".into()),
                ("id", a.clone()),
                ("id", b.clone()),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("<p>Ana Lind, Ana Lind.</p>"), "{html}");
    assert!(html.contains("This stage is final"), "{html}");
    assert_eq!(app.snapshot().await, before);
}

impl TestApp {
    /// A cohort with two members who accepted their seats: (cohort, [member ids]).
    async fn cohort_of_two(&self) -> (String, Vec<String>) {
        self.load_checklist().await;
        let cohort = self.made_cohort(&cohort_request("Grid")).await;
        let pipeline = onramp::domain::pipeline::Pipeline::new(&self.settings.pipeline).unwrap();
        let mut members = Vec::new();
        for email in ["ada.grid@example.com", "bo.grid@example.com"] {
            let id = self.shortlisted(email).await;
            self.offer(&cohort, &[&id]).await;
            let answer = onramp::usecases::cohorts::answer(
                &self.db,
                &pipeline,
                id.parse().unwrap(),
                true,
                self.db.now(),
            )
            .await
            .unwrap();
            assert_eq!(answer, onramp::usecases::cohorts::Answer::Accepted);
            members.push(id);
        }
        (cohort, members)
    }

    async fn ticks_of(&self, member: &str) -> Vec<String> {
        let id: uuid::Uuid = member.parse().unwrap();
        onramp::on_db!(&self.db, p => sqlx::query_scalar(
            "SELECT item_key FROM checklist_ticks WHERE application_id = $1 ORDER BY item_key")
            .bind(id).fetch_all(p).await)
        .unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cohort_grid_saves_every_row_at_once_and_never_undoes_a_tick_made_meanwhile() {
    let app = spawn_app().await;
    let (cohort, m) = app.cohort_of_two().await;
    app.staff_user("rita@onramp.test", "recruiter").await;
    let cookie = app.sign_in("rita@onramp.test").await;
    let page = format!("/admin/cohorts/{cohort}");
    let grid = format!("{page}/checklist");
    let html = app.get_as(&cookie, &page).await.text().await.unwrap();
    assert!(html.contains(&format!("action=\"{grid}\"")), "{html}");
    // Ticks in both rows, one Save: both rows are saved.
    let r = app
        .post_as(
            &cookie,
            &grid,
            &[
                ("item", format!("{}:contract_signed", m[0])),
                ("item", format!("{}:identity_verified", m[1])),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(app.ticks_of(&m[0]).await, ["contract_signed"]);
    assert_eq!(app.ticks_of(&m[1]).await, ["identity_verified"]);
    // The page as drawn now; then Bo ticks his contract from his status page.
    let html = app.get_as(&cookie, &page).await.text().await.unwrap();
    let drawn: Vec<(String, String)> = form_fields_for(&html, "grid-form");
    let r = app
        .post_json(
            &format!("/api/v1/applications/{}/checklist/contract_signed", m[1]),
            &serde_json::json!({ "done": true }),
        )
        .await;
    assert_eq!(r.status(), 200);
    // The recruiter, on the page drawn before, ticks Ada's identity and saves: Bo's tick stays.
    let mut fields = drawn.clone();
    fields.push(("item".into(), format!("{}:identity_verified", m[0])));
    let fields: Vec<(&str, String)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    assert_eq!(app.post_as(&cookie, &grid, &fields).await.status(), 303);
    assert_eq!(
        app.ticks_of(&m[0]).await,
        ["contract_signed", "identity_verified"]
    );
    assert_eq!(
        app.ticks_of(&m[1]).await,
        ["contract_signed", "identity_verified"]
    );
    // A figure the grid cannot read: nothing is saved, and the grid comes back as typed.
    let before = app.snapshot().await;
    let r = app
        .post_as(
            &cookie,
            &grid,
            &[
                ("item", format!("{}:equipment_check", m[0])),
                (&format!("bandwidth_mbps-{}", m[0]), "fast".into()),
                ("item", format!("{}:equipment_check", m[1])),
                (&format!("bandwidth_mbps-{}", m[1]), "50".into()),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("value=\"fast\""), "{html}");
    assert!(
        html.contains(&format!(
            "value=\"{}:equipment_check\" id=\"t-{}-equipment_check\" checked",
            m[1], m[1]
        )),
        "{html}"
    );
    assert_eq!(app.snapshot().await, before);
}

/// The fields a browser would send for the form with this id: inputs inside it or naming it
/// with `form=`, checked boxes only.
fn form_fields_for(html: &str, form: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for tag in html.split("<input").skip(1) {
        let tag = &tag[..tag.find('>').unwrap()];
        if attr(tag, "form") != Some(form) {
            continue;
        }
        let kind = attr(tag, "type").unwrap_or("text");
        if kind == "checkbox" && !tag.contains(" checked") {
            continue;
        }
        if let (Some(n), Some(v)) = (attr(tag, "name"), attr(tag, "value")) {
            out.push((n.to_string(), v.to_string()));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cohort_list_pages_filters_and_offers_the_markets_languages_first() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for i in 0..60 {
        let mut body = cohort_request(&format!("Wave {i:02}"));
        if i % 3 == 0 {
            body["market"] = serde_json::json!("DE");
            body["language"] = serde_json::json!("de");
        }
        ids.push(app.made_cohort(&body).await);
    }
    // Three closed.
    for id in &ids[..3] {
        let r = app
            .post_json(
                &format!("/api/v1/cohorts/{id}/status"),
                &serde_json::json!({ "status": "closed" }),
            )
            .await;
        assert!(r.status().is_success(), "{}", r.status());
    }
    app.staff_user("rita@onramp.test", "recruiter").await;
    let cookie = app.sign_in("rita@onramp.test").await;
    let listed = |html: &str| -> Vec<String> {
        html.split("<a href=\"/admin/cohorts/")
            .skip(1)
            .map(|s| s[..36].to_string())
            .collect()
    };
    // Pages of fifty that together list every cohort once.
    let first = app
        .get_as(&cookie, "/admin/cohorts")
        .await
        .text()
        .await
        .unwrap();
    let page1 = listed(&first);
    assert_eq!(page1.len(), 50);
    let next = first
        .split("<a href=\"")
        .find_map(|s| s.find("\" rel=\"next\"").map(|i| unescape_html(&s[..i])))
        .expect("a next page");
    let second = app.get_as(&cookie, &next).await.text().await.unwrap();
    let page2 = listed(&second);
    assert_eq!(page2.len(), 10);
    assert!(!second.contains("rel=\"next\""));
    assert!(second.contains("Back to the first page"));
    let mut all: Vec<String> = page1.into_iter().chain(page2).collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 60);
    // Filters.
    let de = app
        .get_as(&cookie, "/admin/cohorts?market=DE")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(listed(&de).len(), 20);
    let closed = app
        .get_as(&cookie, "/admin/cohorts?status=closed")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(listed(&closed).len(), 3);
    let r = app
        .get_as(&cookie, "/admin/cohorts?market=XX&status=soon")
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("Choose a market from the list."), "{html}");
    assert!(html.contains("Choose a status from the list"), "{html}");
    // The form's languages: those of the markets first, by name.
    let languages = &first[first.find("id=\"language\"").unwrap()..];
    let at = |name: &str| languages.find(&format!(">{name}</option>")).unwrap();
    assert!(at("Danish") < at("Swedish"));
    assert!(at("Swedish") < at("Abkhazian"));
    assert!(at("Abkhazian") < at("Zulu"));
}
