//! The question bank: import, versioning on change, export.

use onramp::domain::quiz::{parse_bank, write_bank};
use onramp::store::quizzes;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_versions_changed_questions_and_export_reads_back() {
    let app = spawn_app().await;
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/seed/questions.toml"))
        .unwrap();
    let mut bank = parse_bank(&text).unwrap();
    let n = bank.len();
    let now = onramp::domain::now();

    let first = quizzes::import(&app.db, &bank, now).await.unwrap();
    assert_eq!(
        (first.created, first.new_versions, first.unchanged),
        (n, 0, 0)
    );
    // Importing the same file again changes nothing.
    let again = quizzes::import(&app.db, &bank, now).await.unwrap();
    assert_eq!(
        (again.created, again.new_versions, again.unchanged),
        (0, 0, n)
    );

    // Editing a question makes a new version; the old one stays as it was.
    let slug = bank[0].key.clone();
    let old_prompt = bank[0].prompt.clone();
    bank[0].prompt.push_str(" (edited)");
    let edit = quizzes::import(&app.db, &bank, now).await.unwrap();
    assert_eq!(
        (edit.created, edit.new_versions, edit.unchanged),
        (0, 1, n - 1)
    );
    assert_eq!(quizzes::version_count(&app.db, &slug).await.unwrap(), 2);
    let prompts: Vec<String> = onramp::on_db!(&app.db, p => sqlx::query_scalar(
        "SELECT v.prompt FROM question_versions v JOIN questions q ON q.id = v.question_id \
         WHERE q.slug = $1 ORDER BY v.version").bind(&slug).fetch_all(p).await)
    .unwrap();
    assert_eq!(prompts, [old_prompt, bank[0].prompt.clone()]);

    // Export holds the latest versions and reads back to the same bank.
    let latest = quizzes::latest(&app.db).await.unwrap();
    let exported = parse_bank(&write_bank(&latest)).unwrap();
    let mut expected = bank.clone();
    expected.sort_by(|a, b| a.key.cmp(&b.key));
    assert_eq!(exported, expected);
}

#[test]
fn an_invalid_bank_names_every_problem() {
    let problems = parse_bank(
        r#"
        [[question]]
        key = "x-001"
        category = "tone"
        kind = "multiple"
        prompt = "Pick"
        explanation = "Because"
        [[question.choice]]
        key = "a"
        text = "A"
        credit = 0.5
        [[question.choice]]
        key = "b"
        text = "B"
        credit = -0.5
        "#,
    )
    .unwrap_err();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].starts_with("question x-001: choice: the positive credits add up to 1"));
}
