//! The store over real HTTP: idempotent purchases at the price of the day, the signed payment
//! webhook that moves them along, the library it fills, and the referral numbers it feeds.

use folio::config::Secret;
use folio::service::payments::sign;
use hmac::{KeyInit, Mac};
use reqwest::Method as M;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::backend_tests;
use crate::support::api::{
    Api, PASSWORD, assert_unauthorized, expect, fields, id, items, problem, refused,
};
use crate::support::shop::{SECRET, SECRET_VAR, bought, buy, deliver, event, now, settle, webhook};
use crate::support::user::{N, User, admin, ids, new_book, new_edition, pick, signed_in, user};
use crate::support::{Backend, TestServer};

backend_tests!(
    a_purchase_is_made_once_per_idempotency_key,
    twenty_identical_requests_make_one_purchase,
    the_price_is_the_one_at_purchase_time,
    a_paid_edition_is_in_the_library_until_refunded,
    webhook_signatures_are_checked_before_anything_changes,
    only_forward_transitions_apply,
    admins_list_and_filter_every_purchase,
    referral_links_count_paid_purchases_until_refunded,
    a_book_with_a_purchased_edition_cannot_be_deleted,
    an_edition_paid_for_twice_is_in_the_library_once,
    a_huge_signature_header_is_refused_before_the_body_is_read,
    at_most_five_v1_signatures_are_accepted,
    extreme_timestamps_are_refused_not_a_crash,
    an_event_id_reused_for_another_purchase_is_refused,
    an_edition_owned_or_pending_cannot_be_bought_again,
    parallel_purchases_of_one_edition_make_one,
    parallel_duplicate_deliveries_apply_once,
);

/// A server with the webhook secret, and a book with two priced editions and an unpriced one:
/// `(api, book, [ebook at 12.99 EUR, audiobook at 24.99 EUR, print without a price])`.
async fn shop(backend: &Backend) -> (Api, i64, [i64; 3]) {
    let api = Api::start_with(backend, &[SECRET_VAR]).await;
    let admin = admin(&api).await;
    let book = new_book(&admin, "The Name of the Rose").await;
    let mut editions = [0; 3];
    for (edition, body) in editions.iter_mut().zip([
        json!({"format": "ebook", "price_minor": 1299, "currency": "EUR"}),
        json!({"format": "audiobook", "price_minor": 2499, "currency": "eur"}),
        json!({"format": "print"}),
    ]) {
        *edition = new_edition(&admin, book, body).await;
    }
    (api, book, editions)
}

/// The user's purchase with this id, as `/me/purchases` shows it.
async fn mine(user: &User<'_>, purchase: &Value) -> Value {
    let page = user.get("/me/purchases").await;
    let found = items(&page).iter().find(|p| p["id"] == purchase["id"]);
    found.expect("listed").clone()
}

async fn library(user: &User<'_>) -> Vec<Value> {
    items(&user.get("/me/library").await).clone()
}

async fn a_purchase_is_made_once_per_idempotency_key(backend: Backend) {
    let (api, _, [ebook, audiobook, unpriced]) = shop(&backend).await;
    let (ada, bob) = (user(&api, "ada").await, user(&api, "bob").await);

    refused(buy(&ada, None, ebook).await, "Idempotency-Key").await;
    refused(buy(&ada, Some(""), ebook).await, "Idempotency-Key").await;
    let body = json!({"edition_id": ebook});
    let anonymous = api.post("/purchases", None, body).await;
    assert_unauthorized(anonymous, "buying needs a sign-in").await;
    assert_eq!(api.t.count("purchase").await, 0);

    let first = buy(&ada, Some("key-1"), ebook).await;
    assert!(first.headers().get("idempotent-replayed").is_none());
    let purchase = expect(first, 201).await;
    let keys = ["user_id", "edition_id", "status", "provider_ref"];
    assert_eq!(
        pick(&purchase, &keys),
        json!([ada.id, ebook, "pending", null])
    );
    let price = ["amount_minor", "currency"];
    assert_eq!(pick(&purchase, &price), json!([1299, "EUR"]));
    assert!(purchase["created_at"].is_string() && purchase["updated_at"].is_string());

    // A retry after a timeout: the same purchase, flagged as a replay.
    let again = buy(&ada, Some("key-1"), ebook).await;
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(expect(again, 200).await, purchase);
    // The same key for another edition is a client's mistake.
    refused(buy(&ada, Some("key-1"), audiobook).await, "Idempotency-Key").await;
    assert_eq!(api.t.count("purchase").await, 1);

    // Keys are each buyer's own.
    let bobs = bought(&bob, "key-1", audiobook).await;
    assert_ne!(bobs["id"], purchase["id"]);
    assert_eq!(pick(&bobs, &price), json!([2499, "EUR"]));

    refused(buy(&ada, Some("key-2"), unpriced).await, "edition_id").await;
    refused(buy(&ada, Some("key-3"), 999_999).await, "edition_id").await;
    assert_eq!(ids(&ada.get("/me/purchases").await), [id(&purchase)]);
    assert_eq!(api.t.count("purchase").await, 2);

    // The purchase reads the same through the repo's own decoder, in a unit of work and on the
    // readers, as through SeaORM's.
    use sea_orm::EntityTrait;
    let ada_id = ada.id;
    let in_unit = api
        .t
        .db
        .write(|tx| {
            Box::pin(
                async move { folio::repo::purchase::find_by_key(&**tx, ada_id, "key-1").await },
            )
        })
        .await
        .unwrap();
    let on_readers = folio::repo::purchase::find_by_key(api.t.db.reader(), ada_id, "key-1")
        .await
        .unwrap();
    let by_orm = folio::entity::purchase::Entity::find_by_id(id(&purchase))
        .one(api.t.db.reader())
        .await
        .unwrap();
    assert!(by_orm.is_some());
    assert_eq!(in_unit, by_orm);
    assert_eq!(on_readers, by_orm);
}

async fn twenty_identical_requests_make_one_purchase(backend: Backend) {
    let (api, _, [ebook, ..]) = shop(&backend).await;
    let ada = user(&api, "ada").await;

    let mut requests = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let url = api.server.url("/api/v1/purchases");
        let request = api.server.client.post(url).bearer_auth(&ada.token);
        let request = request.header("Idempotency-Key", "double-click");
        let request = request.json(&json!({"edition_id": ebook}));
        requests.spawn(async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let replayed = response.headers().get("idempotent-replayed").is_some();
            (status, replayed, response.json::<Value>().await.unwrap())
        });
    }
    let answers = requests.join_all().await;

    assert_eq!(api.t.count("purchase").await, 1, "exactly one purchase");
    let created: Vec<_> = answers.iter().filter(|a| a.0 == 201).collect();
    assert_eq!(created.len(), 1, "one request made it: {answers:?}");
    let purchase_id = &created[0].2["id"];
    assert!(purchase_id.is_i64());
    for (status, replayed, body) in &answers {
        assert_eq!(&body["id"], purchase_id, "{status}: {body}");
        assert_eq!(*replayed, *status == 200, "the rest are replays");
    }
}

async fn the_price_is_the_one_at_purchase_time(backend: Backend) {
    let (api, _, [ebook, ..]) = shop(&backend).await;
    let (ada, bob) = (user(&api, "ada").await, user(&api, "bob").await);
    let purchase = bought(&ada, "k", ebook).await;

    let admin = signed_in(&api, "admin").await;
    let dearer = json!({"price_minor": 1999});
    let edition = admin.patch(&format!("/editions/{ebook}"), dearer).await;
    assert_eq!(edition["price_minor"], 1999);
    assert_eq!(mine(&ada, &purchase).await["amount_minor"], 1299);

    // The provider must charge what the purchase says, not today's price.
    let mut today = event(&purchase, "paid", "evt-1");
    today["amount_minor"] = json!(1999);
    refused(webhook(&api, &today).await, "amount_minor").await;
    assert_eq!(mine(&ada, &purchase).await["status"], "pending");
    let paid = settle(&api, &purchase, "paid", "evt-2").await;
    assert_eq!(paid["amount_minor"], 1299);

    let later = bought(&bob, "k", ebook).await; // a new purchase, the new price
    assert_eq!(later["amount_minor"], 1999);
}

async fn a_paid_edition_is_in_the_library_until_refunded(backend: Backend) {
    let (api, book, [ebook, audiobook, _]) = shop(&backend).await;
    let ada = user(&api, "ada").await;
    let purchase = bought(&ada, "k-1", ebook).await;
    assert!(library(&ada).await.is_empty(), "pending is not owned yet");

    let paid = settle(&api, &purchase, "paid", "evt-paid").await;
    assert_eq!(paid["provider_ref"], "pi_evt-paid");
    let owned = library(&ada).await;
    assert_eq!(owned.len(), 1);
    let keys = ["edition_id", "book_id", "title", "format", "purchase_id"];
    let expected = json!([ebook, book, "The Name of the Rose", "ebook", purchase["id"]]);
    assert_eq!(pick(&owned[0], &keys), expected);
    assert!(owned[0]["purchased_at"].is_string());

    // Owned: buying it again is refused; another edition is fine.
    let refused = problem(buy(&ada, Some("k-2"), ebook).await, 409, "conflict").await;
    assert_eq!(fields(&refused), ["edition_id"]);
    bought(&ada, "k-3", audiobook).await;
    assert_eq!(library(&ada).await.len(), 1);

    // The provider retries: acknowledged, and nothing changes.
    let retry = webhook(&api, &event(&purchase, "paid", "evt-paid")).await;
    let receipt = expect(retry, 200).await;
    let keys = ["received", "duplicate", "purchase"];
    assert_eq!(pick(&receipt, &keys), json!([true, true, null]));
    assert_eq!(mine(&ada, &purchase).await, paid);
    assert_eq!(api.t.count("payment_event").await, 1);

    // A refund, signed by hand as documented: hex HMAC-SHA256 of "<t>.<raw body>".
    let body = serde_json::to_vec(&event(&purchase, "refunded", "evt-refund")).unwrap();
    let t = now();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(&body);
    let signature = format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()));
    let receipt = expect(deliver(&api.server, &body, Some(&signature)).await, 200).await;
    assert_eq!(receipt["purchase"]["status"], "refunded");
    assert!(library(&ada).await.is_empty(), "a refund takes it back");
    assert_eq!(mine(&ada, &purchase).await["status"], "refunded");
    bought(&ada, "k-4", ebook).await; // no longer owned, so it can be bought again
}

async fn webhook_signatures_are_checked_before_anything_changes(backend: Backend) {
    let (api, _, [ebook, ..]) = shop(&backend).await;
    let ada = user(&api, "ada").await;
    let purchase = bought(&ada, "k", ebook).await;
    let body = serde_json::to_vec(&event(&purchase, "paid", "evt-1")).unwrap();
    let mut forged = event(&purchase, "paid", "evt-1");
    forged["provider_ref"] = json!("pi_forged");
    let forged = serde_json::to_vec(&forged).unwrap();
    let secret = Secret::new(SECRET);
    let valid = sign(&secret, &body, now());
    let no_timestamp = valid.split(',').nth(1).unwrap().to_string();
    let other_secret = sign(&Secret::new("whsec_x"), &body, now());
    let (old, early) = (
        sign(&secret, &body, now() - 301),
        sign(&secret, &body, now() + 360),
    );

    for (what, signature, sent) in [
        ("none", None, &body),
        ("not a signature", Some("nonsense".to_string()), &body),
        ("no timestamp", Some(no_timestamp), &body),
        ("another secret", Some(other_secret), &body),
        ("another body", Some(valid.clone()), &forged),
        ("301 seconds old", Some(old), &body),
        ("six minutes ahead", Some(early), &body),
    ] {
        let response = deliver(&api.server, sent, signature.as_deref()).await;
        assert_eq!(response.status(), 401, "{what}");
        problem(response, 401, "unauthorized").await;
    }
    // A user's token is no substitute for the provider's signature.
    let webhook = api.server.url("/api/v1/payments/webhook");
    let with_token = api.server.client.post(webhook).bearer_auth(&ada.token);
    let with_token = with_token.json(&event(&purchase, "paid", "evt-1"));
    assert_eq!(with_token.send().await.unwrap().status(), 401);

    // A server without the secret cannot check anything: 503, never a silent accept.
    let unconfigured = TestServer::start(api.t.settings(), api.t.db.clone()).await;
    let response = deliver(&unconfigured, &body, Some(&valid)).await;
    problem(response, 503, "service-unavailable").await;

    assert_eq!(mine(&ada, &purchase).await, purchase, "nothing changed");
    assert_eq!(api.t.count("payment_event").await, 0);
    assert!(library(&ada).await.is_empty());

    let applied = expect(deliver(&api.server, &body, Some(&valid)).await, 200).await;
    assert_eq!(applied["purchase"]["provider_ref"], "pi_evt-1");
    assert_eq!(library(&ada).await.len(), 1);
}

async fn only_forward_transitions_apply(backend: Backend) {
    let (api, _, [ebook, ..]) = shop(&backend).await;
    let ada = user(&api, "ada").await;
    let refused = |purchase: Value, status: &'static str, event_id: &'static str| {
        let (api, ada) = (&api, &ada);
        async move {
            let before = mine(ada, &purchase).await;
            let response = webhook(api, &event(&purchase, status, event_id)).await;
            let problem = problem(response, 409, "conflict").await;
            assert_eq!(fields(&problem), ["status"]);
            assert_eq!(mine(ada, &purchase).await, before, "-> {status}: unchanged");
        }
    };

    let failing = bought(&ada, "k-1", ebook).await;
    refused(failing.clone(), "refunded", "evt-1").await;
    settle(&api, &failing, "failed", "evt-2").await;
    refused(failing.clone(), "paid", "evt-3").await;
    assert!(library(&ada).await.is_empty());

    let paying = bought(&ada, "k-2", ebook).await;
    for (field, value) in [("amount_minor", json!(1300)), ("currency", json!("USD"))] {
        let mut wrong = event(&paying, "paid", "evt-4");
        wrong[field] = value;
        problem(webhook(&api, &wrong).await, 422, "validation-error").await;
    }
    settle(&api, &paying, "paid", "evt-4").await;
    refused(paying.clone(), "failed", "evt-5").await;
    settle(&api, &paying, "refunded", "evt-6").await;
    refused(paying.clone(), "paid", "evt-7").await;

    let mut unknown = event(&paying, "paid", "evt-8");
    unknown["purchase_id"] = json!(999_999);
    problem(webhook(&api, &unknown).await, 404, "not-found").await;
    assert_eq!(api.t.count("payment_event").await, 3, "the applied ones");
    let page = ada.get("/me/purchases").await;
    let statuses: Vec<_> = items(&page).iter().map(|p| &p["status"]).collect();
    assert_eq!(statuses, ["refunded", "failed"], "newest first");
}

async fn admins_list_and_filter_every_purchase(backend: Backend) {
    let (api, _, [ebook, audiobook, _]) = shop(&backend).await;
    let (ada, bob) = (user(&api, "ada").await, user(&api, "bob").await);
    let admin = signed_in(&api, "admin").await;
    let ada_ebook = bought(&ada, "k-1", ebook).await;
    let ada_audio = bought(&ada, "k-2", audiobook).await;
    let bob_ebook = bought(&bob, "k-1", ebook).await;
    settle(&api, &ada_ebook, "paid", "evt-1").await;

    ada.fail(M::GET, "/purchases", N, 403).await;
    assert_unauthorized(api.get("/purchases", None).await, "admins only").await;

    let (ae, aa, be) = (id(&ada_ebook), id(&ada_audio), id(&bob_ebook));
    for (query, expected) in [
        (String::new(), vec![be, aa, ae]),
        ("?status=paid".into(), vec![ae]),
        ("?status=pending".into(), vec![be, aa]),
        (format!("?user_id={}", bob.id), vec![be]),
        (format!("?edition_id={ebook}"), vec![be, ae]),
        (format!("?user_id={}&status=pending", ada.id), vec![aa]),
        ("?limit=2".into(), vec![be, aa]),
    ] {
        let page = admin.get(&format!("/purchases{query}")).await;
        assert_eq!(ids(&page), expected, "{query}");
    }
    admin.fail(M::GET, "/purchases?status=stolen", N, 422).await;
    let own = ada.get("/me/purchases").await;
    assert_eq!(ids(&own), [aa, ae], "only her own");
}

async fn referral_links_count_paid_purchases_until_refunded(backend: Backend) {
    let (api, _, [ebook, audiobook, _]) = shop(&backend).await;
    let ada = user(&api, "ada").await;
    let link = json!({"code": "ada-friends"});
    ada.post("/me/referral-links", link).await;
    let body = json!({"username": "bob", "email": "bob@example.org",
                      "password": PASSWORD, "referral_code": "ada-friends"});
    expect(api.post("/auth/register", None, body).await, 201).await;
    let bob = signed_in(&api, "bob").await;
    let carol = user(&api, "carol").await;
    let counts = || async {
        let links = ada.get("/me/referral-links").await;
        pick(&items(&links)[0], &["signups", "purchases"])
    };

    let bob_ebook = bought(&bob, "k-1", ebook).await;
    assert_eq!(counts().await, json!([1, 0]), "pending does not count");
    settle(&api, &bob_ebook, "paid", "evt-1").await;
    assert_eq!(counts().await, json!([1, 1]));

    let carol_ebook = bought(&carol, "k-1", ebook).await;
    settle(&api, &carol_ebook, "paid", "evt-2").await; // carol was not referred
    let bob_failed = bought(&bob, "k-2", audiobook).await;
    settle(&api, &bob_failed, "failed", "evt-3").await;
    assert_eq!(counts().await, json!([1, 1]));

    let bob_audio = bought(&bob, "k-3", audiobook).await;
    settle(&api, &bob_audio, "paid", "evt-4").await;
    assert_eq!(counts().await, json!([1, 2]));
    settle(&api, &bob_ebook, "refunded", "evt-5").await;
    assert_eq!(counts().await, json!([1, 1]), "a refund stops counting");
}

async fn a_book_with_a_purchased_edition_cannot_be_deleted(backend: Backend) {
    let (api, book, [ebook, ..]) = shop(&backend).await;
    let ada = user(&api, "ada").await;
    let admin = signed_in(&api, "admin").await;
    let purchase = bought(&ada, "k", ebook).await;
    settle(&api, &purchase, "paid", "evt-1").await;
    let comment = json!({"text": "Labyrinthine.", "rating": 5});
    ada.post(&format!("/books/{book}/comments"), comment).await;

    let path = format!("/books/{book}");
    admin.fail(M::DELETE, &path, N, 409).await;
    let detail = ada.get(&path).await;
    assert_eq!(detail["editions"].as_array().unwrap().len(), 3);
    assert_eq!(detail["rating"]["count"], 1);
    assert_eq!(api.t.count("comment").await, 1, "nothing was taken");
    assert_eq!(api.t.count("purchase").await, 1);
    assert_eq!(library(&ada).await.len(), 1);
}

/// An edition bought, refunded and bought again (two paid purchases over time): the library
/// lists it once, with the newer purchase. (Two purchases of it cannot be open at once.)
async fn an_edition_paid_for_twice_is_in_the_library_once(backend: Backend) {
    let (api, _, [ebook, ..]) = shop(&backend).await;
    let reader = user(&api, "twice").await;
    let first = bought(&reader, "first-key", ebook).await;
    settle(&api, &first, "paid", "evt_first").await;
    settle(&api, &first, "refunded", "evt_refund").await;
    let second = bought(&reader, "second-key", ebook).await;
    settle(&api, &second, "paid", "evt_second").await;
    let owned = library(&reader).await;
    assert_eq!(owned.len(), 1, "{owned:?}");
    assert_eq!(owned[0]["edition_id"], ebook);
    assert_eq!(owned[0]["purchase_id"], second["id"]);
}

/// `t=<now>,v1=00,…` with `entries` junk signatures: nothing a server should hash for.
fn junk_signatures(entries: usize) -> String {
    format!("t={}{}", now(), ",v1=00".repeat(entries))
}

/// 10,000 `v1` entries are refused (400) on the header alone: the body is never read, so even
/// a body that would never finish arriving (a `Content-Length` far past the body limit, a few
/// bytes sent) gets its answer at once.
async fn a_huge_signature_header_is_refused_before_the_body_is_read(backend: Backend) {
    let (api, _, _) = shop(&backend).await;
    let signature = junk_signatures(10_000);
    let started = std::time::Instant::now();
    let refused = deliver(&api.server, b"{}", Some(&signature)).await;
    problem(refused, 400, "bad-request").await;

    let mut stream = tokio::net::TcpStream::connect(api.server.addr)
        .await
        .unwrap();
    let head = format!(
        "POST /api/v1/payments/webhook HTTP/1.1\r\nhost: folio\r\ncontent-type: application/json\r\n\
         content-length: 1000000000\r\nfolio-signature: {signature}\r\nconnection: close\r\n\r\n{{\"ev"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0; 64];
    let read = tokio::time::timeout(std::time::Duration::from_secs(5), stream.read(&mut answer));
    let read = read
        .await
        .expect("answered without waiting for the body")
        .unwrap();
    let status_line = String::from_utf8_lossy(&answer[..read]).to_string();
    assert!(status_line.starts_with("HTTP/1.1 400"), "{status_line}");
    let elapsed = started.elapsed();
    assert!(
        elapsed < std::time::Duration::from_secs(2),
        "a sanity bound: {elapsed:?}"
    );

    let oversized = format!("t={},v1={}", now(), "ab".repeat(2100));
    let refused = problem(
        deliver(&api.server, b"{}", Some(&oversized)).await,
        400,
        "bad-request",
    )
    .await;
    assert_eq!(
        refused["detail"],
        "The Folio-Signature header is longer than 4096 bytes."
    );
    assert_eq!(api.t.count("payment_event").await, 0);
}

async fn at_most_five_v1_signatures_are_accepted(backend: Backend) {
    let (api, _, [ebook, ..]) = shop(&backend).await;
    let ada = user(&api, "ada").await;
    let purchase = bought(&ada, "k", ebook).await;
    let body = serde_json::to_vec(&event(&purchase, "paid", "evt-1")).unwrap();
    let t = now();
    let valid = sign(&Secret::new(SECRET), &body, t);
    let v1 = valid.split_once(',').unwrap().1;
    let with_junk = |junk: usize| format!("t={t}{},{v1}", ",v1=00".repeat(junk));

    let six = deliver(&api.server, &body, Some(&with_junk(5))).await;
    let refused = problem(six, 400, "bad-request").await;
    assert_eq!(
        refused["detail"],
        "The Folio-Signature header has more than 5 v1 signatures."
    );
    assert_eq!(mine(&ada, &purchase).await["status"], "pending");

    let five = deliver(&api.server, &body, Some(&with_junk(4))).await;
    assert_eq!(expect(five, 200).await["purchase"]["status"], "paid");
}

/// `t` at the ends of i64 once overflowed `now - t` (a panic in a debug build).
async fn extreme_timestamps_are_refused_not_a_crash(backend: Backend) {
    let (api, _, [ebook, ..]) = shop(&backend).await;
    let ada = user(&api, "ada").await;
    let purchase = bought(&ada, "k", ebook).await;
    let body = serde_json::to_vec(&event(&purchase, "paid", "evt-1")).unwrap();
    let secret = Secret::new(SECRET);
    for t in [i64::MIN, i64::MIN + 1, i64::MAX, -1, 0] {
        let response = deliver(&api.server, &body, Some(&sign(&secret, &body, t))).await;
        problem(response, 401, "unauthorized").await;
    }
    let beyond = format!("t=99999999999999999999,v1={}", "00".repeat(32));
    let response = deliver(&api.server, &body, Some(&beyond)).await;
    problem(response, 401, "unauthorized").await;
    assert_eq!(mine(&ada, &purchase).await["status"], "pending");
}

/// An event id names one event about one purchase: the same id about another purchase is not
/// a retry of the first, and is refused rather than acknowledged as a duplicate.
async fn an_event_id_reused_for_another_purchase_is_refused(backend: Backend) {
    let (api, _, [ebook, audiobook, _]) = shop(&backend).await;
    let ada = user(&api, "ada").await;
    let first = bought(&ada, "k-1", ebook).await;
    let second = bought(&ada, "k-2", audiobook).await;
    settle(&api, &first, "paid", "evt-1").await;

    let reused = webhook(&api, &event(&second, "paid", "evt-1")).await;
    let refused = problem(reused, 409, "conflict").await;
    assert_eq!(fields(&refused), ["event_id"]);
    assert_eq!(mine(&ada, &second).await["status"], "pending");
    let retry = expect(webhook(&api, &event(&first, "paid", "evt-1")).await, 200).await;
    assert_eq!(
        retry["duplicate"], true,
        "the same event again is still a duplicate"
    );
    assert_eq!(api.t.count("payment_event").await, 1);
}

async fn an_edition_owned_or_pending_cannot_be_bought_again(backend: Backend) {
    let (api, _, [ebook, ..]) = shop(&backend).await;
    let ada = user(&api, "ada").await;
    let pending = bought(&ada, "k-1", ebook).await;

    let refused = problem(buy(&ada, Some("k-2"), ebook).await, 409, "conflict").await;
    assert_eq!(fields(&refused), ["edition_id"]);
    assert!(
        refused["detail"].as_str().unwrap().contains("pending"),
        "{refused}"
    );
    let replay = buy(&ada, Some("k-1"), ebook).await;
    assert_eq!(expect(replay, 200).await, pending, "a retry still replays");

    settle(&api, &pending, "failed", "evt-1").await;
    let paid = bought(&ada, "k-3", ebook).await; // a failed payment does not hold the edition
    settle(&api, &paid, "paid", "evt-2").await;
    let refused = problem(buy(&ada, Some("k-4"), ebook).await, 409, "conflict").await;
    assert_eq!(fields(&refused), ["edition_id"]);
    assert_eq!(api.t.count("purchase").await, 2);
}

/// Twenty purchases of one edition at once, each with its own key: one is made, the others are
/// told the edition is pending, and only one purchase exists.
async fn parallel_purchases_of_one_edition_make_one(backend: Backend) {
    let (api, _, [ebook, ..]) = shop(&backend).await;
    let ada = user(&api, "ada").await;

    let mut requests = tokio::task::JoinSet::new();
    for attempt in 0..20 {
        let url = api.server.url("/api/v1/purchases");
        let request = api.server.client.post(url).bearer_auth(&ada.token);
        let request = request.header("Idempotency-Key", format!("click-{attempt}"));
        let request = request.json(&json!({"edition_id": ebook}));
        requests.spawn(async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        });
    }
    let answers = requests.join_all().await;

    assert_eq!(api.t.count("purchase").await, 1, "exactly one purchase");
    let created = answers.iter().filter(|a| a.0 == 201).count();
    assert_eq!(created, 1, "{answers:?}");
    for (status, body) in answers.iter().filter(|a| a.0 != 201) {
        assert_eq!(*status, 409, "{body}");
        assert_eq!(fields(body), ["edition_id"], "{body}");
    }
}

/// Twenty deliveries of one event at once, ten rounds: every one is a 200, one applies it and
/// the rest are duplicates; never a 409 "paid cannot become paid".
async fn parallel_duplicate_deliveries_apply_once(backend: Backend) {
    let (api, _, [ebook, ..]) = shop(&backend).await;
    let ada = user(&api, "ada").await;
    for round in 0..10 {
        let purchase = bought(&ada, &format!("k-{round}"), ebook).await;
        let body = serde_json::to_vec(&event(&purchase, "paid", &format!("evt-{round}"))).unwrap();
        let signature = sign(&Secret::new(SECRET), &body, now());
        let mut deliveries = tokio::task::JoinSet::new();
        for _ in 0..20 {
            let url = api.server.url("/api/v1/payments/webhook");
            let request = api.server.client.post(url).body(body.clone());
            let request = request.header("Folio-Signature", &signature);
            let request = request.header("content-type", "application/json");
            deliveries.spawn(async move {
                let response = request.send().await.unwrap();
                let status = response.status().as_u16();
                (status, response.json::<Value>().await.unwrap())
            });
        }
        let answers = deliveries.join_all().await;
        for (status, body) in &answers {
            assert_eq!(*status, 200, "round {round}: {body}");
        }
        let applied = answers.iter().filter(|a| a.1["duplicate"] == false).count();
        assert_eq!(applied, 1, "round {round}: {answers:?}");
        assert_eq!(mine(&ada, &purchase).await["status"], "paid");
        settle(&api, &purchase, "refunded", &format!("refund-{round}")).await;
    }
    assert_eq!(
        api.t.count("payment_event").await,
        20,
        "one paid, one refund a round"
    );
}
