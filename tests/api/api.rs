//! The JSON API for integrations.

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_then_read_back_with_an_api_key() {
    let app = spawn_app().await;
    let resp = app
        .post_json("/api/v1/applications", &valid_json("api@example.com"))
        .await;
    assert_eq!(resp.status(), 201);
    let created: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(created["status"], "applied");
    let id = created["id"].as_str().unwrap().to_string();

    // The same email again, however written: 200 with the same id, nothing new stored.
    let before = app.snapshot().await;
    let resp = app
        .post_json("/api/v1/applications", &valid_json(" API@Example.com"))
        .await;
    assert_eq!(resp.status(), 200);
    let again: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(again["id"], created["id"]);
    assert_eq!(app.snapshot().await, before);

    let get = |key: Option<&str>, id: &str| {
        let mut req = app
            .client
            .get(format!("{}/api/v1/applications/{id}", app.base));
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        req.send()
    };
    let resp = get(Some(&app.api_key), &id).await.unwrap();
    assert_eq!(resp.status(), 200);
    let a: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(a["email"], "api@example.com");
    assert_eq!(a["country"], "SE");
    assert_eq!(a["weekly_hours"], 20);
    assert_eq!(a["screening"].as_array().unwrap().len(), 3);

    let resp = get(None, &id).await.unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(resp.headers()["www-authenticate"], "Bearer");
    assert_eq!(get(Some("onr_wrong"), &id).await.unwrap().status(), 401);
    assert_eq!(
        get(Some(&app.api_key), &uuid::Uuid::now_v7().to_string())
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        get(Some(&app.api_key), "not-a-uuid")
            .await
            .unwrap()
            .status(),
        404
    );

    // Creating needs a key too.
    let resp = app
        .client
        .post(format!("{}/api/v1/applications", app.base))
        .json(&valid_json("nokey@example.com"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);

    // A revoked key stops working.
    let key_id: uuid::Uuid =
        onramp::on_db!(&app.db, p => sqlx::query_scalar("SELECT id FROM api_keys")
        .fetch_one(p).await)
        .unwrap();
    let mut tx = app.db.begin().await.unwrap();
    onramp::store::api_keys::revoke(&mut tx, key_id, onramp::domain::now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(get(Some(&app.api_key), &id).await.unwrap().status(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_document_describes_the_api() {
    let app = spawn_app().await;
    let resp = app.get("/api/openapi.json").await;
    assert_eq!(resp.status(), 200);
    let doc: serde_json::Value = resp.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    assert!(doc["paths"]["/api/v1/applications"]["post"].is_object());
    assert!(doc["paths"]["/api/v1/applications/{id}"]["get"].is_object());
    assert!(doc["components"]["securitySchemes"]["api_key"].is_object());
    assert!(doc["components"]["schemas"]["ApplicationIn"]["properties"]["ref"].is_object());
}
