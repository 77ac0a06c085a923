//! Cohorts on the staff pages, the way a recruiter works: make a cohort (every refusal named,
//! nothing stored), offer seats in bulk from the filtered list, tick the onboarding grid,
//! activate every ready member, pause and offboard with a reason, and close the cohort, after
//! which no offer or accept goes through.

use serde_json::{json, Value};

use crate::helpers::*;

fn fields(pairs: &[(String, String)]) -> Vec<(&str, String)> {
    pairs.iter().map(|(k, v)| (k.as_str(), v.clone())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recruiter_runs_a_cohort_from_the_staff_pages() {
    let app = spawn_app().await;
    app.load_checklist().await;
    app.staff_user("rita@onramp.test", "recruiter").await;
    let rita = app.sign_in("rita@onramp.test").await;

    // A wrong form: every field named, the values kept, nothing stored.
    let before = app.snapshot().await;
    let r = app
        .post_as(
            &rita,
            "/admin/cohorts",
            &[
                ("name", "X".into()),
                ("market", "SE".into()),
                ("language", "".into()),
                ("start_date", "next week".into()),
                ("capacity", "0".into()),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    for field in ["name", "language", "start_date", "capacity"] {
        assert!(
            html.contains(&format!("href=\"#{field}\"")),
            "{field}: {html}"
        );
    }
    assert!(html.contains("value=\"next week\""));
    assert_eq!(app.snapshot().await, before);

    let r = app
        .post_as(
            &rita,
            "/admin/cohorts",
            &[
                ("name", "Stockholm January".into()),
                ("market", "SE".into()),
                ("language", "sv".into()),
                ("start_date", weeks_ago(4)),
                ("capacity", "2".into()),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let page = r.headers()["location"].to_str().unwrap().to_string();
    let cohort = page
        .trim_start_matches("/admin/cohorts/")
        .split('?')
        .next()
        .unwrap()
        .to_string();
    let html = app.get_as(&rita, &page).await.text().await.unwrap();
    assert!(html.contains("rita@onramp.test"), "the maker owns it");
    assert!(html.contains("No one has taken a seat yet."));

    // Offer seats from the list: two on the shortlist and one who only applied.
    let ana = app.shortlisted("ana@example.com").await;
    let bo = app.shortlisted("bo@example.com").await;
    let r = app
        .post_json("/api/v1/applications", &valid_json("cy@example.com"))
        .await;
    let cy = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let list = app
        .get_as(&rita, "/admin/applicants?stage=shortlisted")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        list.contains("Stockholm January (SE, 0/2 seats)"),
        "the cohort is offered: {list}"
    );
    let ask = [
        ("action", "offer".to_string()),
        ("cohort", cohort.clone()),
        ("scope", "picked".to_string()),
        ("filter", String::new()),
        ("id", ana.clone()),
        ("id", bo.clone()),
        ("id", cy.clone()),
    ];
    let r = app.post_as(&rita, "/admin/applicants/bulk", &ask).await;
    let html = r.text().await.unwrap();
    assert!(
        html.contains("Offer a seat in the cohort Stockholm January"),
        "{html}"
    );
    let confirm = form_fields(&html, "/admin/applicants/bulk/run");
    let r = app
        .post_as(&rita, "/admin/applicants/bulk/run", &fields(&confirm))
        .await;
    let html = r.text().await.unwrap();
    assert!(html.contains("<strong>2</strong> done"), "{html}");
    assert!(html.contains("<strong>1</strong> not done"), "{html}");
    assert_eq!(app.stage(&ana).await, "offered");
    assert_eq!(app.stage(&cy).await, "applied");
    // A bulk offer without a cohort is refused by field.
    let mut no_cohort = ask.to_vec();
    no_cohort[1].1 = String::new();
    let r = app
        .post_as(&rita, "/admin/applicants/bulk", &no_cohort)
        .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("href=\"#cohort\""));

    // Ana accepts by the email; the grid shows her.
    let link = app.offer_link("ana@example.com").await;
    assert_eq!(
        app.post_form(&link, "choice=accept".to_string())
            .await
            .status(),
        303
    );
    let html = app.get_as(&rita, &page).await.text().await.unwrap();
    assert!(html.contains(&format!("id=\"member-{ana}\"")), "{html}");
    assert!(html.contains("7 required to go"), "{html}");

    // The equipment check without a figure is refused by field; nothing ticked.
    let row = format!("/admin/cohorts/{cohort}/members/{ana}/checklist");
    let before = app.snapshot().await;
    let r = app
        .post_as(
            &rita,
            &row,
            &[
                ("item", "equipment_check".into()),
                ("bandwidth_mbps", "".into()),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("href=\"#bandwidth_mbps\""));
    assert_eq!(app.snapshot().await, before);
    // Activating before the checklist is done says how much is missing.
    let step = format!("/admin/cohorts/{cohort}/members/{ana}/step");
    let r = app
        .post_as(&rita, &step, &[("step", "activate".into())])
        .await;
    assert_eq!(r.status(), 409);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("7 required checklist items are not done"));
    // Every box of her row, then save.
    let mut ticks: Vec<(&str, String)> = [
        "contract_signed",
        "identity_verified",
        "equipment_check",
        "training_1",
        "training_2",
        "training_3",
        "shadow_shift",
    ]
    .iter()
    .map(|k| ("item", k.to_string()))
    .collect();
    ticks.push(("bandwidth_mbps", "48,5".into()));
    assert_eq!(app.post_as(&rita, &row, &ticks).await.status(), 303);
    let cohort_json = app.read_cohort(&app.api_key, &cohort).await;
    let checklist = &cohort_json["members"][0]["checklist"];
    assert!(checklist
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["done"] == true));
    let equipment = checklist
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["key"] == "equipment_check")
        .unwrap();
    assert_eq!(equipment["value"], 48.5);
    // Saving the same row again changes nothing.
    let events = app.count("application_events").await;
    assert_eq!(app.post_as(&rita, &row, &ticks).await.status(), 303);
    assert_eq!(app.count("application_events").await, events);

    // Activate every ready member: Ana goes live.
    let html = app
        .post_as(&rita, &format!("/admin/cohorts/{cohort}/activate"), &[])
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("1 member(s) activated."), "{html}");
    assert_eq!(app.stage(&ana).await, "live");

    // Pause needs a reason; with one, it pauses; offboard from paused.
    let r = app
        .post_as(
            &rita,
            &step,
            &[("step", "pause".into()), ("reason", " ".into())],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("href=\"#reason\""));
    assert_eq!(app.stage(&ana).await, "live");
    for (s, to) in [("pause", "paused"), ("offboard", "offboarded")] {
        let mut fields = vec![("step", s.to_string()), ("reason", "exams".to_string())];
        if s == "offboard" {
            // Final: the page asks first, naming whom and why, and nothing changes yet.
            let r = app.post_as(&rita, &step, &fields).await;
            assert_eq!(r.status(), 200);
            let html = r.text().await.unwrap();
            assert!(html.contains("Offboard Ana Lind?"), "{html}");
            assert!(html.contains("(reason: exams)"), "{html}");
            assert_eq!(app.stage(&ana).await, "paused");
            fields.push(("confirm", "yes".into()));
        }
        let r = app.post_as(&rita, &step, &fields).await;
        assert_eq!(r.status(), 303, "{s}");
        assert_eq!(app.stage(&ana).await, to);
    }

    // Close the cohort: Bo's open offer can no longer be accepted, and no new offer goes out.
    let status = format!("/admin/cohorts/{cohort}/status");
    let r = app
        .post_as(&rita, &status, &[("status", "paused".into())])
        .await;
    assert_eq!(r.status(), 422);
    // Closing is final: the page asks first and nothing changes yet.
    let before = app.snapshot().await;
    let r = app
        .post_as(&rita, &status, &[("status", "closed".into())])
        .await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("A closed cohort cannot be opened again"),
        "{html}"
    );
    assert_eq!(app.snapshot().await, before);
    assert_eq!(
        app.post_as(
            &rita,
            &status,
            &[("status", "closed".into()), ("confirm", "yes".into())]
        )
        .await
        .status(),
        303
    );
    let r = app
        .post_as(&rita, &status, &[("status", "live".into())])
        .await;
    assert_eq!(r.status(), 409);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("A closed cohort stays closed."));
    let link = app.offer_link("bo@example.com").await;
    let before = app.snapshot().await;
    let r = app.post_form(&link, "choice=accept".to_string()).await;
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("This cohort has closed"));
    assert_eq!(app.snapshot().await, before);
    let dee = app.shortlisted("dee@example.com").await;
    let r = app
        .post_json(
            &format!("/api/v1/cohorts/{cohort}/offers"),
            &json!({ "application_ids": [dee] }),
        )
        .await;
    assert_eq!(r.status(), 409);
    let e: Value = r.json().await.unwrap();
    assert!(e["errors"]["cohort"][0]
        .as_str()
        .unwrap()
        .contains("closed"));
    let r = app.post_as(&rita, "/admin/applicants/bulk", &ask).await;
    assert_eq!(r.status(), 422, "a closed cohort is not offered in bulk");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cohort_status_and_activation_by_api() {
    let app = spawn_app().await;
    app.load_checklist().await;
    let planned = app.made_cohort(&cohort_request("Planned")).await;
    let path = format!("/api/v1/cohorts/{planned}/status");
    let r = app.post_json(&path, &json!({ "status": "live" })).await;
    assert_eq!(r.status(), 409);
    let e: Value = r.json().await.unwrap();
    assert!(e["errors"]["status"][0]
        .as_str()
        .unwrap()
        .contains("start date"));
    let r = app.post_json(&path, &json!({ "status": "open" })).await;
    assert_eq!(r.status(), 422);

    let mut body = cohort_request("Started");
    body["start_date"] = json!(weeks_ago(4));
    let started = app.made_cohort(&body).await;
    let ana = app.seated(&started, "ana@example.com").await;
    let bo = app.seated(&started, "bo@example.com").await;
    app.tick_plain_items(&ana).await;
    let r = app
        .post_json(
            &format!("/api/v1/applications/{ana}/checklist/equipment_check"),
            &json!({ "done": true, "bandwidth_mbps": 30 }),
        )
        .await;
    assert_eq!(r.status(), 200);
    let r = app
        .post_json(&format!("/api/v1/cohorts/{started}/activate"), &json!({}))
        .await;
    assert_eq!(r.status(), 200);
    let done: Value = r.json().await.unwrap();
    assert_eq!(done["activated"], json!([ana]));
    // `went_live_at` is part of the application.
    let r = app
        .send_key(
            reqwest::Method::GET,
            &app.api_key,
            &format!("/api/v1/applications/{ana}"),
            None,
        )
        .await;
    let a: Value = r.json().await.unwrap();
    assert!(a["went_live_at"].is_string(), "{a}");
    let r = app
        .send_key(
            reqwest::Method::GET,
            &app.api_key,
            &format!("/api/v1/applications/{bo}"),
            None,
        )
        .await;
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["went_live_at"], Value::Null);
    assert_eq!(done["not_ready"][0]["application_id"], json!(bo));
    assert!(done["not_ready"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("7 required checklist items are not done"));
    let r = app
        .post_json(
            &format!("/api/v1/cohorts/{started}/status"),
            &json!({ "status": "live" }),
        )
        .await;
    assert_eq!(r.status(), 200);
    let c: Value = r.json().await.unwrap();
    assert_eq!(c["status"], "live");
    let r = app
        .send_key(reqwest::Method::GET, &app.api_key, "/api/v1/cohorts", None)
        .await;
    let list: Value = r.json().await.unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seat_given_back_goes_to_the_waitlist_and_a_rejected_applicant_cannot_accept() {
    let app = spawn_app().await;
    app.load_checklist().await;
    let mut body = cohort_request("One seat");
    body["capacity"] = json!(1);
    body["waitlist"] = json!(true);
    let cohort = app.made_cohort(&body).await;
    let ana = app.shortlisted("ana@example.com").await;
    let bo = app.shortlisted("bo@example.com").await;
    let cy = app.shortlisted("cy@example.com").await;
    app.offer(&cohort, &[&ana, &bo, &cy]).await;
    let ana_page = app.offer_link("ana@example.com").await;
    let bo_page = app.offer_link("bo@example.com").await;
    let cy_page = app.offer_link("cy@example.com").await;
    for page in [&ana_page, &bo_page] {
        assert_eq!(
            app.post_form(page, "choice=accept".to_string())
                .await
                .status(),
            303
        );
    }
    assert_eq!(app.seats_taken(&cohort).await, 1);
    let html = app.get(&bo_page).await.text().await.unwrap();
    assert!(html.contains("You are on the waitlist"));

    // Cy is rejected while offered: the offer is withdrawn, and the link no longer accepts.
    let r = app
        .post_json(
            &format!("/api/v1/applications/{cy}/moves"),
            &json!({ "to": "withdrawn" }),
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let before = app.snapshot().await;
    assert_eq!(
        app.post_form(&cy_page, "choice=accept".to_string())
            .await
            .status(),
        303
    );
    assert_eq!(app.stage(&cy).await, "withdrawn");
    assert_eq!(app.snapshot().await, before);
    assert_eq!(app.seats_taken(&cohort).await, 1);

    // Nothing to promote while the seat is held.
    let promote = || {
        onramp::usecases::cohorts::promote_waitlist(&app.db, &app.settings, onramp::domain::now())
    };
    assert_eq!(promote().await.unwrap(), 0);
    // Ana leaves before going live: her seat goes back, and Bo, first on the waitlist, is
    // offered it again by email.
    let r = app
        .post_json(
            &format!("/api/v1/applications/{ana}/moves"),
            &json!({ "to": "withdrawn" }),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(app.seats_taken(&cohort).await, 0);
    assert_eq!(promote().await.unwrap(), 1);
    assert_eq!(promote().await.unwrap(), 0, "once");
    app.drain().await;
    let received = app.received();
    let mails = mail_to(&received, "bo@example.com");
    let last = decode_qp(mails.last().unwrap());
    assert!(last.contains("a seat has opened up"), "{last}");
    // The new email's link replaces the first one.
    let bo_page = app.offer_link("bo@example.com").await;
    let html = app.get(&bo_page).await.text().await.unwrap();
    assert!(html.contains("Accept the seat"), "open again: {html}");
    assert_eq!(
        app.post_form(&bo_page, "choice=accept".to_string())
            .await
            .status(),
        303
    );
    assert_eq!(app.stage(&bo).await, "onboarding");
    assert_eq!(app.seats_taken(&cohort).await, 1);
    // The cohort's funnel counts both seats ever taken.
    let c = app.read_cohort(&app.api_key, &cohort).await;
    let offers: Vec<&str> = c["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["offer"].as_str().unwrap())
        .collect();
    assert_eq!(offers, ["released", "accepted", "withdrawn"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_steps_go_through_the_cohort_and_a_plain_move_out_of_live_counts() {
    let app = spawn_app().await;
    app.load_checklist().await;
    let mut body = cohort_request("Steps");
    body["start_date"] = json!(weeks_ago(4));
    let cohort = app.made_cohort(&body).await;
    let ana = app.seated(&cohort, "ana@example.com").await;
    // A plain move to live would skip the checklist: refused, nothing changed.
    let before = app.snapshot().await;
    let r = app
        .post_json(
            &format!("/api/v1/applications/{ana}/moves"),
            &json!({ "to": "live" }),
        )
        .await;
    assert_eq!(r.status(), 409);
    let e: Value = r.json().await.unwrap();
    assert!(
        e["errors"]["to"][0]
            .as_str()
            .unwrap()
            .contains("through their cohort"),
        "{e}"
    );
    assert_eq!(app.snapshot().await, before);
    // Activated properly, then withdrawn by a plain move: the live count drops, and the day
    // they left is kept for retention.
    app.tick_plain_items(&ana).await;
    let r = app
        .post_json(
            &format!("/api/v1/applications/{ana}/checklist/equipment_check"),
            &json!({ "done": true, "bandwidth_mbps": 30 }),
        )
        .await;
    assert_eq!(r.status(), 200);
    let r = app
        .post_json(&format!("/api/v1/applications/{ana}/activate"), &json!({}))
        .await;
    assert_eq!(r.status(), 200);
    let manager = key_with_role(&app, "manager").await;
    let live_now = || async {
        let r: Value = app
            .send_key(
                reqwest::Method::GET,
                &manager,
                "/api/v1/reports/replacement",
                None,
            )
            .await
            .json()
            .await
            .unwrap();
        r["weeks"].as_array().unwrap().last().unwrap()["live"].clone()
    };
    assert_eq!(live_now().await, 1);
    let r = app
        .post_json(
            &format!("/api/v1/applications/{ana}/moves"),
            &json!({ "to": "withdrawn" }),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(live_now().await, 0);
    let left: Option<chrono::DateTime<chrono::Utc>> =
        onramp::on_db!(&app.db, p => sqlx::query_scalar(
        "SELECT offboarded_at FROM applications WHERE id = $1")
        .bind(ana.parse::<uuid::Uuid>().unwrap()).fetch_one(p).await)
        .unwrap();
    assert!(left.is_some());
}
