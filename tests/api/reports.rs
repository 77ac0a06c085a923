//! The managers' report from outside: outsourced headcount recorded by API and form (every
//! refusal named, nothing stored), the replacement series and forecast checked against numbers
//! the test works out from its own scenario, the rebuild agreeing with the kept rows, and who
//! may read what.

use chrono::{Days, NaiveDate, Utc};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;

fn monday() -> NaiveDate {
    onramp::domain::reports::week_start(Utc::now().date_naive())
}

impl TestApp {
    async fn report(&self, key: &str, path: &str) -> Value {
        let r = self.send_key(Method::GET, key, path, None).await;
        assert_eq!(r.status(), 200, "{path}");
        r.json().await.unwrap()
    }

    async fn headcount(&self, key: &str, vendor: &str, market: &str, date: NaiveDate, n: i64) {
        let body = json!({ "vendor": vendor, "market": market, "date": date, "headcount": n });
        let r = self
            .send_key(Method::POST, key, "/api/v1/headcount", Some(&body))
            .await;
        assert_eq!(r.status(), 201, "{body}");
    }

    /// Moves the day of `id`'s stage change to `to` back to `day` (noon UTC), as if it happened
    /// then.
    async fn backdate(&self, id: &str, to: &str, day: NaiveDate) {
        let id: uuid::Uuid = id.parse().unwrap();
        let at = day.and_hms_opt(12, 0, 0).unwrap().and_utc();
        let mut tx = self.db.begin().await.unwrap();
        let n = onramp::on!(&mut tx, c => sqlx::query(
            "UPDATE application_events SET created_at = $1 WHERE application_id = $2 \
             AND kind = 'moved' AND detail LIKE $3")
            .bind(at).bind(id).bind(format!("%\"to\":\"{to}\"%"))
            .execute(&mut **c).await.map(|r| r.rows_affected()))
        .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(n, 1, "one move of {id} to {to}");
    }

    /// An agent live in `cohort`: seated, checklist done, activated.
    async fn live_agent(&self, cohort: &str, email: &str) -> String {
        let id = self.seated(cohort, email).await;
        self.tick_plain_items(&id).await;
        let r = self
            .post_json(
                &format!("/api/v1/applications/{id}/checklist/equipment_check"),
                &json!({ "done": true, "bandwidth_mbps": 50 }),
            )
            .await;
        assert_eq!(r.status(), 200);
        let r = self
            .post_json(&format!("/api/v1/applications/{id}/activate"), &json!({}))
            .await;
        assert_eq!(r.status(), 200);
        id
    }

    async fn step(&self, id: &str, step: &str) {
        let r = self
            .post_json(
                &format!("/api/v1/applications/{id}/{step}"),
                &json!({ "reason": "scenario" }),
            )
            .await;
        assert_eq!(r.status(), 200, "{step}");
    }
}

fn weeks_of(report: &Value) -> Vec<(String, i64, i64, Option<f64>)> {
    report["weeks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["week_start"].as_str().unwrap().to_string(),
                w["live"].as_i64().unwrap(),
                w["outsourced"].as_i64().unwrap(),
                w["ratio"].as_f64(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_replacement_series_and_forecast_follow_a_scripted_scenario() {
    let app = spawn_app().await;
    app.load_checklist().await;
    let manager = key_with_role(&app, "manager").await;
    let mut body = cohort_request("Pilot Stockholm");
    body["start_date"] = json!(weeks_ago(4));
    let cohort = app.made_cohort(&body).await;
    let wk = |n: u64| monday() - Days::new(7 * n);

    // Outsourced headcount: two vendors in SE, one in DE.
    app.headcount(&manager, "Northwind", "SE", wk(3), 100).await;
    app.headcount(&manager, "Bluepeak", "se", wk(2), 40).await;
    app.headcount(&manager, "Northwind", "SE", wk(1), 80).await;
    app.headcount(&manager, "Northwind", "DE", wk(3), 500).await;

    // Three agents go live today; one pauses, and the paused one leaves.
    let ana = app.live_agent(&cohort, "ana@example.com").await;
    let bo = app.live_agent(&cohort, "bo@example.com").await;
    let cy = app.live_agent(&cohort, "cy@example.com").await;
    app.step(&cy, "pause").await;
    app.step(&cy, "offboard").await;

    let path = format!("/api/v1/reports/replacement?market=SE&from={}", wk(3));
    let kept = app.report(&manager, &path).await;
    let weeks = weeks_of(&kept);
    assert_eq!(weeks.len(), 4);
    // Sunday of each week: the latest snapshot per vendor, summed.
    let outsourced: Vec<i64> = weeks.iter().map(|w| w.2).collect();
    assert_eq!(outsourced, [100, 140, 120, 120]);
    let live: Vec<i64> = weeks.iter().map(|w| w.1).collect();
    assert_eq!(live, [0, 0, 0, 2]);
    assert_eq!(weeks[3].3, Some(2.0 / 120.0));
    assert_eq!(kept["weeks"][3]["partial"], true);
    assert_eq!(kept["weeks"][0]["week"].as_str().unwrap().len(), 8);
    // Every market: DE's vendor too.
    let all = app
        .report(
            &manager,
            &format!("/api/v1/reports/replacement?from={}", wk(3)),
        )
        .await;
    assert_eq!(weeks_of(&all)[3].2, 620);

    // The rebuild from the timelines gives the same series as the rows kept as agents moved.
    onramp::usecases::reports::rebuild(&app.db, onramp::domain::now())
        .await
        .unwrap();
    assert_eq!(app.report(&manager, &path).await, kept);

    // History: move the steps back into earlier weeks and rebuild.
    app.backdate(&ana, "live", wk(3) + Days::new(2)).await;
    app.backdate(&bo, "live", wk(2) + Days::new(2)).await;
    app.backdate(&cy, "live", wk(2) + Days::new(3)).await;
    app.backdate(&cy, "paused", wk(1) + Days::new(1)).await;
    app.backdate(&cy, "offboarded", wk(1) + Days::new(2)).await;
    onramp::usecases::reports::rebuild(&app.db, onramp::domain::now())
        .await
        .unwrap();
    let rebuilt = weeks_of(&app.report(&manager, &path).await);
    let live: Vec<i64> = rebuilt.iter().map(|w| w.1).collect();
    assert_eq!(live, [1, 3, 2, 2]);

    // Net activations per complete week since the first: 1, 2, -1 (cy offboarded). Mean 2/3 a
    // week; 8 more agents to reach 10 take 12 weeks. One 3-week window: the range is the same.
    let f = app
        .report(&manager, "/api/v1/reports/forecast?market=SE&target=10")
        .await;
    assert_eq!(f["target"], 10);
    assert_eq!(f["reached"], false);
    assert_eq!(f["weeks_used"], 3);
    assert_eq!(f["live"], 2);
    let today = Utc::now().date_naive();
    let expected = (today + Days::new(84)).to_string();
    assert_eq!(f["date"], json!(expected));
    assert_eq!(f["earliest"], json!(expected));
    assert_eq!(f["latest"], json!(expected));
    // The default target is the outsourced headcount now; `weeks` narrows the fit to the last
    // complete week, whose net is negative: never.
    let f = app
        .report(&manager, "/api/v1/reports/forecast?market=SE&weeks=1")
        .await;
    assert_eq!(f["target"], 120);
    assert_eq!(f["date"], Value::Null);
    assert!(f["summary"].as_str().unwrap().contains("never reach"));
    for k in [
        "target",
        "reached",
        "date",
        "earliest",
        "latest",
        "weeks_used",
    ] {
        assert!(f.get(k).is_some(), "{k}");
    }
    let f = app
        .report(&manager, "/api/v1/reports/forecast?market=SE&target=2")
        .await;
    assert_eq!(
        (f["reached"].clone(), f["date"].clone()),
        (json!(true), json!(today))
    );

    // The daily snapshot stores today's count and leaves the series as it was.
    onramp::usecases::reports::snapshot_live(&app.db, today)
        .await
        .unwrap();
    assert_eq!(weeks_of(&app.report(&manager, &path).await), rebuilt);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_headcount_and_bad_report_parameters_are_refused_by_field_and_nothing_is_stored() {
    let app = spawn_app().await;
    let manager = key_with_role(&app, "manager").await;
    app.headcount(&manager, "Northwind", "SE", monday(), 100)
        .await;
    let before = app.snapshot().await;
    let tomorrow = Utc::now().date_naive() + Days::new(1);
    for (body, field) in [
        (
            json!({ "vendor": "A", "market": "SE", "date": weeks_ago(4), "headcount": -1 }),
            "headcount",
        ),
        (
            json!({ "vendor": "A", "market": "SE", "date": weeks_ago(4), "headcount": "12" }),
            "headcount",
        ),
        (
            json!({ "vendor": "A", "market": "SE", "date": weeks_ago(4), "headcount": 1.5 }),
            "headcount",
        ),
        (
            json!({ "vendor": "A", "market": "SE", "date": weeks_ago(4) }),
            "headcount",
        ),
        (
            json!({ "vendor": "", "market": "SE", "date": weeks_ago(4), "headcount": 1 }),
            "vendor",
        ),
        (
            json!({ "vendor": "A\nB", "market": "SE", "date": weeks_ago(4), "headcount": 1 }),
            "vendor",
        ),
        (
            json!({ "vendor": "A", "market": "XX", "date": weeks_ago(4), "headcount": 1 }),
            "market",
        ),
        (
            json!({ "vendor": "A", "market": "SE", "date": "05/01/2026", "headcount": 1 }),
            "date",
        ),
        (
            json!({ "vendor": "A", "market": "SE", "date": tomorrow, "headcount": 1 }),
            "date",
        ),
        (
            json!({ "vendor": 7, "market": "SE", "date": weeks_ago(4), "headcount": 1 }),
            "vendor",
        ),
        (json!(["not", "an", "object"]), "body"),
    ] {
        let r = app
            .send_key(Method::POST, &manager, "/api/v1/headcount", Some(&body))
            .await;
        assert_eq!(r.status(), 422, "{body}");
        let e: Value = r.json().await.unwrap();
        assert!(e["errors"][field][0].as_str().is_some(), "{body}: {e}");
    }
    let r = app
        .send_key(
            Method::POST,
            &manager,
            "/api/v1/headcount",
            Some(&json!({ "vendor": "A", "market": "SE", "date": weeks_ago(4), "headcount": -3 })),
        )
        .await;
    let e: Value = r.json().await.unwrap();
    assert!(e["errors"]["headcount"][0]
        .as_str()
        .unwrap()
        .contains("negative"));
    assert_eq!(app.snapshot().await, before);

    for (query, field) in [
        ("market=SWE", "market"),
        ("market=S1", "market"),
        ("from=2026-02-30", "from"),
        ("to=tomorrow", "to"),
        ("from=2026-03-01&to=2026-02-01", "from"),
        ("from=2000-01-01&to=2026-01-01", "from"),
        ("target=0", "target"),
        ("target=-5", "target"),
        ("weeks=0", "weeks"),
        ("weeks=105", "weeks"),
    ] {
        for report in ["replacement", "forecast", "funnel", "fairness", "quality"] {
            let path = format!("/api/v1/reports/{report}?{query}");
            let r = app.send_key(Method::GET, &manager, &path, None).await;
            assert_eq!(r.status(), 422, "{path}");
            let e: Value = r.json().await.unwrap();
            assert!(e["errors"][field][0].as_str().is_some(), "{path}: {e}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managers_and_admins_read_the_report_and_record_headcount_on_the_page() {
    let app = spawn_app().await;
    for role in ["intake", "recruiter"] {
        let key = key_with_role(&app, role).await;
        for path in [
            "/api/v1/reports/replacement",
            "/api/v1/reports/forecast",
            "/api/v1/reports/funnel",
            "/api/v1/reports/fairness",
            "/api/v1/reports/quality",
            "/api/v1/headcount",
        ] {
            let r = app.send_key(Method::GET, &key, path, None).await;
            assert_eq!(r.status(), 403, "{role} {path}");
        }
        let body = json!({ "vendor": "A", "market": "SE", "date": weeks_ago(4), "headcount": 1 });
        let r = app
            .send_key(Method::POST, &key, "/api/v1/headcount", Some(&body))
            .await;
        assert_eq!(r.status(), 403, "{role}");
    }
    assert_eq!(app.count("outsourced_headcount").await, 0);

    app.staff_user("max@onramp.test", "manager").await;
    let cookie = app.sign_in("max@onramp.test").await;
    // A refused snapshot re-renders the page: the field named, what was typed kept.
    let before = app.snapshot().await;
    let r = app
        .post_as(
            &cookie,
            "/reports/headcount",
            &[
                ("vendor", "Northwind Contact".into()),
                ("market", "SE".into()),
                ("date", monday().to_string()),
                ("headcount", "-40".into()),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("href=\"#hc-headcount\""), "{html}");
    assert!(html.contains("cannot be negative"));
    assert!(html.contains("value=\"Northwind Contact\""));
    assert!(html.contains("value=\"-40\""));
    assert_eq!(app.snapshot().await, before);

    let r = app
        .post_as(
            &cookie,
            "/reports/headcount",
            &[
                ("vendor", "Northwind Contact".into()),
                ("market", "SE".into()),
                ("date", monday().to_string()),
                ("headcount", "740".into()),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let html = app
        .get_as(&cookie, "/reports?market=SE")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("<svg class=\"chart\""), "a chart");
    assert!(html.contains("Live pilot agents against outsourced headcount"));
    assert!(html.contains("<td class=\"num\">740</td>"), "{html}");
    let csv = app
        .get_as(&cookie, "/reports/replacement.csv?market=SE")
        .await;
    assert_eq!(csv.status(), 200);
    assert!(csv.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = csv.text().await.unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "week,week_start,week_end,partial,market,live,outsourced,ratio"
    );
    let last = text.lines().last().unwrap();
    assert!(last.ends_with(",true,SE,0,740,0.000000"), "{last}");
    // The API says the same.
    let admin = key_with_role(&app, "admin").await;
    let list = app.report(&admin, "/api/v1/headcount?market=SE").await;
    assert_eq!(list["items"][0]["headcount"], 740);
    assert_eq!(list["items"][0]["vendor"], "Northwind Contact");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_headcount_schema_states_the_rules() {
    use onramp::domain::reports::{HEADCOUNT_MAX, VENDOR_MAX};
    let app = spawn_app().await;
    let doc: Value = app.get("/api/openapi.json").await.json().await.unwrap();
    for (path, method) in [
        ("/api/v1/headcount", "post"),
        ("/api/v1/headcount", "get"),
        ("/api/v1/reports/replacement", "get"),
        ("/api/v1/reports/forecast", "get"),
    ] {
        assert!(doc["paths"][path][method].is_object(), "{method} {path}");
    }
    let params = doc["paths"]["/api/v1/reports/forecast"]["get"]["parameters"]
        .as_array()
        .unwrap();
    let param = |name: &str| {
        params
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("{name}"))["schema"]
            .clone()
    };
    assert_eq!(param("target")["minimum"], 1);
    assert_eq!(param("weeks")["maximum"], 104);
    assert_eq!(param("from")["format"], "date");
    assert_eq!(param("market")["pattern"], "^[A-Za-z]{2}$");
    let schema = &doc["components"]["schemas"]["HeadcountIn"];
    let p = &schema["properties"];
    assert_eq!(p["vendor"]["maxLength"], VENDOR_MAX);
    assert_eq!(p["vendor"]["minLength"], 1);
    assert_eq!(p["headcount"]["type"], "integer");
    assert_eq!(p["headcount"]["minimum"].as_f64(), Some(0.0));
    assert_eq!(
        p["headcount"]["maximum"].as_f64(),
        Some(HEADCOUNT_MAX as f64)
    );
    assert_eq!(p["date"]["format"], "date");
    let markets = p["market"]["enum"].as_array().unwrap();
    // The edges the schema allows are stored; one past them is refused.
    let key = key_with_role(&app, "manager").await;
    let today = Utc::now().date_naive();
    for (vendor, market, n) in [
        ("V".to_string(), markets.first().unwrap(), 0),
        (
            "W".repeat(VENDOR_MAX),
            markets.last().unwrap(),
            HEADCOUNT_MAX,
        ),
    ] {
        let body = json!({ "vendor": vendor, "market": market, "date": today, "headcount": n });
        let r = app
            .send_key(Method::POST, &key, "/api/v1/headcount", Some(&body))
            .await;
        assert_eq!(r.status(), 201, "{body}");
    }
    for (field, value) in [
        ("vendor", json!("W".repeat(VENDOR_MAX + 1))),
        ("headcount", json!(HEADCOUNT_MAX + 1)),
        ("headcount", json!(-1)),
    ] {
        let mut body = json!({ "vendor": "V", "market": "SE", "date": today, "headcount": 1 });
        body[field] = value;
        let r = app
            .send_key(Method::POST, &key, "/api/v1/headcount", Some(&body))
            .await;
        assert_eq!(r.status(), 422, "{field}");
    }
}

impl TestApp {
    /// A new application from `country` and `source`; its id.
    async fn applicant_from(&self, email: &str, country: &str, source: &str) -> String {
        let mut body = valid_json(email);
        body["country"] = json!(country);
        if !source.is_empty() {
            body["utm_source"] = json!(source);
        }
        let r = self.post_json("/api/v1/applications", &body).await;
        assert_eq!(r.status(), 201);
        r.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Writes a stage (and the verification time) straight to the row, as any code path
    /// might: the funnel must follow whatever changes the row.
    async fn set_stage(&self, id: &str, stage: &str) {
        let id: uuid::Uuid = id.parse().unwrap();
        let mut tx = self.db.begin().await.unwrap();
        onramp::on!(&mut tx, c => sqlx::query(
            "UPDATE applications SET status = $2, email_verified_at = COALESCE(email_verified_at, $3) \
             WHERE id = $1")
            .bind(id).bind(stage).bind(onramp::domain::now()).execute(&mut **c).await.map(|_| ()))
        .unwrap();
        tx.commit().await.unwrap();
    }
}

/// The furthest funnel step of each stage the scenario uses.
fn furthest(stage: &str) -> usize {
    match stage {
        "applied" | "rejected" => 0,
        "verified" | "quiz_failed" => 1,
        "quiz_passed" => 2,
        "shortlisted" => 3,
        "offered" => 4,
        "onboarding" => 5,
        _ => 6,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_funnel_counts_the_furthest_step_ever_reached_per_market_source_and_cohort() {
    let app = spawn_app().await;
    app.load_checklist().await;
    let manager = key_with_role(&app, "manager").await;
    // (email, country, source, stages it passes through, in order)
    let scenario: &[(&str, &str, &str, &[&str])] = &[
        ("a1@example.com", "SE", "ads", &[]),
        ("a2@example.com", "SE", "ads", &["verified", "quiz_failed"]),
        ("a3@example.com", "SE", "", &["verified", "quiz_passed"]),
        (
            "a4@example.com",
            "DE",
            "ads",
            &["verified", "quiz_passed", "shortlisted"],
        ),
        // Shortlisted, then rejected: still counted as shortlisted.
        (
            "a5@example.com",
            "DE",
            "",
            &["verified", "quiz_passed", "shortlisted", "rejected"],
        ),
    ];
    let mut reached: Vec<(&str, &str, usize)> = Vec::new();
    for (email, country, source, stages) in scenario {
        let id = app.applicant_from(email, country, source).await;
        for st in stages.iter() {
            app.set_stage(&id, st).await;
        }
        let top = stages.iter().map(|s| furthest(s)).max().unwrap_or(0);
        reached.push((country, source, top));
    }
    // Two agents through the real path in an SE cohort; one leaves after going live, one
    // is offered and declines nothing (still offered).
    let mut body = cohort_request("Funnel cohort");
    body["start_date"] = json!(weeks_ago(4));
    let cohort = app.made_cohort(&body).await;
    let live = app.live_agent(&cohort, "live@example.com").await;
    let left = app.live_agent(&cohort, "left@example.com").await;
    app.step(&left, "offboard").await;
    let offered = app.shortlisted("offered@example.com").await;
    app.offer(&cohort, &[&offered]).await;
    // `shortlisted` and `seated` go straight to shortlisted, from applied: the funnel counts
    // them at shortlisted and every step before (they never confirmed an email, but a later
    // step implies the earlier ones).
    reached.push(("SE", "", 6));
    reached.push(("SE", "", 6));
    reached.push(("SE", "", 4));
    let _ = live;

    let expect = |keep: &dyn Fn(&(&str, &str, usize)) -> bool| -> Vec<i64> {
        (0..7)
            .map(|step| reached.iter().filter(|r| keep(r) && r.2 >= step).count() as i64)
            .collect()
    };
    let counts = |steps: &Value| -> Vec<i64> {
        steps
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["count"].as_i64().unwrap())
            .collect()
    };
    let f = app.report(&manager, "/api/v1/reports/funnel").await;
    assert_eq!(counts(&f["steps"]), expect(&|_| true), "{f}");
    // Conversion: a step over the one before.
    let all = expect(&|_| true);
    assert_eq!(f["steps"][0]["conversion"], Value::Null);
    assert_eq!(
        f["steps"][3]["conversion"].as_f64().unwrap(),
        all[3] as f64 / all[2] as f64
    );
    for seg in f["by_market"].as_array().unwrap() {
        let m = seg["key"].as_str().unwrap();
        assert_eq!(counts(&seg["steps"]), expect(&|r| r.0 == m), "{m}");
    }
    for seg in f["by_source"].as_array().unwrap() {
        let s = seg["key"].as_str().unwrap_or("");
        assert_eq!(counts(&seg["steps"]), expect(&|r| r.1 == s), "{s:?}");
    }
    let se = app
        .report(&manager, "/api/v1/reports/funnel?market=SE")
        .await;
    assert_eq!(counts(&se["steps"]), expect(&|r| r.0 == "SE"));
    // The cohort: three offers, two seats, two went live (one later left).
    let c = &f["by_cohort"][0];
    assert_eq!(
        (
            c["offered"].clone(),
            c["onboarding"].clone(),
            c["live"].clone()
        ),
        (json!(3), json!(2), json!(2))
    );
    assert_eq!(f["agents"], 2);
    assert!(f["median_days_to_live"].as_f64().unwrap() < 0.1);
    // Nobody has been live 30 days yet.
    assert_eq!(f["retention"][0]["eligible"], 0);
    // A range before anyone applied is empty.
    let empty = app
        .report(
            &manager,
            "/api/v1/reports/funnel?from=2025-01-01&to=2025-01-31",
        )
        .await;
    assert_eq!(counts(&empty["steps"]), vec![0; 7]);

    // Retention: put the two agents' go-live 40 days back; the one who left did so after 10.
    let back = Utc::now() - chrono::Duration::days(40);
    let mut tx = app.db.begin().await.unwrap();
    for (id, left_at) in [
        (live.parse::<uuid::Uuid>().unwrap(), None),
        (
            left.parse::<uuid::Uuid>().unwrap(),
            Some(back + chrono::Duration::days(10)),
        ),
    ] {
        onramp::on!(&mut tx, c => sqlx::query(
            "UPDATE applications SET went_live_at = $2, offboarded_at = $3 WHERE id = $1")
            .bind(id).bind(back).bind(left_at).execute(&mut **c).await.map(|_| ()))
        .unwrap();
    }
    tx.commit().await.unwrap();
    let f = app.report(&manager, "/api/v1/reports/funnel").await;
    let r30 = &f["retention"][0];
    assert_eq!(
        (
            r30["days"].clone(),
            r30["eligible"].clone(),
            r30["retained"].clone()
        ),
        (json!(30), json!(2), json!(1))
    );
    assert_eq!(r30["rate"], 0.5);
    assert_eq!(f["retention"][1]["eligible"], 0);

    // The kept rows equal a count over the applications themselves.
    let recount: Vec<i64> = onramp::on_db!(&app.db, p => sqlx::query_as::<_, (i64, i64, i64, i64, i64, i64, i64)>(
        "SELECT COUNT(*), \
         SUM(CASE WHEN funnel_step >= 1 THEN 1 ELSE 0 END), SUM(CASE WHEN funnel_step >= 2 THEN 1 ELSE 0 END), \
         SUM(CASE WHEN funnel_step >= 3 THEN 1 ELSE 0 END), SUM(CASE WHEN funnel_step >= 4 THEN 1 ELSE 0 END), \
         SUM(CASE WHEN funnel_step >= 5 THEN 1 ELSE 0 END), SUM(CASE WHEN funnel_step >= 6 THEN 1 ELSE 0 END) \
         FROM applications").fetch_one(p).await)
    .map(|t| vec![t.0, t.1, t.2, t.3, t.4, t.5, t.6])
    .unwrap();
    assert_eq!(counts(&f["steps"]), recount);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fairness_rates_count_only_decided_people_and_flag_under_four_fifths() {
    let app = spawn_app_with(|s| s.fairness_min_group = 3).await;
    let manager = key_with_role(&app, "manager").await;
    // (area, took the quiz, stages) — a quiz taken has a score.
    let people: &[(&str, bool, &[&str])] = &[
        ("city", true, &["verified", "quiz_passed", "shortlisted"]),
        ("city", true, &["verified", "quiz_passed", "shortlisted"]),
        ("city", true, &["verified", "quiz_passed", "rejected"]),
        ("city", true, &["verified", "quiz_failed"]),
        ("rural", true, &["verified", "quiz_passed"]),
        ("rural", true, &["verified", "quiz_failed"]),
        ("rural", true, &["verified", "quiz_failed", "rejected"]),
        ("rural", false, &["verified"]),
        ("rural", false, &[]),
    ];
    let mut ids = Vec::new();
    for (n, (area, took, stages)) in people.iter().enumerate() {
        let mut body = valid_json(&format!("f{n}@example.com"));
        body["area"] = json!(area);
        let r = app.post_json("/api/v1/applications", &body).await;
        let id = r.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        for st in stages.iter() {
            app.set_stage(&id, st).await;
        }
        if *took {
            let uid: uuid::Uuid = id.parse().unwrap();
            let mut tx = app.db.begin().await.unwrap();
            onramp::on!(&mut tx, c => sqlx::query(
                "UPDATE applications SET score_bp = 6000 WHERE id = $1")
                .bind(uid).execute(&mut **c).await.map(|_| ()))
            .unwrap();
            tx.commit().await.unwrap();
        }
        ids.push(id);
    }
    // The last rural applicant was screened out by a knockout rule.
    let screened: uuid::Uuid = ids[8].parse().unwrap();
    let mut tx = app.db.begin().await.unwrap();
    onramp::on!(&mut tx, c => sqlx::query(
        "INSERT INTO screening_results (application_id, rule_id, outcome, reason, created_at) \
         VALUES ($1, 'test_rule', 'rejected', 'test', $2)")
        .bind(screened).bind(onramp::domain::now()).execute(&mut **c).await.map(|_| ()))
    .unwrap();
    tx.commit().await.unwrap();

    let f = app.report(&manager, "/api/v1/reports/fairness").await;
    assert_eq!(f["min_group"], 3);
    let area = f["segments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["segment"] == "area")
        .unwrap();
    let step = |name: &str| -> Value {
        area["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["step"] == name)
            .unwrap()
            .clone()
    };
    let group = |st: &Value, g: &str| -> (i64, i64, Option<f64>, bool) {
        let x = st["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["group"] == g)
            .unwrap();
        (
            x["decided"].as_i64().unwrap(),
            x["passed"].as_i64().unwrap(),
            x["impact_ratio"].as_f64(),
            x["flagged"].as_bool().unwrap(),
        )
    };
    // Screening: city 4 of 4, rural 4 of 5; ratio 0.8 exactly is not under four-fifths.
    let s = step("screening");
    assert_eq!(group(&s, "city"), (4, 4, Some(1.0), false));
    let (d, p, r, flagged) = group(&s, "rural");
    assert_eq!((d, p, flagged), (5, 4, false));
    assert!((r.unwrap() - 0.8).abs() < 1e-9);
    // Quiz: only those who took it. City 3 of 4 (0.75), rural 1 of 3: ratio 0.444, flagged.
    let q = step("quiz");
    assert_eq!(group(&q, "city").0, 4);
    let (d, p, r, flagged) = group(&q, "rural");
    assert_eq!((d, p, flagged), (3, 1, true));
    assert!((r.unwrap() - (1.0 / 3.0) / 0.75).abs() < 1e-9);
    // Shortlist: city 2 shortlisted, 1 rejected after passing: 3 decided. The rural one who
    // passed waits: decided nowhere, so no rate.
    let sl = step("shortlist");
    assert_eq!(group(&sl, "city").0, 3);
    assert_eq!(group(&sl, "city").1, 2);
    assert_eq!(group(&sl, "rural").0, 0);
    assert_eq!(group(&sl, "rural").2, None);
    // The flag is in the summary, and sizes show for every segment.
    let flags = f["flags"].as_array().unwrap();
    assert!(flags
        .iter()
        .any(|x| x["segment"] == "area" && x["group"] == "rural" && x["step"] == "quiz"));
    assert!(flags.iter().all(|x| x["decided"].as_i64().unwrap() >= 3));
    // With a bigger minimum nothing is flagged, and the ratios are still there.
    let strict = spawn_app_with(|s| s.fairness_min_group = 30).await;
    let k = key_with_role(&strict, "manager").await;
    let g = strict.report(&k, "/api/v1/reports/fairness").await;
    assert!(g["flags"].as_array().unwrap().is_empty());
    // The page shows the flag.
    app.staff_user("max@onramp.test", "manager").await;
    let cookie = app.sign_in("max@onramp.test").await;
    let html = app.get_as(&cookie, "/reports").await.text().await.unwrap();
    assert!(
        html.contains("1 flagged") || html.contains("flagged</strong>"),
        "{html}"
    );
    assert!(html.contains("Area: rate, people decided, impact ratio"));
}

/// Pearson's r, written out here to check the report independently.
fn pearson(xs: &[f64], ys: &[f64]) -> f64 {
    let n = xs.len() as f64;
    let (mx, my) = (xs.iter().sum::<f64>() / n, ys.iter().sum::<f64>() / n);
    let cov: f64 = xs.iter().zip(ys).map(|(x, y)| (x - mx) * (y - my)).sum();
    let vx: f64 = xs.iter().map(|x| (x - mx).powi(2)).sum();
    let vy: f64 = ys.iter().map(|y| (y - my).powi(2)).sum();
    cov / (vx * vy).sqrt()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quality_figures_are_imported_for_agents_and_correlated_with_quiz_scores() {
    let app = spawn_app().await;
    app.load_checklist().await;
    let manager = key_with_role(&app, "manager").await;
    let mut body = cohort_request("Quality cohort");
    body["start_date"] = json!(weeks_ago(4));
    let cohort = app.made_cohort(&body).await;
    // Five agents with quiz scores 50..90 %, and their weekly CSAT (two weeks each).
    let scores = [50.0, 60.0, 70.0, 80.0, 90.0];
    let csat = [
        [70.0, 74.0],
        [80.0, 76.0],
        [75.0, 77.0],
        [88.0, 90.0],
        [85.0, 95.0],
    ];
    let mut csv = String::from("email,week,csat,qa_score\n");
    for (i, score) in scores.iter().enumerate() {
        let email = format!("agent{i}@example.com");
        let id = app.live_agent(&cohort, &email).await;
        let uid: uuid::Uuid = id.parse().unwrap();
        let mut tx = app.db.begin().await.unwrap();
        onramp::on!(&mut tx, c => sqlx::query("UPDATE applications SET score_bp = $2 WHERE id = $1")
            .bind(uid).bind((*score * 100.0) as i64).execute(&mut **c).await.map(|_| ()))
        .unwrap();
        tx.commit().await.unwrap();
        csv.push_str(&format!("{email},2026-W40,{},\n", csat[i][0]));
        csv.push_str(&format!(
            "{email},2026-10-07,{},{}\n",
            csat[i][1],
            60.0 + 5.0 * i as f64
        ));
    }
    // A row for someone who is no agent, and a bad one.
    csv.push_str("ana@example.com,2026-W40,80,80\nagent0@example.com,2026-W99,80,\n");
    let now = onramp::domain::now();
    let dry = onramp::usecases::quality::import(&app.db, "test", csv.as_bytes(), true, "t", now)
        .await
        .unwrap();
    assert_eq!(dry.imported, 10);
    assert_eq!(
        app.count("agent_quality").await,
        0,
        "a dry run writes nothing"
    );
    let lines: Vec<(u64, &str)> = dry
        .refused
        .iter()
        .map(|r| (r.line, r.field.as_str()))
        .collect();
    assert_eq!(lines, [(12, "email"), (13, "week")]);
    let done = onramp::usecases::quality::import(&app.db, "test", csv.as_bytes(), false, "t", now)
        .await
        .unwrap();
    assert_eq!(done.imported, 10);
    assert_eq!(app.count("agent_quality").await, 10);

    let q = app.report(&manager, "/api/v1/reports/quality").await;
    assert_eq!(
        (q["agents"].clone(), q["with_figures"].clone()),
        (json!(5), json!(5))
    );
    let rel = |predictor: &str, outcome: &str| -> Value {
        q["relations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["predictor"] == predictor && r["outcome"] == outcome)
            .unwrap()
            .clone()
    };
    let means: Vec<f64> = csat.iter().map(|w| (w[0] + w[1]) / 2.0).collect();
    let expected = pearson(&scores, &means);
    let got = rel("quiz", "csat");
    assert_eq!(got["n"], 5);
    assert!(
        (got["r"].as_f64().unwrap() - expected).abs() < 1e-9,
        "{got}"
    );
    assert!(got["ci_low"].as_f64().unwrap() < expected);
    assert!(got["ci_high"].as_f64().unwrap() > expected);
    // QA rises exactly with the score: r = 1.
    assert!((rel("quiz", "qa_score")["r"].as_f64().unwrap() - 1.0).abs() < 1e-9);
    // Nobody has been live 90 days: no pairs for retention.
    assert_eq!(rel("quiz", "retention_90")["n"], 0);
    assert_eq!(rel("quiz", "retention_90")["r"], Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn synthetic_history_is_consistent_with_the_reports_and_a_rebuild() {
    let app = spawn_app().await;
    let manager = key_with_role(&app, "manager").await;
    onramp::synthetic::generate(&app.db, 4_000, |_| {})
        .await
        .unwrap();
    let agents: i64 = onramp::on_db!(&app.db, p => sqlx::query_scalar(
        "SELECT COUNT(*) FROM applications WHERE went_live_at IS NOT NULL").fetch_one(p).await)
    .unwrap();
    assert!(agents > 100, "{agents}");
    let offers: i64 = onramp::on_db!(&app.db, p => sqlx::query_scalar(
        "SELECT COUNT(*) FROM offers WHERE status = 'accepted'").fetch_one(p).await)
    .unwrap();
    assert_eq!(offers, agents, "every agent holds a seat");
    // Three years of daily rows, one per market and day.
    let days: i64 = onramp::on_db!(&app.db, p => sqlx::query_scalar(
        "SELECT COUNT(DISTINCT day) FROM live_daily").fetch_one(p).await)
    .unwrap();
    assert_eq!(days, 3 * 365 + 1);
    // Live now equals the agents live now.
    let live_now: i64 = onramp::on_db!(&app.db, p => sqlx::query_scalar(
        "SELECT COUNT(*) FROM applications WHERE status = 'live'").fetch_one(p).await)
    .unwrap();
    let path = "/api/v1/reports/replacement?from=2020-01-01";
    let before = app.report(&manager, path).await;
    let weeks = before["weeks"].as_array().unwrap();
    assert_eq!(weeks.last().unwrap()["live"], live_now);
    assert!(weeks.last().unwrap()["outsourced"].as_i64().unwrap() > 1000);
    // The funnel counts every agent as live, and retention has eligible agents.
    let f = app
        .report(&manager, "/api/v1/reports/funnel?from=2020-01-01")
        .await;
    assert_eq!(f["steps"][6]["count"], agents);
    assert!(f["retention"][2]["eligible"].as_i64().unwrap() > 0);
    assert!(f["median_days_to_live"].as_f64().unwrap() > 14.0);
    // A rebuild from the timelines gives the same series, funnel and fairness.
    let funnel_before = app
        .report(&manager, "/api/v1/reports/funnel?from=2020-01-01")
        .await;
    let fairness_before = app
        .report(&manager, "/api/v1/reports/fairness?from=2020-01-01")
        .await;
    onramp::usecases::reports::rebuild(&app.db, onramp::domain::now())
        .await
        .unwrap();
    assert_eq!(app.report(&manager, path).await, before);
    assert_eq!(
        app.report(&manager, "/api/v1/reports/funnel?from=2020-01-01")
            .await,
        funnel_before
    );
    assert_eq!(
        app.report(&manager, "/api/v1/reports/fairness?from=2020-01-01")
            .await,
        fairness_before
    );
    let forecast = app.report(&manager, "/api/v1/reports/forecast").await;
    assert_eq!(forecast["weeks_used"], 8);

    // Fairness counts kept by the triggers equal a recount over the applications themselves.
    let fair = app
        .report(&manager, "/api/v1/reports/fairness?from=2020-01-01")
        .await;
    let area = fair["segments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["segment"] == "area")
        .unwrap()
        .clone();
    const FINAL: &str = "status IN ('rejected', 'withdrawn')";
    let recount_sql = format!(
        "SELECT area, COUNT(*), \
         SUM(CASE WHEN screened_out THEN 0 ELSE 1 END), \
         SUM(CASE WHEN score_bp >= 0 OR funnel_step >= 2 THEN 1 ELSE 0 END), \
         SUM(CASE WHEN funnel_step >= 2 THEN 1 ELSE 0 END), \
         SUM(CASE WHEN funnel_step >= 3 OR (funnel_step = 2 AND {FINAL}) THEN 1 ELSE 0 END), \
         SUM(CASE WHEN funnel_step >= 3 THEN 1 ELSE 0 END), \
         SUM(CASE WHEN funnel_step >= 4 OR (funnel_step = 3 AND {FINAL}) THEN 1 ELSE 0 END), \
         SUM(CASE WHEN funnel_step >= 4 THEN 1 ELSE 0 END), \
         SUM(CASE WHEN funnel_step >= 6 OR (funnel_step = 5 AND {FINAL}) THEN 1 ELSE 0 END), \
         SUM(CASE WHEN funnel_step >= 6 THEN 1 ELSE 0 END) \
         FROM applications GROUP BY area ORDER BY area"
    );
    let recount: Vec<(String, Vec<i64>)> = onramp::on_db!(&app.db, p => {
        use sqlx::Row;
        sqlx::query(&recount_sql).fetch_all(p).await.map(|rows| {
            rows.iter()
                .map(|r| {
                    let n: Vec<i64> = (1..=10).map(|k| r.get::<i64, _>(k)).collect();
                    (r.get::<String, _>(0), n)
                })
                .collect()
        })
    })
    .unwrap();
    for (group, numbers) in recount {
        let mut kept = Vec::new();
        for step in area["steps"].as_array().unwrap() {
            let g = step["groups"]
                .as_array()
                .unwrap()
                .iter()
                .find(|g| g["group"] == group.as_str())
                .unwrap();
            kept.push(g["decided"].as_i64().unwrap());
            kept.push(g["passed"].as_i64().unwrap());
        }
        assert_eq!(kept, numbers, "{group}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_pilot_gives_the_reports_and_cohort_pages_something_to_show() {
    let app = spawn_app().await;
    app.load_checklist().await;
    let intake = onramp::usecases::intake::Intake::start(app.db.clone(), app.settings.clone());
    let seed = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("seed");
    onramp::seed::load_headcount(&app.db, &seed.join("headcount.toml"))
        .await
        .unwrap();
    let n = onramp::seed::load_pilot(&app.db, &intake, &seed.join("pilot.toml"))
        .await
        .unwrap();
    assert_eq!(n, 15);
    let manager = key_with_role(&app, "manager").await;
    let r = app.report(&manager, "/api/v1/reports/replacement").await;
    let weeks = r["weeks"].as_array().unwrap();
    // Four live in each wave 1 (one left, one paused in Stockholm), one in wave 2.
    assert_eq!(weeks.last().unwrap()["live"], 9);
    let se = app
        .report(&manager, "/api/v1/reports/replacement?market=SE")
        .await;
    assert_eq!(se["weeks"].as_array().unwrap().last().unwrap()["live"], 5);
    // Twenty weeks ago nobody was live yet; the series rises.
    let lives: Vec<i64> = weeks.iter().map(|w| w["live"].as_i64().unwrap()).collect();
    assert_eq!(lives[lives.len() - 25], 0, "{lives:?}");
    assert!(lives.iter().max().unwrap() >= &10, "{lives:?}");
    let f = app.report(&manager, "/api/v1/reports/forecast").await;
    assert!(f["weeks_used"].as_i64().unwrap() > 0, "{f}");
    // They applied before going live: the funnel counts them in the past and a positive
    // median time to go live.
    let funnel = app.report(&manager, "/api/v1/reports/funnel").await;
    assert_eq!(funnel["steps"][6]["count"], 12);
    let median = funnel["median_days_to_live"].as_f64().unwrap();
    assert!((40.0..=60.0).contains(&median), "{median}");
    assert!(
        funnel["retention"][0]["eligible"].as_i64().unwrap() >= 11,
        "{funnel}"
    );
    // The newest cohort's page: members onboarding, one ready to activate.
    app.staff_user("rita@onramp.test", "recruiter").await;
    let cookie = app.sign_in("rita@onramp.test").await;
    let list = app
        .get_as(&cookie, "/admin/cohorts")
        .await
        .text()
        .await
        .unwrap();
    assert!(list.contains("Stockholm pilot, wave 2"), "{list}");
    let wave2: uuid::Uuid = onramp::on_db!(&app.db, p => sqlx::query_scalar(
        "SELECT id FROM cohorts WHERE name = 'Stockholm pilot, wave 2'").fetch_one(p).await)
    .unwrap();
    let page = app
        .get_as(&cookie, &format!("/admin/cohorts/{wave2}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Activate all 1 ready"), "{page}");
    // Nobody was emailed.
    assert_eq!(app.count("outbox").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fairness_shows_who_waits_at_each_step_and_flags_a_group_kept_waiting() {
    let app = spawn_app_at(
        |s| s.fairness_min_group = 2,
        onramp::clock::Clock::manual(onramp::domain::now()),
    )
    .await;
    let manager = key_with_role(&app, "manager").await;
    // Two city and two rural applicants passed the quiz and wait for the shortlist: the city
    // ones for a day, the rural ones for ten.
    let now = app.db.now();
    for (n, (area, waited)) in [("city", 1), ("city", 1), ("rural", 10), ("rural", 12)]
        .iter()
        .enumerate()
    {
        let mut body = valid_json(&format!("w{n}@example.com"));
        body["area"] = json!(area);
        let r = app.post_json("/api/v1/applications", &body).await;
        let id: uuid::Uuid = r.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        let since = now - chrono::Duration::days(*waited);
        let mut tx = app.db.begin().await.unwrap();
        onramp::on!(&mut tx, c => sqlx::query(
            "UPDATE applications SET status = 'quiz_passed', score_bp = 8000, \
             email_verified_at = $2, stage_since = $2 WHERE id = $1")
            .bind(id).bind(since).execute(&mut **c).await.map(|_| ()))
        .unwrap();
        tx.commit().await.unwrap();
    }
    let f = app.report(&manager, "/api/v1/reports/fairness").await;
    let shortlist = f["segments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["segment"] == "area")
        .unwrap()["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["step"] == "shortlist")
        .unwrap()
        .clone();
    let group = |g: &str| {
        shortlist["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["group"] == g)
            .unwrap()
            .clone()
    };
    // No one is decided at the shortlist, so no rate can show the difference; the waits do.
    assert_eq!(group("city")["decided"], 0);
    assert_eq!(group("city")["pending"], 2);
    assert_eq!(group("city")["median_wait_days"], 1.0);
    assert_eq!(group("city")["wait_flagged"], false);
    assert_eq!(group("rural")["pending"], 2);
    assert_eq!(group("rural")["median_wait_days"], 11.0);
    assert_eq!(group("rural")["wait_flagged"], true);
    let flags = f["wait_flags"].as_array().unwrap();
    assert!(
        flags.iter().any(|x| x["segment"] == "area"
            && x["group"] == "rural"
            && x["step"] == "shortlist"
            && x["pending"] == 2),
        "{flags:?}"
    );
    // Nobody waits at screening, where everyone is decided at once.
    assert!(f["segments"][0]["steps"][0]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .all(|g| g["pending"] == 0));
    // Once the rural pair is decided, nobody is kept waiting.
    app.clock.advance(chrono::Duration::hours(1));
    let mut tx = app.db.begin().await.unwrap();
    onramp::on!(&mut tx, c => sqlx::query(
        "UPDATE applications SET status = 'shortlisted' WHERE area = 'rural'")
        .execute(&mut **c).await.map(|_| ()))
    .unwrap();
    tx.commit().await.unwrap();
    let f = app.report(&manager, "/api/v1/reports/fairness").await;
    assert!(f["wait_flags"].as_array().unwrap().is_empty(), "{f}");
    // The page states the rule and shows the waits.
    app.staff_user("mia@onramp.test", "manager").await;
    let cookie = app.sign_in("mia@onramp.test").await;
    let html = app.get_as(&cookie, "/reports").await.text().await.unwrap();
    assert!(html.contains("No group is flagged for waiting"), "{html}");
    assert!(html.contains("2 waiting, median 1.0 d"), "{html}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weeks_before_any_headcount_are_a_gap_and_long_tables_fold_away() {
    let app = spawn_app().await;
    let key = key_with_role(&app, "manager").await;
    let today = app.db.now().date_naive();
    // The first headcount was recorded ten weeks ago.
    app.headcount(&key, "Northwind", "SE", today - chrono::Days::new(70), 120)
        .await;
    let from = today - chrono::Days::new(7 * 20);
    let r = app
        .report(&key, &format!("/api/v1/reports/replacement?from={from}"))
        .await;
    let weeks = r["weeks"].as_array().unwrap();
    assert!(weeks.len() >= 20, "{r}");
    let known: Vec<bool> = weeks
        .iter()
        .map(|w| w["outsourced_known"].as_bool().unwrap())
        .collect();
    assert!(!known[0] && *known.last().unwrap(), "{known:?}");
    // Unknown, then known for good: never a week back to unknown.
    assert!(known.windows(2).all(|p| p[0] <= p[1]), "{known:?}");
    // The page draws no point at zero for them, and says "–" in the table.
    app.staff_user("mia@onramp.test", "manager").await;
    let cookie = app.sign_in("mia@onramp.test").await;
    let html = app
        .get_as(&cookie, &format!("/reports?from={from}"))
        .await
        .text()
        .await
        .unwrap();
    let outsourced = html
        .split("<polyline class=\"line outsourced\"")
        .nth(1)
        .expect("the outsourced line");
    let points = outsourced.split("points=\"").nth(1).unwrap();
    let points = &points[..points.find('"').unwrap()];
    let first_x: f64 = points.split(',').next().unwrap().parse().unwrap();
    assert!(
        first_x > 100.0,
        "the line starts where the figures do: {points}"
    );
    assert!(html.contains("<td class=\"num\">–</td>"), "{html}");
    // Three years of weeks: the table folds behind its summary; twenty weeks stay open.
    assert!(
        html.contains("<details class=\"long-table\">\n  <summary>The figures week by week"),
        "{html}"
    );
    let long = app
        .get_as(
            &cookie,
            &format!("/reports?from={}", today - chrono::Days::new(3 * 365)),
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(
        long.contains("<details class=\"long-table\">\n  <summary>The figures week by week"),
        "{long}"
    );
    let short = app
        .get_as(
            &cookie,
            &format!("/reports?from={}", today - chrono::Days::new(35)),
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(
        short.contains("<details class=\"long-table\" open>\n  <summary>The figures week by week"),
        "{short}"
    );
}
