//! A profile's contacts: `/profiles/{id}/contacts`, `/contacts/{id}`.

use aai_accounts::UserId;
use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::{api, assert_detail, locs};

#[tokio::test]
async fn contacts_are_added_listed_updated_made_primary_and_deactivated() {
    let api = api();
    let ada = api.register("ada").await;
    let bob = api.register("bob").await;
    let profile = api.profile(&ada, false).await;
    let list = format!("/api/v1/profiles/{profile}/contacts");
    let reply = api
        .post(
            &list,
            Some(&ada.access),
            json!({"kind": "phone", "value": "+33 1 23 45 67 89", "is_primary": true}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.json);
    let first = reply.json["id"].as_str().unwrap().to_owned();
    let reply = api
        .post(
            &list,
            Some(&ada.access),
            json!({"kind": "phone", "value": "+4420 7946 0958"}),
        )
        .await;
    let second = reply.json["id"].as_str().unwrap().to_owned();
    assert_eq!(
        locs(
            &api.post(
                &list,
                Some(&ada.access),
                json!({"kind": "phone", "value": "12"})
            )
            .await
        ),
        vec![json!(["body", "value"])]
    );
    assert_eq!(
        locs(
            &api.post(
                &list,
                Some(&ada.access),
                json!({"kind": "pigeon", "value": "x"})
            )
            .await
        )
        .len(),
        1
    );

    let reply = api.get(&list, &ada.access).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json.as_array().unwrap().len(), 2);
    assert_detail(&api.get(&list, &bob.access).await, StatusCode::NOT_FOUND);

    let reply = api
        .call(
            Method::POST,
            &format!("/api/v1/contacts/{second}/primary"),
            Some(&ada.access),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    assert_eq!(reply.json["is_primary"], true);
    let reply = api.get(&list, &ada.access).await;
    let primaries: Vec<_> = reply
        .json
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["is_primary"] == true)
        .collect();
    assert_eq!(primaries.len(), 1);
    assert_eq!(primaries[0]["id"], json!(second));

    let uri = format!("/api/v1/contacts/{first}");
    let reply = api
        .patch(
            &uri,
            &ada.access,
            json!({"kind": "website", "value": "https://ada.example.com"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    assert_eq!(reply.json["kind"], "website");
    assert!(matches!(
        api.patch(&uri, &bob.access, json!({"value": "+33 1 00 00 00 00"}))
            .await
            .status,
        StatusCode::FORBIDDEN | StatusCode::NOT_FOUND
    ));
    let reply = api.delete(&uri, &ada.access).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json["is_active"], false);
    assert_detail(
        &api.delete(&format!("/api/v1/contacts/{}", UserId::new()), &ada.access)
            .await,
        StatusCode::NOT_FOUND,
    );
}
