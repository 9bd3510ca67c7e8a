//! Accounts over real HTTP: registering, signing in and out, refresh-token rotation, password
//! changes, disabled accounts. See also `accounts_access` (API keys, who may do what),
//! `accounts_rules` (uniqueness, abuse limits, referral links) and `accounts_input` (hostile
//! strings, paging, malformed bodies).

use folio::entity::refresh_token;
use reqwest::Method;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;

use crate::backend_tests;
use crate::support::Backend;
use crate::support::api::*;

backend_tests!(
    register_then_sign_in_with_json_or_form,
    refresh_rotates_and_a_replayed_token_revokes_the_sign_in,
    logout_ends_only_that_sign_in,
    password_change_revokes_every_other_sign_in,
    a_disabled_account_is_locked_out_at_once,
    a_password_change_revokes_api_keys_unless_kept,
    password_and_email_changes_need_the_current_password,
    a_disabled_account_refuses_its_refresh_token_without_using_it,
    re_enabling_an_account_brings_back_no_old_sign_in_or_key,
);

async fn register_then_sign_in_with_json_or_form(backend: Backend) {
    let api = Api::start(&backend).await;

    let ada = api.register("ada").await;
    assert_eq!(ada["username"], "ada");
    assert_eq!(ada["email"], "ada@example.org");
    assert_eq!(ada["role"], "reader");
    assert_eq!(ada["disabled"], false);
    assert!(ada["created_at"].is_string() && ada["updated_at"].is_string());
    assert!(
        ada.get("password_hash").is_none(),
        "the hash never leaves the server"
    );

    for weak in ["1234567890", "qwertyuiop", "short"] {
        let body = json!({"username": "weak", "email": "weak@example.org", "password": weak});
        let refused = problem(
            api.post("/auth/register", None, body).await,
            422,
            "validation-error",
        )
        .await;
        assert_eq!(fields(&refused), ["password"], "{weak:?} is refused");
    }

    // JSON, by username and by email in any case.
    let by_name = expect(api.try_login("ada", PASSWORD).await, 200).await;
    assert_eq!(by_name["token_type"], "bearer");
    assert_eq!(by_name["expires_in"], 900);
    let by_email = api.login("ADA@Example.org", PASSWORD).await;

    // The OAuth2 password form the docs page sends.
    let form: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "password")
        .append_pair("username", "ada")
        .append_pair("password", PASSWORD)
        .finish();
    let by_form = api
        .server
        .client
        .post(api.server.url("/api/v1/auth/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap();
    let by_form = tokens(expect(by_form, 200).await);

    for access in [tokens(by_name).access, by_email.access, by_form.access] {
        let me = expect(api.get("/me", Some(&access)).await, 200).await;
        assert_eq!(me["id"], ada["id"]);
        assert_eq!(me["email"], "ada@example.org");
    }

    // A wrong username and a wrong password cannot be told apart.
    let no_user = problem(api.try_login("nobody", PASSWORD).await, 401, "unauthorized").await;
    let bad_password = problem(
        api.try_login("ada", "not the password").await,
        401,
        "unauthorized",
    )
    .await;
    assert_eq!(no_user, bad_password);
}

async fn refresh_rotates_and_a_replayed_token_revokes_the_sign_in(backend: Backend) {
    let api = Api::start(&backend).await;
    let (_, first) = api.sign_up("ada").await;
    let other = api.login("ada", PASSWORD).await;

    let second = tokens(expect(api.refresh(&first.refresh).await, 200).await);
    assert_ne!(
        second.refresh, first.refresh,
        "a new refresh token each time"
    );
    assert_eq!(api.me_status(&second.access).await, 200);

    // The used token comes back: stolen or replayed. The whole sign-in ends.
    let replay = problem(api.refresh(&first.refresh).await, 401, "unauthorized").await;
    assert!(replay["detail"].as_str().unwrap().contains("already used"));
    assert_eq!(
        api.refresh(&second.refresh).await.status(),
        401,
        "the newest refresh token too"
    );
    assert_unauthorized(
        api.get("/me", Some(&second.access)).await,
        "its access token",
    )
    .await;
    assert_eq!(
        api.me_status(&first.access).await,
        401,
        "and the first access token"
    );

    // Another sign-in of the same user is not touched.
    assert_eq!(api.me_status(&other.access).await, 200);
    expect(api.refresh(&other.refresh).await, 200).await;
}

async fn logout_ends_only_that_sign_in(backend: Backend) {
    let api = Api::start(&backend).await;
    let (_, phone) = api.sign_up("ada").await;
    let laptop = api.login("ada", PASSWORD).await;
    let tablet = api.login("ada", PASSWORD).await;

    expect(
        api.call(Method::POST, "/auth/logout", Some(&phone.access), None)
            .await,
        204,
    )
    .await;
    assert_unauthorized(
        api.get("/me", Some(&phone.access)).await,
        "signed-out access token",
    )
    .await;
    assert_eq!(
        api.refresh(&phone.refresh).await.status(),
        401,
        "its refresh token"
    );
    assert_eq!(
        api.me_status(&laptop.access).await,
        200,
        "other sign-ins go on"
    );

    // A client that holds only a refresh token.
    let by_refresh = api
        .post(
            "/auth/logout",
            None,
            json!({"refresh_token": laptop.refresh}),
        )
        .await;
    expect(by_refresh, 204).await;
    assert_eq!(api.me_status(&laptop.access).await, 401);
    assert_eq!(api.refresh(&laptop.refresh).await.status(), 401);
    assert_eq!(api.me_status(&tablet.access).await, 200);
}

async fn password_change_revokes_every_other_sign_in(backend: Backend) {
    let api = Api::start(&backend).await;
    let (_, here) = api.sign_up("ada").await;
    let elsewhere = api.login("ada", PASSWORD).await;
    let new_password = "a brand new passphrase";

    let wrong_old = json!({"old_password": "not the password", "new_password": new_password});
    let refused = problem(
        api.post("/me/password", Some(&here.access), wrong_old)
            .await,
        422,
        "validation-error",
    )
    .await;
    assert_eq!(fields(&refused), ["old_password"]);
    let weak_new = json!({"old_password": PASSWORD, "new_password": "1234567890"});
    let refused = problem(
        api.post("/me/password", Some(&here.access), weak_new).await,
        422,
        "validation-error",
    )
    .await;
    assert_eq!(fields(&refused), ["new_password"]);
    assert_eq!(
        api.me_status(&elsewhere.access).await,
        200,
        "failed changes revoke nothing"
    );

    let change = json!({"old_password": PASSWORD, "new_password": new_password});
    let revoked = expect(
        api.post("/me/password", Some(&here.access), change).await,
        200,
    )
    .await;
    assert_eq!(
        revoked,
        json!({"sessions_revoked": 1, "api_keys_revoked": 0})
    );

    assert_eq!(
        api.me_status(&here.access).await,
        200,
        "the current sign-in keeps working"
    );
    expect(api.refresh(&here.refresh).await, 200).await;
    assert_unauthorized(
        api.get("/me", Some(&elsewhere.access)).await,
        "the other sign-in",
    )
    .await;
    assert_eq!(api.refresh(&elsewhere.refresh).await.status(), 401);

    assert_eq!(
        api.try_login("ada", PASSWORD).await.status(),
        401,
        "the old password is gone"
    );
    api.login("ada", new_password).await;
}

async fn a_disabled_account_is_locked_out_at_once(backend: Backend) {
    let api = Api::start(&backend).await;
    let (boss, admin) = api.sign_up("boss").await;
    api.make_admin(id(&boss)).await;
    let (ada, reader) = api.sign_up("ada").await;
    let key = expect(
        api.post(
            "/me/api-keys",
            Some(&reader.access),
            json!({"name": "e-reader"}),
        )
        .await,
        201,
    )
    .await;
    let key = key["key"].as_str().unwrap();
    assert_eq!(api.me_status(key).await, 200);

    let path = format!("/users/{}", id(&ada));
    let disabled = expect(
        api.patch(&path, Some(&admin.access), json!({"disabled": true}))
            .await,
        200,
    )
    .await;
    assert_eq!(disabled["disabled"], true);

    assert_unauthorized(
        api.get("/me", Some(&reader.access)).await,
        "the access token",
    )
    .await;
    assert_unauthorized(api.get("/me", Some(key)).await, "the API key as bearer").await;
    let by_header = api
        .server
        .client
        .get(api.server.url("/api/v1/me"))
        .header("x-api-key", key)
        .send()
        .await
        .unwrap();
    assert_unauthorized(by_header, "the API key as X-Api-Key").await;
    assert_eq!(
        api.refresh(&reader.refresh).await.status(),
        401,
        "the refresh token"
    );
    problem(api.try_login("ada", PASSWORD).await, 403, "forbidden").await;
    assert_eq!(
        api.try_login("ada", "wrong password").await.status(),
        401,
        "a wrong password is still just wrong"
    );

    // An admin cannot lock themselves out.
    let own = format!("/users/{}", id(&boss));
    let refused = problem(
        api.patch(&own, Some(&admin.access), json!({"disabled": true}))
            .await,
        409,
        "conflict",
    )
    .await;
    assert_eq!(fields(&refused), ["id"]);
}

/// A new API key of the signed-in user; the key itself.
async fn new_key(api: &Api, access: &str, name: &str) -> String {
    let created = expect(
        api.post("/me/api-keys", Some(access), json!({"name": name}))
            .await,
        201,
    )
    .await;
    created["key"].as_str().unwrap().to_string()
}

async fn a_password_change_revokes_api_keys_unless_kept(backend: Backend) {
    let api = Api::start(&backend).await;
    let (_, here) = api.sign_up("ada").await;
    let elsewhere = api.login("ada", PASSWORD).await;
    let kobo = new_key(&api, &here.access, "Kobo").await;
    let script = new_key(&api, &here.access, "script").await;

    // By default the keys go with the old password.
    let change = json!({"old_password": PASSWORD, "new_password": "a brand new passphrase"});
    let revoked = expect(
        api.post("/me/password", Some(&here.access), change).await,
        200,
    )
    .await;
    assert_eq!(
        revoked,
        json!({"sessions_revoked": 1, "api_keys_revoked": 2})
    );
    for key in [&kobo, &script] {
        assert_unauthorized(api.get("/me", Some(key)).await, "a key made before").await;
    }
    assert_eq!(api.me_status(&elsewhere.access).await, 401);
    assert_eq!(api.me_status(&here.access).await, 200);
    let listed = expect(api.get("/me/api-keys", Some(&here.access)).await, 200).await;
    assert!(items(&listed).is_empty(), "{listed}");

    // Kept when asked for, and the answer says nothing was revoked.
    let kept = new_key(&api, &here.access, "Kobo").await;
    let change = json!({
        "current_password": "a brand new passphrase",
        "new_password": "a third passphrase here",
        "keep_api_keys": true,
    });
    let revoked = expect(
        api.post("/me/password", Some(&here.access), change).await,
        200,
    )
    .await;
    assert_eq!(
        revoked,
        json!({"sessions_revoked": 0, "api_keys_revoked": 0})
    );
    assert_eq!(api.me_status(&kept).await, 200, "the kept key still works");
}

async fn password_and_email_changes_need_the_current_password(backend: Backend) {
    let api = Api::start(&backend).await;
    let (_, ada) = api.sign_up("ada").await;
    let new_password = "a brand new passphrase";
    let refused = |response, field: &'static str| async move {
        let refused = problem(response, 422, "validation-error").await;
        assert_eq!(fields(&refused), [field], "{refused}");
    };

    let email = "ada@new.example";
    refused(
        api.patch("/me", Some(&ada.access), json!({"email": email}))
            .await,
        "current_password",
    )
    .await;
    let wrong = json!({"email": email, "current_password": "not the password"});
    refused(
        api.patch("/me", Some(&ada.access), wrong).await,
        "current_password",
    )
    .await;
    refused(
        api.post(
            "/me/password",
            Some(&ada.access),
            json!({"new_password": new_password}),
        )
        .await,
        "old_password",
    )
    .await;
    let wrong = json!({"current_password": "not the password", "new_password": new_password});
    refused(
        api.post("/me/password", Some(&ada.access), wrong).await,
        "old_password",
    )
    .await;
    let me = expect(api.get("/me", Some(&ada.access)).await, 200).await;
    assert_eq!(me["email"], "ada@example.org", "nothing changed");
    api.login("ada", PASSWORD).await;

    let right = json!({"email": email, "current_password": PASSWORD});
    let me = expect(api.patch("/me", Some(&ada.access), right).await, 200).await;
    assert_eq!(me["email"], email);
}

async fn used_refresh_tokens(api: &Api) -> u64 {
    refresh_token::Entity::find()
        .filter(refresh_token::Column::UsedAt.is_not_null())
        .count(api.t.db.reader())
        .await
        .unwrap()
}

async fn a_disabled_account_refuses_its_refresh_token_without_using_it(backend: Backend) {
    let api = Api::start(&backend).await;
    let (ada, first) = api.sign_up("ada").await;

    // As a disable racing a refresh leaves it: the sign-ins not revoked yet.
    api.set_user(id(&ada), None, Some(true)).await;
    assert_unauthorized(
        api.refresh(&first.refresh).await,
        "a disabled account's refresh",
    )
    .await;
    assert_eq!(
        used_refresh_tokens(&api).await,
        0,
        "the refusal used nothing"
    );

    // Had the refusal used the token, this would look like a replay and end the sign-in.
    api.set_user(id(&ada), None, Some(false)).await;
    let renewed = tokens(expect(api.refresh(&first.refresh).await, 200).await);
    assert_eq!(api.me_status(&renewed.access).await, 200);
}

async fn re_enabling_an_account_brings_back_no_old_sign_in_or_key(backend: Backend) {
    let api = Api::start(&backend).await;
    let (boss, admin) = api.sign_up("boss").await;
    api.make_admin(id(&boss)).await;
    let (ada, reader) = api.sign_up("ada").await;
    let key = new_key(&api, &reader.access, "Kobo").await;

    let path = format!("/users/{}", id(&ada));
    for disabled in [true, false] {
        let body = json!({ "disabled": disabled });
        expect(api.patch(&path, Some(&admin.access), body).await, 200).await;
    }

    assert_unauthorized(
        api.get("/me", Some(&reader.access)).await,
        "an access token from before",
    )
    .await;
    assert_unauthorized(api.get("/me", Some(&key)).await, "an API key from before").await;
    assert_unauthorized(
        api.refresh(&reader.refresh).await,
        "a refresh token from before",
    )
    .await;
    let fresh = api.login("ada", PASSWORD).await;
    assert_eq!(
        api.me_status(&fresh.access).await,
        200,
        "signing in again works"
    );
}
