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
    body["start_date"] = json!("2026-01-05");
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
            json!({ "vendor": "A", "market": "SE", "date": "2026-01-05", "headcount": -1 }),
            "headcount",
        ),
        (
            json!({ "vendor": "A", "market": "SE", "date": "2026-01-05", "headcount": "12" }),
            "headcount",
        ),
        (
            json!({ "vendor": "A", "market": "SE", "date": "2026-01-05", "headcount": 1.5 }),
            "headcount",
        ),
        (
            json!({ "vendor": "A", "market": "SE", "date": "2026-01-05" }),
            "headcount",
        ),
        (
            json!({ "vendor": "", "market": "SE", "date": "2026-01-05", "headcount": 1 }),
            "vendor",
        ),
        (
            json!({ "vendor": "A\nB", "market": "SE", "date": "2026-01-05", "headcount": 1 }),
            "vendor",
        ),
        (
            json!({ "vendor": "A", "market": "XX", "date": "2026-01-05", "headcount": 1 }),
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
            json!({ "vendor": 7, "market": "SE", "date": "2026-01-05", "headcount": 1 }),
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
            Some(&json!({ "vendor": "A", "market": "SE", "date": "2026-01-05", "headcount": -3 })),
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
        for report in ["replacement", "forecast"] {
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
            "/api/v1/headcount",
        ] {
            let r = app.send_key(Method::GET, &key, path, None).await;
            assert_eq!(r.status(), 403, "{role} {path}");
        }
        let body = json!({ "vendor": "A", "market": "SE", "date": "2026-01-05", "headcount": 1 });
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
