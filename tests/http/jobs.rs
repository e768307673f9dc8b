//! A profile's jobs: `/profiles/{id}/jobs`, `/jobs/{id}`.

use axum::http::StatusCode;
use serde_json::json;

use crate::{api, assert_detail, locs};

#[tokio::test]
async fn jobs_are_added_listed_updated_and_deactivated() {
    let api = api();
    let ada = api.register("ada").await;
    let bob = api.register("bob").await;
    let profile = api.profile(&ada, true).await;
    let list = format!("/api/v1/profiles/{profile}/jobs");
    let reply = api
        .post(
            &list,
            Some(&ada.access),
            json!({"title": "Analyst", "company": "Engines Ltd", "start_date": "1842-01-01"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.json);
    let uri = format!("/api/v1/jobs/{}", reply.json["id"].as_str().unwrap());
    assert_eq!(
        locs(
            &api.post(
                &list,
                Some(&ada.access),
                json!({"title": "", "company": "X"})
            )
            .await
        ),
        vec![json!(["body", "title"])]
    );
    assert_detail(
        &api.post(
            &list,
            Some(&bob.access),
            json!({"title": "Spy", "company": "X"}),
        )
        .await,
        StatusCode::FORBIDDEN,
    );

    let reply = api.get(&list, &bob.access).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json.as_array().unwrap().len(), 1);

    assert_eq!(
        locs(
            &api.patch(&uri, &ada.access, json!({"end_date": "1800-01-01"}))
                .await
        ),
        vec![json!(["body", "end_date"])]
    );
    let reply = api
        .patch(&uri, &ada.access, json!({"industry": "Computing"}))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    assert_eq!(reply.json["industry"], "Computing");
    assert_detail(
        &api.patch(&uri, &bob.access, json!({"industry": "Spying"}))
            .await,
        StatusCode::FORBIDDEN,
    );
    let reply = api.delete(&uri, &ada.access).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json["is_active"], false);
}
