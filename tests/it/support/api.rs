//! HTTP helpers for tests that talk to folio's API: a server on a fresh database, requests
//! under `/api/v1`, sign-up and sign-in, and checks on responses.

use folio::entity::enums::UserRole;
use folio::repo;
use reqwest::{Method, Response};
use serde_json::{Value, json};

use crate::support::{Backend, TestDb, TestServer};

pub const PASSWORD: &str = "correct horse battery staple";

/// A server on a fresh database, and requests to it under `/api/v1`.
pub struct Api {
    pub t: TestDb,
    pub server: TestServer,
}

/// What a sign-in hands out.
pub struct Tokens {
    pub access: String,
    pub refresh: String,
}

impl Api {
    pub async fn start(backend: &Backend) -> Self {
        Self::start_with(backend, &[]).await
    }

    pub async fn start_with(backend: &Backend, vars: &[(&str, &str)]) -> Self {
        let t = TestDb::migrated(backend).await;
        let server = TestServer::start(t.settings_with(vars), t.db.clone()).await;
        Self { t, server }
    }

    /// A server on a database the test made itself (filled by `folio import`, on a small
    /// disk…).
    pub async fn serve(t: TestDb) -> Self {
        let server = TestServer::start(t.settings(), t.db.clone()).await;
        Self { t, server }
    }

    /// A request to `/api/v1{path}`, with `Authorization: Bearer` when `bearer` is given.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        bearer: Option<&str>,
        body: Option<&Value>,
    ) -> Response {
        let mut request = self
            .server
            .client
            .request(method, self.server.url(&format!("/api/v1{path}")));
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        request.send().await.expect("request reaches the server")
    }

    pub async fn get(&self, path: &str, bearer: Option<&str>) -> Response {
        self.call(Method::GET, path, bearer, None).await
    }

    pub async fn post(&self, path: &str, bearer: Option<&str>, body: Value) -> Response {
        self.call(Method::POST, path, bearer, Some(&body)).await
    }

    pub async fn patch(&self, path: &str, bearer: Option<&str>, body: Value) -> Response {
        self.call(Method::PATCH, path, bearer, Some(&body)).await
    }

    pub async fn delete(&self, path: &str, bearer: Option<&str>) -> Response {
        self.call(Method::DELETE, path, bearer, None).await
    }

    /// Registers `username` with `<username>@example.org` and [`PASSWORD`]; returns the user.
    pub async fn register(&self, username: &str) -> Value {
        let body = json!({
            "username": username,
            "email": format!("{username}@example.org"),
            "password": PASSWORD,
        });
        expect(self.post("/auth/register", None, body).await, 201).await
    }

    pub async fn try_login(&self, username: &str, password: &str) -> Response {
        let body = json!({"username": username, "password": password});
        self.post("/auth/login", None, body).await
    }

    pub async fn login(&self, username: &str, password: &str) -> Tokens {
        tokens(expect(self.try_login(username, password).await, 200).await)
    }

    /// Registers and signs in: the user and their tokens.
    pub async fn sign_up(&self, username: &str) -> (Value, Tokens) {
        let user = self.register(username).await;
        (user, self.login(username, PASSWORD).await)
    }

    /// Makes the user an admin through the repository: there is no HTTP way to.
    pub async fn make_admin(&self, id: i64) {
        self.set_user(id, Some(UserRole::Admin), None).await;
    }

    /// Sets a user's role and disabled flag through the repository (`updated_at` moves), as no
    /// request can (the first admin), or without what the service does beside (a disable
    /// racing a refresh, before its sign-ins are revoked).
    pub async fn set_user(&self, id: i64, role: Option<UserRole>, disabled: Option<bool>) {
        let tx = self.t.db.begin().await.unwrap();
        let found = repo::user::find(&*tx, id).await.unwrap();
        let found = found.expect("the user exists");
        let changes = repo::user::UserChanges {
            role,
            disabled,
            ..Default::default()
        };
        repo::user::update(&*tx, found, changes).await.unwrap();
        tx.commit().await.unwrap();
    }

    pub async fn refresh(&self, refresh_token: &str) -> Response {
        self.post(
            "/auth/refresh",
            None,
            json!({"refresh_token": refresh_token}),
        )
        .await
    }

    /// The status of `GET /me` with this access token or API key.
    pub async fn me_status(&self, bearer: &str) -> u16 {
        self.get("/me", Some(bearer)).await.status().as_u16()
    }
}

pub fn tokens(body: Value) -> Tokens {
    Tokens {
        access: body["access_token"].as_str().unwrap().to_string(),
        refresh: body["refresh_token"].as_str().unwrap().to_string(),
    }
}

/// The JSON body (or `null` for none), after checking the status; a wrong status shows the body.
pub async fn expect(response: Response, status: u16) -> Value {
    let actual = response.status().as_u16();
    let text = response.text().await.unwrap();
    assert_eq!(actual, status, "unexpected status; body: {text}");
    if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap()
    }
}

/// A problem+json with this status and type; a wrong status shows the body.
pub async fn problem(response: Response, status: u16, slug: &str) -> Value {
    if response.status().as_u16() != status {
        let got = response.status();
        panic!(
            "expected {status} {slug}, got {got}: {}",
            response.text().await.unwrap_or_default()
        );
    }
    assert_problem(response, status, slug).await
}

/// The fields a validation or conflict problem names.
pub fn fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| e["field"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// A 401 that tells the client how to authenticate.
pub async fn assert_unauthorized(response: Response, what: &str) {
    assert_eq!(response.status().as_u16(), 401, "{what}");
    assert_eq!(
        response
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap()),
        Some("Bearer"),
        "{what}: a 401 says which scheme to use"
    );
    assert_problem(response, 401, "unauthorized").await;
}

pub fn id(value: &Value) -> i64 {
    value["id"].as_i64().expect("an id")
}

/// The `items` of a page.
pub fn items(page: &Value) -> &Vec<Value> {
    page["items"].as_array().expect("a page has items")
}

/// Checks an RFC 9457 body: content type, `type`, `title`, `status`, `detail`.
pub async fn assert_problem(response: Response, status: u16, slug: &str) -> Value {
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json",
        "problem responses say so"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], status);
    assert_eq!(body["type"], format!("urn:folio:problem:{slug}"));
    assert!(body["title"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()));
    body
}

/// A 422 naming exactly `field`.
pub async fn refused(response: Response, field: &str) {
    let body = problem(response, 422, "validation-error").await;
    assert_eq!(fields(&body), [field], "{body}");
}

/// The ids of a page's items, in order.
pub fn ids(page: &Value) -> Vec<i64> {
    items(page).iter().map(id).collect()
}

/// The string field `key` of each item of a page, in order.
pub fn strings(page: &Value, key: &str) -> Vec<String> {
    items(page)
        .iter()
        .map(|item| item[key].as_str().expect("a string field").to_string())
        .collect()
}

/// A timestamp field.
pub fn time(value: &Value) -> chrono::DateTime<chrono::Utc> {
    value
        .as_str()
        .expect("a timestamp")
        .parse()
        .expect("RFC 3339")
}

/// `GET /r/{code}` (the code percent-encoded), with redirects shown rather than followed.
pub async fn follow(api: &Api, code: &str) -> Response {
    let path = format!(
        "/r/{}",
        percent_encoding::utf8_percent_encode(code, percent_encoding::NON_ALPHANUMERIC)
    );
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    no_redirects
        .get(api.server.url(&path))
        .send()
        .await
        .unwrap()
}

/// POSTs `body` as `token` and returns the body of the 201.
pub async fn create(api: &Api, token: &str, path: &str, body: Value) -> Value {
    expect(api.post(path, Some(token), body).await, 201).await
}

/// PATCHes `body` as `token` and returns the body of the 200.
pub async fn change(api: &Api, token: &str, path: &str, body: Value) -> Value {
    expect(api.patch(path, Some(token), body).await, 200).await
}

/// The body of a public GET that answers 200.
pub async fn read(api: &Api, path: &str) -> Value {
    expect(api.get(path, None).await, 200).await
}
