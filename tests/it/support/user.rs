//! A signed-in user's requests in one short call each, and the catalog rows the reading and
//! store tests build on (`reading.rs`, `store.rs`).

use reqwest::{Method as M, Response};
use serde_json::{Value, json};

use crate::support::api::{Api, PASSWORD, expect, id, problem, refused};
pub use crate::support::api::{ids, time};

/// No request body.
pub const N: Value = Value::Null;

/// Requests as one signed-in user; the shorthands check the status and answer the body.
pub struct User<'a> {
    pub api: &'a Api,
    pub id: i64,
    pub token: String,
}

impl User<'_> {
    /// A request with this user's token; a `null` body sends none.
    pub async fn send(&self, method: M, path: &str, body: Value) -> Response {
        let body = (!body.is_null()).then_some(body);
        let token = Some(self.token.as_str());
        self.api.call(method, path, token, body.as_ref()).await
    }
    pub async fn get(&self, path: &str) -> Value {
        expect(self.send(M::GET, path, N).await, 200).await
    }
    pub async fn post(&self, path: &str, body: Value) -> Value {
        expect(self.send(M::POST, path, body).await, 201).await
    }
    pub async fn patch(&self, path: &str, body: Value) -> Value {
        expect(self.send(M::PATCH, path, body).await, 200).await
    }
    pub async fn put(&self, path: &str, body: Value) -> Value {
        expect(self.send(M::PUT, path, body).await, 200).await
    }
    pub async fn delete(&self, path: &str) {
        expect(self.send(M::DELETE, path, N).await, 204).await;
    }
    /// A refusal: this status, as problem+json of the matching type.
    pub async fn fail(&self, method: M, path: &str, body: Value, status: u16) -> Value {
        let slug = match status {
            403 => "forbidden",
            404 => "not-found",
            409 => "conflict",
            _ => "validation-error",
        };
        problem(self.send(method, path, body).await, status, slug).await
    }
    /// A 422 that names exactly `field`.
    pub async fn invalid(&self, method: M, path: &str, body: Value, field: &str) {
        refused(self.send(method, path, body).await, field).await;
    }
}

/// Registers and signs in `name`.
pub async fn user<'a>(api: &'a Api, name: &str) -> User<'a> {
    let (user, tokens) = api.sign_up(name).await;
    let (id, token) = (id(&user), tokens.access);
    User { api, id, token }
}

/// `name`, already registered, signed in.
pub async fn signed_in<'a>(api: &'a Api, name: &str) -> User<'a> {
    let token = api.login(name, PASSWORD).await.access;
    let me = expect(api.get("/me", Some(&token)).await, 200).await;
    User {
        api,
        id: id(&me),
        token,
    }
}

/// An admin's access token.
pub async fn admin_token(api: &Api) -> String {
    admin(api).await.token
}

/// An admin: registered, made admin in the database, then signed in.
pub async fn admin(api: &Api) -> User<'_> {
    let id = id(&api.register("admin").await);
    api.make_admin(id).await;
    let token = api.login("admin", PASSWORD).await.access;
    User { api, id, token }
}

/// A book with one author; its id.
pub async fn new_book(admin: &User<'_>, title: &str) -> i64 {
    let author = json!({"name": format!("Author of {title}")});
    let author = id(&admin.post("/authors", author).await);
    let book = json!({"title": title, "author_ids": [author]});
    id(&admin.post("/books", book).await)
}

/// Books with one author each; their ids.
pub async fn new_books<const K: usize>(admin: &User<'_>, titles: [&str; K]) -> [i64; K] {
    let mut ids = [0; K];
    for (id, title) in ids.iter_mut().zip(titles) {
        *id = new_book(admin, title).await;
    }
    ids
}

/// An edition of the book (`{format, pages?, duration_seconds?, price_minor?, currency?}`).
pub async fn new_edition(admin: &User<'_>, book: i64, body: Value) -> i64 {
    id(&admin.post(&format!("/books/{book}/editions"), body).await)
}

/// The values of `keys` in `value`, as a JSON array.
pub fn pick(value: &Value, keys: &[&str]) -> Value {
    keys.iter().map(|key| value[*key].clone()).collect()
}

/// Uploads one file to an edition as `admin`; the files added.
pub async fn upload(admin: &User<'_>, edition: i64, name: &str, bytes: Vec<u8>) -> Value {
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()),
    );
    let server = &admin.api.server;
    let url = server.url(&format!("/api/v1/editions/{edition}/files"));
    let sent = server
        .client
        .post(url)
        .bearer_auth(&admin.token)
        .multipart(form);
    expect(sent.send().await.unwrap(), 201).await
}
