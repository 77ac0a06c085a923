//! Quiz benchmark (see benches/README.md):
//!
//! 1. Scoring throughput: `POST /quiz/{token}/submit` for attempts of a 30-question quiz with every
//!    answer saved, against `POST /bench/baseline` (one INSERT in one write transaction through
//!    the same pool), same client count, same run.
//! 2. Item analysis of a quiz with 100,000 scored attempts: the recruiters' page and the JSON
//!    endpoint, against computing the same statistics from the 3,000,000 scored items in memory.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use onramp::app::Application;
use onramp::config::Settings;
use onramp::domain::quiz::{
    item_analysis, rest_scores, score_attempt, Answer, ItemSums, ItemToScore, Kind, Question,
    QuizDef, ScoredItem,
};
use onramp::domain::token::SecretToken;
use onramp::domain::{application::RawApplication, now, staff};
use onramp::email::Mailer;
use onramp::store::{applications, attempts, quizzes, tokens, users, Db};
use onramp::usecases::intake::Channel;
use rand::Rng;
use uuid::Uuid;

mod common;

fn env_or<T: std::str::FromStr>(key: &str, default: T) -> T {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(run());
}

fn bench_quiz() -> QuizDef {
    QuizDef {
        slug: "bench-30".into(),
        title: "Benchmark quiz".into(),
        active: true,
        time_limit_minutes: 60,
        pass_percent: 70,
        max_attempts: 10,
        cooldown_hours: 0,
        markets: vec![],
        languages: vec![],
        draw: [
            ("tone".to_string(), 8),
            ("product".to_string(), 8),
            ("policy".to_string(), 6),
            ("fraud".to_string(), 5),
            ("language:en".to_string(), 3),
        ]
        .into(),
        category_pass_percent: [("fraud".to_string(), 50)].into(),
    }
}

/// A right or a wrong answer to `q`.
fn answer(q: &Question, right: bool) -> Answer {
    match q.kind {
        Kind::Single => {
            let c = q
                .choices
                .iter()
                .find(|c| (c.credit.unwrap_or(0.0) >= 1.0) == right)
                .unwrap();
            Answer::Single(c.key.clone())
        }
        Kind::Multiple => Answer::Multiple(
            q.choices
                .iter()
                .filter(|c| (c.credit.unwrap_or(0.0) > 0.0) == right)
                .map(|c| c.key.clone())
                .collect(),
        ),
        Kind::Judgement => {
            let n = q.choices.len() as u32;
            let key = |r: u32| {
                q.choices
                    .iter()
                    .find(|c| c.rank == Some(r))
                    .unwrap()
                    .key
                    .clone()
            };
            let (b, w) = if right { (1, n) } else { (n, 1) };
            Answer::Judgement {
                best: key(b),
                worst: key(w),
            }
        }
    }
}

/// One simulated scored item, owned, for the in-memory baseline.
struct RawItem {
    attempt: u64,
    item: u64,
    score: f64,
    weight: f64,
    picked: Vec<String>,
    seconds: f64,
}

struct Latencies(Vec<f64>);

impl Latencies {
    fn pct(&mut self, p: f64) -> f64 {
        self.0.sort_by(f64::total_cmp);
        self.0[((self.0.len() as f64 * p) as usize).min(self.0.len() - 1)]
    }
}

/// Posts `bodies[i]` to `urls[i]` with `clients` concurrent keep-alive clients; returns requests
/// per second and the latencies in ms.
async fn post_all(
    client: &reqwest::Client,
    requests: Vec<(String, String)>,
    clients: usize,
) -> (f64, Latencies, usize) {
    let queue = Arc::new(std::sync::Mutex::new(requests));
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..clients {
        let (client, queue) = (client.clone(), queue.clone());
        tasks.spawn(async move {
            let (mut lat, mut errors) = (Vec::new(), 0);
            loop {
                let Some((url, body)) = queue.lock().unwrap().pop() else {
                    return (lat, errors);
                };
                let t = Instant::now();
                let r = client
                    .post(&url)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(body)
                    .send()
                    .await;
                if !matches!(&r, Ok(r) if r.status().as_u16() < 400) {
                    errors += 1;
                }
                lat.push(t.elapsed().as_secs_f64() * 1000.0);
            }
        });
    }
    let (mut all, mut errors) = (Vec::new(), 0);
    while let Some(r) = tasks.join_next().await {
        let (l, e) = r.unwrap();
        all.extend(l);
        errors += e;
    }
    let rate = all.len() as f64 / start.elapsed().as_secs_f64();
    (rate, Latencies(all), errors)
}

async fn run() {
    let n: usize = env_or("BENCH_SUBMISSIONS", 2000);
    let clients: usize = env_or("BENCH_CLIENTS", 16);
    let analysed: usize = env_or("BENCH_ANALYSIS_ATTEMPTS", 100_000);
    let dir = tempfile::tempdir().unwrap();
    let url = match std::env::var("BENCH_DATABASE_URL") {
        Ok(u) if !u.is_empty() => u,
        _ => format!("sqlite://{}", dir.path().join("bench.db").display()),
    };
    let settings = Settings {
        bind: "127.0.0.1:0".parse().unwrap(),
        database_url: url,
        data_dir: dir.path().into(),
        seed_demo: false,
        ..Default::default()
    };
    let mailer = Mailer::Memory(Default::default());
    let app = Application::build(settings, mailer).await.unwrap();
    let db = app.state.db.clone();
    let intake = app.state.intake.clone();
    let state_settings = app.state.settings.clone();
    let base = format!("http://{}", app.addr);
    common::create_baseline_table(&db).await;
    let extra = common::baseline_routes(db.clone());
    tokio::spawn(app.run_with_extra_routes(extra, std::future::pending(), false));

    let seed = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("seed/questions.toml");
    onramp::seed::import_questions(&db, &seed).await.unwrap();
    let mut tx = db.begin().await.unwrap();
    quizzes::save_quiz(&mut tx, &bench_quiz(), now())
        .await
        .unwrap();
    tx.commit().await.unwrap();

    println!(
        "onramp quiz benchmark: engine={} submissions={n} clients={clients} release={}",
        db.engine(),
        !cfg!(debug_assertions)
    );
    println!("setting up {n} applicants with a started, fully answered 30-question attempt ...");
    let t = Instant::now();
    let mut submits = Vec::with_capacity(n);
    let mut rng = rand::thread_rng();
    for i in 0..n {
        let raw = serde_json::json!({
            "full_name": "Bench Taker", "email": format!("taker{i}@example.com"),
            "country": "SE", "area": "city", "languages": ["sv", "en"], "weekly_hours": 20,
            "adult": true, "equipment": true, "consent": true
        });
        let (raw, _) = RawApplication::from_json(&raw);
        let done = intake
            .submit(raw.parse().unwrap(), Channel::Seed)
            .await
            .unwrap();
        let token = SecretToken::generate();
        let mut tx = db.begin().await.unwrap();
        applications::mark_email_verified(&mut tx, done.id, now())
            .await
            .unwrap();
        let expires = now() + chrono::Duration::days(1);
        tokens::insert_many(
            &mut tx,
            &[tokens::NewToken {
                hash: token.hash(),
                application_id: done.id,
                purpose: tokens::QUIZ,
                expires_at: expires,
                replaces: false,
            }],
            now(),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let started = onramp::usecases::assessment::start(&db, &state_settings, done.id)
            .await
            .unwrap();
        let onramp::usecases::assessment::Started::Running(attempt_id) = started else {
            panic!("could not start: {started:?}");
        };
        let attempt = attempts::latest(&db, done.id).await.unwrap().unwrap();
        for item in attempts::items(&db, attempt_id).await.unwrap() {
            let a = answer(&item.question, rng.gen_bool(0.75));
            onramp::usecases::assessment::save_answer(&db, &attempt, item.position, &a)
                .await
                .unwrap();
        }
        submits.push((
            format!("{base}/quiz/{}/submit", token.as_str()),
            format!("attempt={attempt_id}"),
        ));
    }
    println!("  setup took {:.1} s", t.elapsed().as_secs_f64());

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // Warm the baseline path, then measure it and the submissions with the same load shape.
    let warm = vec![(format!("{base}/bench/baseline"), String::new()); 500];
    post_all(&client, warm, clients).await;
    let baseline = vec![(format!("{base}/bench/baseline"), String::new()); n];
    let (b_rate, mut b_lat, b_err) = post_all(&client, baseline, clients).await;
    let (s_rate, mut s_lat, s_err) = post_all(&client, submits, clients).await;
    let scored: i64 = onramp::on_db!(&db, p => sqlx::query_scalar(
        "SELECT COUNT(*) FROM quiz_attempts WHERE status = 'scored'").fetch_one(p).await)
    .unwrap();
    assert_eq!(scored as usize, n, "every attempt scored");
    println!();
    println!(
        "{:<22} {:>10} {:>9} {:>9} {:>7}",
        "scoring", "req/s", "p50 ms", "p99 ms", "errors"
    );
    println!(
        "{:<22} {:>10.0} {:>9.2} {:>9.2} {:>7}",
        "baseline (1 INSERT)",
        b_rate,
        b_lat.pct(0.5),
        b_lat.pct(0.99),
        b_err
    );
    println!(
        "{:<22} {:>10.0} {:>9.2} {:>9.2} {:>7}",
        "submit (30 questions)",
        s_rate,
        s_lat.pct(0.5),
        s_lat.pct(0.99),
        s_err
    );
    println!("ratio submit/baseline: {:.2}", s_rate / b_rate);

    // Item analysis runs on a quiz of its own, so the statistics are exactly the simulated ones.
    let mut def = bench_quiz();
    def.slug = "bench-analysis".into();
    let mut tx = db.begin().await.unwrap();
    let analysis_quiz = quizzes::save_quiz(&mut tx, &def, now()).await.unwrap();
    tx.commit().await.unwrap();
    analysis(&db, &client, &base, analysis_quiz, analysed).await;
}

/// Scores `count` simulated attempts with the same functions the submit path uses (draw, score,
/// rest-of-test, running sums), stores the sums the same way, then times the analysis page.
async fn analysis(db: &Db, client: &reqwest::Client, base: &str, quiz_id: Uuid, count: usize) {
    println!();
    println!("simulating {count} scored attempts for item analysis ...");
    let t = Instant::now();
    let def = bench_quiz();
    let pools = quizzes::pools(db).await.unwrap();
    let ids: Vec<Uuid> = pools.values().flatten().copied().collect();
    let versions = quizzes::versions(db, &ids).await.unwrap();
    // Each question gets a difficulty, each applicant an ability, so the statistics vary.
    let mut rng = rand::thread_rng();
    let difficulty: BTreeMap<Uuid, f64> = ids
        .iter()
        .map(|id| (*id, rng.gen_range(-0.3..0.3)))
        .collect();
    let mut raw_items: Vec<RawItem> = Vec::new();
    let index: BTreeMap<Uuid, u64> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (*id, i as u64))
        .collect();
    let mut sums: BTreeMap<Uuid, ItemSums> = BTreeMap::new();
    for a in 0..count {
        let ability: f64 = rng.gen_range(0.2..1.0);
        let drawn = onramp::domain::quiz::draw(&def, &pools, &mut rng).unwrap();
        let answers: Vec<Answer> = drawn
            .iter()
            .map(|(_, id)| {
                let p = (ability + difficulty[id]).clamp(0.02, 0.98);
                answer(&versions[id], rng.gen_bool(p))
            })
            .collect();
        let items: Vec<ItemToScore> = drawn
            .iter()
            .zip(&answers)
            .map(|((c, id), ans)| ItemToScore {
                question: &versions[id],
                category: c,
                weight_bp: quizzes::weight_bp(versions[id].weight),
                answer: Some(ans),
            })
            .collect();
        let score = score_attempt(&def, &items);
        let weights: Vec<i64> = items.iter().map(|i| i.weight_bp).collect();
        let rest = rest_scores(&weights, &score.items);
        for (((_, id), ans), (x, y)) in drawn
            .iter()
            .zip(&answers)
            .zip(score.items.iter().zip(&rest))
        {
            let seconds = rng.gen_range(8..120);
            sums.entry(*id)
                .or_default()
                .add(*x, *y, Some(seconds), &ans.picked());
            raw_items.push(RawItem {
                attempt: a as u64,
                item: index[id],
                score: *x as f64 / 10_000.0,
                weight: versions[id].weight,
                picked: ans.picked().into_iter().map(String::from).collect(),
                seconds: seconds as f64,
            });
        }
    }
    let mut tx = db.begin().await.unwrap();
    quizzes::add_item_stats(&mut tx, quiz_id, &sums)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    println!(
        "  {} scored items simulated in {:.1} s",
        raw_items.len(),
        t.elapsed().as_secs_f64()
    );

    // Baseline: the same statistics straight from every scored item, in memory (no database).
    let scored: Vec<ScoredItem> = raw_items
        .iter()
        .map(|r| ScoredItem {
            attempt: r.attempt,
            item: r.item,
            score: r.score,
            weight: r.weight,
            picked: r.picked.iter().map(String::as_str).collect(),
            seconds: Some(r.seconds),
        })
        .collect();
    let t = Instant::now();
    let from_raw = item_analysis(&scored, Settings::default().analysis_min_attempts);
    let raw_ms = t.elapsed().as_secs_f64() * 1000.0;

    let password = "bench password 123";
    let mut tx = db.begin().await.unwrap();
    users::create(
        &mut tx,
        "bench@onramp.test",
        "recruiter",
        &staff::hash_password(password).unwrap(),
        now(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let login = client
        .post(format!("{base}/admin/login"))
        .form(&[("email", "bench@onramp.test"), ("password", password)])
        .send()
        .await
        .unwrap();
    let cookie = login.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let mut page = Latencies(Vec::new());
    let mut json = Latencies(Vec::new());
    let mut body = serde_json::Value::Null;
    for _ in 0..30 {
        let t = Instant::now();
        let r = client
            .get(format!("{base}/admin/quizzes/bench-analysis/analysis"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.bytes().await.unwrap();
        page.0.push(t.elapsed().as_secs_f64() * 1000.0);
        let t = Instant::now();
        let r = client
            .get(format!("{base}/admin/quizzes/bench-analysis/analysis.json"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        body = r.json().await.unwrap();
        json.0.push(t.elapsed().as_secs_f64() * 1000.0);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The page agrees with the in-memory computation.
    let items = body["items"].as_array().unwrap();
    assert_eq!(items.len(), from_raw.len());
    let total: i64 = items.iter().map(|i| i["attempts"].as_i64().unwrap()).sum();
    assert_eq!(total as usize, raw_items.len());
    for (i, stats) in &from_raw {
        let id = ids[*i as usize].to_string();
        let got = items
            .iter()
            .find(|x| x["version_id"] == id.as_str())
            .unwrap();
        assert!((got["facility"].as_f64().unwrap() - stats.facility).abs() < 1e-9);
        if let Some(d) = stats.discrimination {
            assert!((got["discrimination"].as_f64().unwrap() - d).abs() < 1e-6);
        }
    }
    println!();
    println!(
        "item analysis over {count} attempts ({} question versions):",
        items.len()
    );
    println!(
        "  page  p50 {:.2} ms, p95 {:.2} ms (target < 200 ms)",
        page.pct(0.5),
        page.pct(0.95)
    );
    println!(
        "  JSON  p50 {:.2} ms, p95 {:.2} ms",
        json.pct(0.5),
        json.pct(0.95)
    );
    println!(
        "  baseline: the same statistics from {} raw scored items in memory: {raw_ms:.0} ms",
        raw_items.len()
    );
    println!("  ratio page p50 / baseline: {:.4}", page.pct(0.5) / raw_ms);
}
