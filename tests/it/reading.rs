//! Reading over real HTTP: comments and the rating summary they keep up, progress that follows
//! a reader from one format to another, private notes, and what deleting a book takes with it.
//! Helpers are in `support/user.rs`.

use chrono::{TimeDelta, Utc};
use reqwest::Method as M;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::support::Backend;
use crate::support::api::{Api, assert_unauthorized, expect, id, items, problem};
use crate::support::user::{
    N, User, admin, ids, new_book, new_books, new_edition, pick, time, user,
};

backend_tests!(
    comments_are_public_newest_first_and_never_show_an_email,
    comments_are_checked_and_need_a_book_and_a_sign_in,
    only_the_author_edits_and_the_author_or_an_admin_deletes,
    the_rating_summary_follows_every_comment_change,
    the_newest_progress_wins,
    progress_is_translated_per_edition_and_private,
    notes_are_private_to_their_owner,
    deleting_a_book_takes_its_comments_progress_and_notes,
);

// ---------------------------------------------------------------------------------------------
// Comments and ratings
// ---------------------------------------------------------------------------------------------

/// `user` comments on `book`.
async fn say(user: &User<'_>, book: i64, text: &str, rating: Option<i32>) -> Value {
    let body = json!({"text": text, "rating": rating});
    user.post(&format!("/books/{book}/comments"), body).await
}

async fn comments_are_public_newest_first_and_never_show_an_email(backend: Backend) {
    let api = Api::start(&backend).await;
    let admin = admin(&api).await;
    let [book, other] = new_books(&admin, ["Solaris", "Eden"]).await;
    let (ada, bob) = (user(&api, "ada").await, user(&api, "bob").await);

    let first = say(&ada, book, "Unknowable.", Some(5)).await;
    let keys = ["book_id", "text", "rating"];
    assert_eq!(pick(&first, &keys), json!([book, "Unknowable.", 5]));
    assert_eq!(first["user"], json!({"id": ada.id, "username": "ada"}));
    assert_eq!(time(&first["created_at"]), time(&first["updated_at"]));
    let second = say(&bob, book, "Slow start.", None).await;
    assert_eq!(second["rating"], N, "a rating is optional");
    let third = say(&ada, book, "Rereading it.", None).await;
    say(&bob, other, "Elsewhere.", Some(1)).await;

    // Anyone may read them, signed in or not: newest first, only this book's, no emails.
    let path = format!("/books/{book}/comments");
    let response = api.get(&path, None).await;
    assert_eq!(response.status(), 200);
    let raw = response.text().await.unwrap();
    assert!(!raw.contains("example.org"), "no email address: {raw}");
    let page: Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(ids(&page), [id(&third), id(&second), id(&first)]);
    assert_eq!(page["next_cursor"], N);
    let bobs = json!({"id": bob.id, "username": "bob"});
    assert_eq!(items(&page)[1]["user"], bobs);
    assert_eq!(items(&page)[2], first, "as the create answered");

    let one = bob.get(&format!("{path}?limit=2")).await;
    assert_eq!(ids(&one), [id(&third), id(&second)]);
    let cursor = one["next_cursor"].as_str().expect("a next page");
    let two = bob.get(&format!("{path}?limit=2&cursor={cursor}")).await;
    assert_eq!(ids(&two), [id(&first)]);
    assert_eq!(two["next_cursor"], N);
}

async fn comments_are_checked_and_need_a_book_and_a_sign_in(backend: Backend) {
    let api = Api::start(&backend).await;
    let book = new_book(&admin(&api).await, "Kindred").await;
    let ada = user(&api, "ada").await;
    let path = format!("/books/{book}/comments");

    let anonymous = api.post(&path, None, json!({"text": "Hi"})).await;
    assert_unauthorized(anonymous, "commenting needs a sign-in").await;
    for (body, field) in [
        (json!({"text": "Great", "rating": 6}), "rating"),
        (json!({"text": "Great", "rating": 0}), "rating"),
        (json!({"text": ""}), "text"),
        (json!({"text": "x".repeat(5001)}), "text"),
    ] {
        ada.invalid(M::POST, &path, body, field).await;
    }
    // The limit is 5,000 characters, not bytes.
    let longest = say(&ada, book, &"é".repeat(5000), None).await;
    assert_eq!(longest["text"].as_str().unwrap().chars().count(), 5000);

    let unknown = "/books/999999/comments";
    problem(api.get(unknown, None).await, 404, "not-found").await;
    ada.fail(M::POST, unknown, json!({"text": "Hi"}), 404).await;
    assert_eq!(api.t.count("comment").await, 1, "only the valid one");
}

async fn only_the_author_edits_and_the_author_or_an_admin_deletes(backend: Backend) {
    let api = Api::start(&backend).await;
    let admin = admin(&api).await;
    let book = new_book(&admin, "Parable of the Sower").await;
    let (ada, bob) = (user(&api, "ada").await, user(&api, "bob").await);
    let mine = say(&ada, book, "Prescient.", Some(4)).await;
    let spare = say(&ada, book, "Second thoughts.", None).await;
    let path = format!("/comments/{}", id(&mine));
    let spare_path = format!("/comments/{}", id(&spare));
    let list = format!("/books/{book}/comments");

    for someone_else in [&bob, &admin] {
        for body in [json!({"text": "Mine now"}), json!({"rating": null})] {
            someone_else.fail(M::PATCH, &path, body, 403).await;
        }
    }
    bob.fail(M::DELETE, &path, N, 403).await;
    assert_eq!(items(&ada.get(&list).await)[1], mine, "unchanged");

    let edited = ada.patch(&path, json!({"text": "Prophetic."})).await;
    let keys = ["id", "text", "rating", "created_at"];
    let expected = json!([mine["id"], "Prophetic.", 4, mine["created_at"]]);
    assert_eq!(pick(&edited, &keys), expected);
    assert!(time(&edited["updated_at"]) > time(&mine["updated_at"]));
    let too_high = json!({"rating": 6});
    ada.invalid(M::PATCH, &path, too_high, "rating").await;
    let unrated = ada.patch(&path, json!({"rating": null})).await;
    assert_eq!(unrated["rating"], N);
    assert_eq!(unrated["text"], "Prophetic.");

    // The author deletes her own; an admin deletes anyone's.
    ada.delete(&path).await;
    admin.delete(&spare_path).await;
    assert!(items(&bob.get(&list).await).is_empty());
    for gone in [&path, &spare_path] {
        admin.fail(M::DELETE, gone, N, 404).await;
        ada.fail(M::PATCH, gone, json!({"text": "x"}), 404).await;
    }
    let anonymous = api.delete(&spare_path, None).await;
    assert_unauthorized(anonymous, "deleting needs a sign-in").await;
}

/// `(average, count)` from the book's detail.
async fn rating(api: &Api, book: i64) -> (f64, i64) {
    let detail = expect(api.get(&format!("/books/{book}"), None).await, 200).await;
    let (average, count) = (&detail["rating"]["average"], &detail["rating"]["count"]);
    (average.as_f64().unwrap(), count.as_i64().unwrap())
}

async fn the_rating_summary_follows_every_comment_change(backend: Backend) {
    let api = Api::start(&backend).await;
    let admin = admin(&api).await;
    let [book, other] = new_books(&admin, ["Dawn", "Imago"]).await;
    let (ada, bob) = (user(&api, "ada").await, user(&api, "bob").await);
    let path = |comment: &Value| format!("/comments/{}", id(comment));
    assert_eq!(rating(&api, book).await, (0.0, 0)); // nobody has rated it yet

    let five = path(&say(&ada, book, "Superb", Some(5)).await);
    assert_eq!(rating(&api, book).await, (5.0, 1));
    let four = path(&say(&bob, book, "Good", Some(4)).await);
    assert_eq!(rating(&api, book).await, (4.5, 2));
    let plain = path(&say(&ada, book, "No stars", None).await);
    assert_eq!(rating(&api, book).await, (4.5, 2));
    let another_four = path(&say(&bob, book, "Still good", Some(4)).await);
    assert_eq!(rating(&api, book).await, (4.33, 3)); // 13 / 3, two decimals

    ada.patch(&five, json!({"rating": 3})).await;
    assert_eq!(rating(&api, book).await, (3.67, 3)); // 11 / 3
    ada.patch(&five, json!({"text": "Fine"})).await;
    assert_eq!(rating(&api, book).await, (3.67, 3)); // the text alone
    ada.invalid(M::PATCH, &five, json!({"rating": 9}), "rating")
        .await;
    assert_eq!(rating(&api, book).await, (3.67, 3)); // refused, nothing changed
    ada.patch(&five, json!({"rating": null})).await;
    assert_eq!(rating(&api, book).await, (4.0, 2)); // removed: 8 / 2
    ada.patch(&plain, json!({"rating": 1})).await;
    assert_eq!(rating(&api, book).await, (3.0, 3)); // added later: 9 / 3

    admin.delete(&four).await;
    assert_eq!(rating(&api, book).await, (2.5, 2));
    bob.delete(&another_four).await;
    assert_eq!(rating(&api, book).await, (1.0, 1));
    ada.delete(&five).await;
    assert_eq!(rating(&api, book).await, (1.0, 1)); // it had no rating any more
    ada.delete(&plain).await;
    assert_eq!(rating(&api, book).await, (0.0, 0));
    assert_eq!(rating(&api, other).await, (0.0, 0), "other books untouched");
}

// ---------------------------------------------------------------------------------------------
// Progress
// ---------------------------------------------------------------------------------------------

async fn the_newest_progress_wins(backend: Backend) {
    let api = Api::start(&backend).await;
    let admin = admin(&api).await;
    let [book, other] = new_books(&admin, ["Dune", "Emma"]).await;
    let ebook = new_edition(&admin, book, json!({"format": "ebook"})).await;
    let foreign = new_edition(&admin, other, json!({"format": "ebook"})).await;
    let ada = user(&api, "ada").await;
    let path = format!("/me/progress/{book}");

    let at_ten = json!({"edition_id": ebook, "percent": 0.4, "locator": "cfi(/6/14)",
                        "device": "kobo", "updated_at": "2025-03-01T10:00:00Z"});
    let stored = ada.put(&path, at_ten).await;
    let keys = ["applied", "edition_id", "percent", "status", "device"];
    assert_eq!(
        pick(&stored, &keys),
        json!([true, ebook, 0.4, "reading", "kobo"])
    );
    assert_eq!(
        pick(&stored, &["book_id", "locator"]),
        json!([book, "cfi(/6/14)"])
    );
    assert_eq!(stored["updated_at"], "2025-03-01T10:00:00Z");

    // A phone that was offline syncs an older place: nothing changes, and the answer says so.
    let older = json!({"percent": 0.2, "device": "phone", "updated_at": "2025-03-01T09:59:59Z"});
    let late = ada.put(&path, older).await;
    let mut kept = stored.clone();
    kept["applied"] = json!(false);
    assert_eq!(late, kept, "applied: false, with what is stored");
    let read = ada.get(&path).await;
    assert_eq!(pick(&read, &["percent", "device"]), json!([0.4, "kobo"]));

    // Half a second newer is newer; a write replaces the whole place.
    let newer = json!({"percent": 0.45, "updated_at": "2025-03-01T10:00:00.5Z"});
    let moved = ada.put(&path, newer).await;
    let keys = ["applied", "percent", "edition_id", "locator", "device"];
    assert_eq!(pick(&moved, &keys), json!([true, 0.45, null, null, null]));
    let stale = json!({"percent": 0.1, "updated_at": "2025-03-01T10:00:00Z"});
    assert_eq!(ada.put(&path, stale).await["percent"], 0.45);

    // Without updated_at the server's clock decides.
    let finished = json!({"percent": 1, "status": "finished"});
    let done = ada.put(&path, finished).await;
    assert_eq!(
        pick(&done, &["applied", "status"]),
        json!([true, "finished"])
    );
    assert!((Utc::now() - time(&done["updated_at"])).abs() < TimeDelta::minutes(1));

    // A device's clock may run up to five minutes ahead, no more.
    let ahead = |minutes| (Utc::now() + TimeDelta::minutes(minutes)).to_rfc3339();
    let too_far = json!({"percent": 0.5, "updated_at": ahead(6)});
    ada.invalid(M::PUT, &path, too_far, "updated_at").await;
    let slightly = json!({"percent": 0.5, "updated_at": ahead(2)});
    assert_eq!(ada.put(&path, slightly).await["applied"], true);
    let now = ada.put(&path, json!({"percent": 0.6})).await;
    assert_eq!(pick(&now, &["applied", "percent"]), json!([false, 0.5]));

    for (body, field) in [
        (json!({"percent": 1.5}), "percent"),
        (json!({"percent": -0.1}), "percent"),
        (json!({"percent": 0.3, "edition_id": foreign}), "edition_id"),
        (json!({"percent": 0.3, "status": "sleeping"}), "status"),
    ] {
        ada.invalid(M::PUT, &path, body, field).await;
    }
    let some = json!({"percent": 0.3});
    ada.fail(M::PUT, "/me/progress/9999", some.clone(), 404)
        .await;
    let anonymous = api.call(M::PUT, &path, None, Some(&some)).await;
    assert_unauthorized(anonymous, "progress needs a sign-in").await;
    assert_eq!(ada.get(&path).await["percent"], 0.5, "nothing changed");
    assert_eq!(api.t.count("progress").await, 1, "one row per book");
}

async fn progress_is_translated_per_edition_and_private(backend: Backend) {
    let api = Api::start(&backend).await;
    let admin = admin(&api).await;
    let [book, emma] = new_books(&admin, ["Middlemarch", "Emma"]).await;
    let print = new_edition(&admin, book, json!({"format": "print", "pages": 300})).await;
    let audio = json!({"format": "audiobook", "duration_seconds": 36000});
    let audio = new_edition(&admin, book, audio).await;
    let ebook = new_edition(&admin, book, json!({"format": "ebook"})).await;
    let emma_ebook = new_edition(&admin, emma, json!({"format": "ebook"})).await;
    let (ada, bob) = (user(&api, "ada").await, user(&api, "bob").await);
    let path = format!("/me/progress/{book}");
    let on = |edition: i64| format!("{path}?edition_id={edition}");

    let listened = json!({"edition_id": audio, "percent": 0.25, "locator": "9000"});
    ada.put(&path, listened).await;
    let keys = ["edition_id", "percent", "for_edition_id", "page", "seconds"];
    let paper = ada.get(&on(print)).await;
    // Pages as KOReader counts them: round(percent × pages).
    assert_eq!(pick(&paper, &keys), json!([audio, 0.25, print, 75, null]));
    let heard = ada.get(&on(audio)).await;
    assert_eq!(pick(&heard, &keys), json!([audio, 0.25, audio, null, 9000]));
    let flow = ada.get(&on(ebook)).await; // no pages, no duration
    assert_eq!(pick(&flow, &keys), json!([audio, 0.25, ebook, null, null]));
    let plain = ada.get(&path).await;
    assert_eq!(pick(&plain, &keys), json!([audio, 0.25, null, null, null]));
    ada.invalid(M::GET, &on(emma_ebook), N, "edition_id").await;

    for (percent, page, seconds) in [(0.0, 1, 0), (0.33333, 100, 12000), (1.0, 300, 36000)] {
        ada.put(&path, json!({"percent": percent})).await;
        assert_eq!(ada.get(&on(print)).await["page"], page);
        assert_eq!(ada.get(&on(audio)).await["seconds"], seconds);
    }

    // Continue reading: the most recently updated first, with titles.
    let emma_at = json!({"edition_id": emma_ebook, "percent": 0.1});
    ada.put(&format!("/me/progress/{emma}"), emma_at).await;
    let list = ada.get("/me/progress").await;
    let (rows, keys) = (items(&list), ["book_id", "title", "edition_id", "percent"]);
    assert_eq!(
        pick(&rows[0], &keys),
        json!([emma, "Emma", emma_ebook, 0.1])
    );
    assert_eq!(
        pick(&rows[1], &keys),
        json!([book, "Middlemarch", null, 1.0])
    );
    assert_eq!(rows[1]["status"], "reading");
    ada.put(&path, json!({"percent": 0.9})).await;
    let first = ada.get("/me/progress?limit=1").await;
    assert_eq!(items(&first)[0]["book_id"], book); // touched last, listed first
    let cursor = first["next_cursor"].as_str().expect("a second page");
    let next = format!("/me/progress?limit=1&cursor={cursor}");
    let second = ada.get(&next).await;
    assert_eq!(items(&second)[0]["book_id"], emma);
    assert_eq!(second["next_cursor"], N);

    // Bob sees none of it, and his own place is his.
    assert!(items(&bob.get("/me/progress").await).is_empty());
    bob.fail(M::GET, &path, N, 404).await;
    bob.put(&path, json!({"percent": 0.05})).await;
    assert_eq!(ada.get(&path).await["percent"], 0.9);
    assert_eq!(bob.get(&path).await["percent"], 0.05);
    let anonymous = api.get("/me/progress", None).await;
    assert_unauthorized(anonymous, "progress is personal").await;
}

// ---------------------------------------------------------------------------------------------
// Notes
// ---------------------------------------------------------------------------------------------

async fn notes_are_private_to_their_owner(backend: Backend) {
    let api = Api::start(&backend).await;
    let admin = admin(&api).await;
    let [book, other] = new_books(&admin, ["Persuasion", "Emma"]).await;
    let ebook = new_edition(&admin, book, json!({"format": "ebook"})).await;
    let foreign = new_edition(&admin, other, json!({"format": "ebook"})).await;
    let (ada, bob) = (user(&api, "ada").await, user(&api, "bob").await);

    let body = json!({"book_id": book, "edition_id": ebook, "locator": "cfi(/4)", "text": "Yes!"});
    let note = ada.post("/me/notes", body).await;
    let keys = ["book_id", "edition_id", "locator", "text"];
    assert_eq!(pick(&note, &keys), json!([book, ebook, "cfi(/4)", "Yes!"]));
    let body = json!({"book_id": book, "locator": "p. 12"});
    let bookmark = ada.post("/me/notes", body).await;
    assert_eq!(pick(&bookmark, &keys), json!([book, null, "p. 12", null]));
    let body = json!({"book_id": other, "locator": "ch. 1", "text": "é".repeat(10_000)});
    let elsewhere = ada.post("/me/notes", body).await;

    let all = ada.get("/me/notes").await;
    assert_eq!(ids(&all), [id(&note), id(&bookmark), id(&elsewhere)]);
    let in_book = ada.get(&format!("/me/notes?book_id={book}")).await;
    assert_eq!(ids(&in_book), [id(&note), id(&bookmark)]);
    let first = ada.get("/me/notes?limit=2").await;
    let cursor = first["next_cursor"].as_str().expect("a second page");
    let rest = ada.get(&format!("/me/notes?limit=2&cursor={cursor}")).await;
    assert_eq!(ids(&rest), [id(&elsewhere)]);
    let path = format!("/me/notes/{}", id(&note));
    assert_eq!(ada.get(&path).await, note);

    // To another reader the note does not exist.
    bob.fail(M::GET, &path, N, 404).await;
    bob.fail(M::PATCH, &path, json!({"text": "Mine"}), 404)
        .await;
    bob.fail(M::DELETE, &path, N, 404).await;
    assert!(items(&bob.get(&format!("/me/notes?book_id={book}")).await).is_empty());
    assert_eq!(ada.get(&path).await, note, "untouched");
    assert_unauthorized(api.get("/me/notes", None).await, "notes are personal").await;

    let moved = ada.patch(&path, json!({"locator": "cfi(/8)"})).await;
    assert_eq!(pick(&moved, &keys), json!([book, ebook, "cfi(/8)", "Yes!"]));
    assert!(time(&moved["updated_at"]) > time(&note["updated_at"]));
    let mark = ada.patch(&path, json!({"text": null})).await; // now a bookmark
    assert_eq!(pick(&mark, &keys), json!([book, ebook, "cfi(/8)", null]));

    let long = json!("x".repeat(10_001));
    for (field, value) in [
        ("edition_id", json!(foreign)),
        ("book_id", json!(999_999)),
        ("text", long.clone()),
        ("locator", N),
    ] {
        let mut body = json!({"book_id": book, "locator": "p. 1"});
        body[field] = value;
        ada.invalid(M::POST, "/me/notes", body, field).await;
    }
    ada.invalid(M::PATCH, &path, json!({"text": long}), "text")
        .await;
    let foreign = json!({"edition_id": foreign});
    ada.invalid(M::PATCH, &path, foreign, "edition_id").await;
    assert_eq!(api.t.count("note").await, 3);

    ada.delete(&path).await;
    ada.fail(M::GET, &path, N, 404).await;
    ada.fail(M::DELETE, &path, N, 404).await;
    let left = ada.get("/me/notes").await;
    assert_eq!(ids(&left), [id(&bookmark), id(&elsewhere)]);
}

// ---------------------------------------------------------------------------------------------
// Cascades
// ---------------------------------------------------------------------------------------------

fn book_ids(page: Value) -> Vec<Value> {
    items(&page)
        .iter()
        .map(|row| row["book_id"].clone())
        .collect()
}

async fn deleting_a_book_takes_its_comments_progress_and_notes(backend: Backend) {
    let api = Api::start(&backend).await;
    let admin = admin(&api).await;
    let [doomed, kept] = new_books(&admin, ["Ubik", "Valis"]).await;
    let print = new_edition(&admin, doomed, json!({"format": "print", "pages": 184})).await;
    let (ada, bob) = (user(&api, "ada").await, user(&api, "bob").await);
    let (book_path, progress_path) = (format!("/books/{doomed}"), format!("/me/progress/{doomed}"));

    for (book, edition) in [(doomed, Some(print)), (kept, None)] {
        say(&ada, book, "Strange.", Some(4)).await;
        let progress = json!({"edition_id": edition, "percent": 0.5});
        ada.put(&format!("/me/progress/{book}"), progress).await;
        let note = json!({"book_id": book, "edition_id": edition, "locator": "p. 10"});
        ada.post("/me/notes", note).await;
    }
    say(&bob, doomed, "Jory!", Some(2)).await;
    bob.put(&progress_path, json!({"percent": 0.1})).await;
    let t = &api.t;
    let counts = || async {
        let (comments, progress) = (t.count("comment").await, t.count("progress").await);
        (comments, progress, t.count("note").await)
    };
    assert_eq!(counts().await, (3, 3, 2));

    admin.delete(&book_path).await;
    assert_eq!(counts().await, (1, 1, 1), "only the kept book's rows");
    assert_eq!(t.count("edition").await, 0);

    for gone in [book_path.clone(), format!("{book_path}/comments")] {
        problem(api.get(&gone, None).await, 404, "not-found").await;
    }
    ada.fail(M::GET, &progress_path, N, 404).await;
    bob.fail(M::GET, &progress_path, N, 404).await;
    assert_eq!(book_ids(ada.get("/me/progress").await), [kept]);
    assert_eq!(book_ids(ada.get("/me/notes").await), [kept]);
    assert_eq!(rating(&api, kept).await, (4.0, 1)); // the other book's rating
    admin.fail(M::DELETE, &book_path, N, 404).await;
}
