//! The reader's account page over HTTP: API keys shown once and working, referral links,
//! the addresses reading apps use, a password change, signing out everywhere, the export.

use crate::backend_tests;
use crate::support::Backend;
use crate::support::api::{Api, PASSWORD};
use crate::support::browser::{Browser, text};

backend_tests!(
    a_reader_manages_keys_links_password_and_sign_ins,
    a_reader_sees_their_sign_ins_and_ends_one
);

async fn a_reader_manages_keys_links_password_and_sign_ins(backend: Backend) {
    let api = Api::start(&backend).await;
    let browser = Browser::new(&api.server);
    browser.register("reader").await;
    let other = Browser::new(&api.server);
    assert_eq!(other.sign_in("reader").await.status(), 303);

    let words = text(&browser.page("/account").await);
    let origin = api.server.url("");
    let origin = origin.trim_end_matches('/');
    assert!(words.contains("reader@example.com"), "{words}");
    assert!(
        words.contains(&format!("{origin}/opds/v1.2/catalog")),
        "{words}"
    );
    assert!(words.contains(&format!("{origin}/kosync")), "{words}");

    // A key, shown once, that works on the API; revoked, it does not.
    let made = browser
        .submit("/account", "/account/api-keys", &[("name", "Kobo")])
        .await;
    assert_eq!(made.status(), 200);
    assert_eq!(made.headers()["cache-control"], "no-store");
    let page = made.text().await.unwrap();
    let key = page
        .split("class=\"secret\">")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_string();
    assert!(key.starts_with("fol_"), "{key}");
    let me = api
        .server
        .client
        .get(api.server.url("/api/v1/me"))
        .header("x-api-key", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    let again = browser.page("/account").await;
    assert!(!again.contains(&key), "the key is shown once");
    let revoke = again
        .split("action=\"/account/api-keys/")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let revoked = browser
        .submit("/account", &format!("/account/api-keys/{revoke}"), &[])
        .await;
    assert_eq!(revoked.status(), 303);
    let me = api
        .server
        .client
        .get(api.server.url("/api/v1/me"))
        .header("x-api-key", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 401);

    // A referral link, listed with what it brought.
    let link = browser
        .submit(
            "/account",
            "/account/referral-links",
            &[("code", "reader-friends")],
        )
        .await;
    assert_eq!(link.status(), 303);
    let words = text(&browser.page("/account").await);
    assert!(
        words.contains(&format!("{origin}/r/reader-friends 0 0 0")),
        "{words}"
    );

    // The export is the reader's data.
    let export = browser.open("/account/export").await;
    assert_eq!(export.status(), 200);
    assert!(
        export.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("attachment")
    );
    let data: serde_json::Value = export.json().await.unwrap();
    assert_eq!(data["user"]["username"], "reader");

    // A wrong current password changes nothing; the right one ends the other browser's sign-in.
    let wrong = browser
        .submit(
            "/account",
            "/account/password",
            &[
                ("current_password", "not it at all"),
                ("new_password", "a new long passphrase"),
            ],
        )
        .await;
    assert_eq!(wrong.status(), 422);
    assert!(text(&wrong.text().await.unwrap()).contains("The current password is not right."));
    let changed = browser
        .submit(
            "/account",
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "a new long passphrase"),
            ],
        )
        .await;
    assert_eq!(changed.status(), 200);
    assert!(
        text(&changed.text().await.unwrap())
            .contains("Password changed. Sign-ins ended elsewhere: 1; API keys ended: 0.")
    );
    assert!(
        text(&other.page("/").await).contains("Sign in"),
        "the other browser is signed out"
    );
    assert!(
        text(&browser.page("/").await).contains("Sign out"),
        "this one stays"
    );

    // Signing out everywhere ends this one too.
    let out = browser
        .submit("/account", "/account/signout-everywhere", &[])
        .await;
    assert_eq!(out.status(), 303);
    assert!(text(&browser.page("/").await).contains("Sign in"));
    assert_eq!(
        api.try_login("reader", "a new long passphrase")
            .await
            .status(),
        200
    );
}

/// The id in the first `/account/sign-ins/{id}/end` form after `label` on the page.
fn end_form_after(page: &str, label: &str) -> String {
    page.split(label)
        .nth(1)
        .unwrap_or_else(|| panic!("no {label} on the page"))
        .split("action=\"/account/sign-ins/")
        .nth(1)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_string()
}

async fn a_reader_sees_their_sign_ins_and_ends_one(backend: Backend) {
    let api = Api::start(&backend).await;
    let browser = Browser::new(&api.server);
    browser.register("reader").await;
    let other = Browser::new(&api.server);
    assert_eq!(other.sign_in("reader").await.status(), 303);
    assert_eq!(api.try_login("reader", PASSWORD).await.status(), 200);
    let stranger = Browser::new(&api.server);
    stranger.register("stranger").await;

    // This browser, the other one and the app, each with when it began; only others can be
    // ended from here (this one signs out from the header).
    let page = browser.page("/account").await;
    let words = text(&page);
    for kind in ["This browser", "Another browser", "A reading app"] {
        assert_eq!(words.matches(kind).count(), 1, "{kind}: {words}");
    }
    assert!(words.contains(" UTC"), "{words}");
    assert_eq!(page.matches("action=\"/account/sign-ins/").count(), 2);

    // A stranger cannot end them; the reader ends the other browser's and it is signed out.
    let other_id = end_form_after(&page, "Another browser");
    let refused = stranger
        .submit(
            "/account",
            &format!("/account/sign-ins/{other_id}/end"),
            &[],
        )
        .await;
    assert_eq!(refused.status(), 404);
    assert!(text(&other.page("/").await).contains("Sign out"));
    let ended = browser
        .submit(
            "/account",
            &format!("/account/sign-ins/{other_id}/end"),
            &[],
        )
        .await;
    assert_eq!(ended.status(), 200);
    let words = text(&ended.text().await.unwrap());
    assert!(words.contains("That sign-in has ended."), "{words}");
    assert!(!words.contains("Another browser"), "{words}");
    assert!(words.contains("A reading app"), "{words}");
    assert!(text(&other.page("/").await).contains("Sign in"));
    assert!(text(&browser.page("/").await).contains("Sign out"));
}
