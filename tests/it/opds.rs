//! OPDS catalogs as an e-reader app sees them: every feed kind in both versions, checked by
//! the official schemas; what each reader may acquire; prices; pages; signing in.

use reqwest::Response;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::support::Backend;
use crate::support::api::{Api, PASSWORD, expect};
use crate::support::books::{epub, fixture};
use crate::support::opds::validate;
use crate::support::shop::{SECRET_VAR, bought, settle};
use crate::support::user::{admin, new_book, new_edition, upload, user};

backend_tests!(
    every_feed_validates_and_offers_what_each_reader_may_have,
    apps_sign_in_with_basic_or_an_api_key_and_are_challenged_when_they_must,
);

/// `GET path` as an app would, with HTTP Basic when `basic` is given.
async fn get(api: &Api, path: &str, basic: Option<(&str, &str)>) -> Response {
    let mut request = api.server.client.get(api.server.url(path));
    if let Some((user, secret)) = basic {
        request = request.basic_auth(user, Some(secret));
    }
    request.send().await.unwrap()
}

/// A feed's body after checking its status and type, validated by the schemas.
async fn feed(api: &Api, path: &str, basic: Option<(&str, &str)>) -> String {
    let response = get(api, path, basic).await;
    assert_eq!(response.status(), 200, "{path}");
    let media_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    let body = response.text().await.unwrap();
    if path.starts_with("/opds/v1.2/") {
        assert!(
            media_type.starts_with("application/atom+xml;profile=opds-catalog"),
            "{path}: {media_type}"
        );
        validate(body.as_bytes(), "xml", None, path);
    } else {
        assert_eq!(media_type, "application/opds+json", "{path}");
        validate(body.as_bytes(), "json", Some("feed"), path);
    }
    body
}

/// The `href` of the first `<link rel="{rel}" …>` in an Atom document.
fn atom_link(body: &str, rel: &str) -> Option<String> {
    let at = body.find(&format!("<link rel=\"{rel}\""))?;
    let rest = &body[at..];
    let end = rest.find('>')?;
    let tag = &rest[..end];
    let href = tag.split("href=\"").nth(1)?.split('"').next()?;
    Some(href.replace("&amp;", "&"))
}

/// The Atom `<entry>` whose title is `title`.
fn atom_entry<'b>(body: &'b str, title: &str) -> &'b str {
    body.split("<entry>")
        .find(|e| e.contains(&format!("<title>{title}</title>")))
        .unwrap_or_else(|| panic!("no entry {title} in {body}"))
}

fn publication<'b>(feed: &'b Value, title: &str) -> &'b Value {
    feed["publications"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["metadata"]["title"] == title))
        .unwrap_or_else(|| panic!("no publication {title} in {feed}"))
}

fn rels(publication: &Value) -> Vec<String> {
    publication["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["rel"].as_str().unwrap_or_default().to_string())
        .collect()
}

async fn every_feed_validates_and_offers_what_each_reader_may_have(backend: Backend) {
    let api = Api::start_with(&backend, &[SECRET_VAR]).await;
    let admin = admin(&api).await;
    let reader = user(&api, "reader").await;

    let fiction = admin.post("/categories", json!({"name": "Fiction"})).await;
    let fantasy = admin
        .post(
            "/categories",
            json!({"name": "Fantasy", "parent_id": fiction["id"]}),
        )
        .await;
    let edition = |format: &str, access: &str, price: Option<(i64, &str)>| {
        let mut body = json!({"format": format, "access": access, "isbn": null});
        if let Some((minor, currency)) = price {
            body["price_minor"] = json!(minor);
            body["currency"] = json!(currency);
        }
        body
    };
    let mut files = vec![];
    for (title, access, price) in [
        ("Open Book", "public", None),
        ("Euro Book", "buyers", Some((1299, "EUR"))),
        ("Yen Book", "buyers", Some((1299, "JPY"))),
        ("Owned Book", "buyers", Some((500, "EUR"))),
        ("Members Book", "members", None),
    ] {
        let book = new_book(&admin, title).await;
        admin
            .patch(&format!("/books/{book}"), json!({"category_ids": [fantasy["id"]], "description": format!("About {title} & more")}))
            .await;
        let ebook = new_edition(&admin, book, edition("ebook", access, price)).await;
        let epub_name = format!("{}.epub", title.replace(' ', "-"));
        upload(&admin, ebook, &epub_name, epub(title, "", 10)).await;
        files.push((title, ebook));
    }
    // An audiobook in a series, its edition under a title of its own.
    let audio_book = new_book(&admin, "Heard Book").await;
    admin
        .patch(
            &format!("/books/{audio_book}"),
            json!({"series": "Sounds", "series_number": 2}),
        )
        .await;
    let mut heard = edition("audiobook", "public", None);
    heard["title"] = json!("Heard Book, Read Aloud");
    let audio = new_edition(&admin, audio_book, heard).await;
    upload(&admin, audio, "book.m4b", fixture("book.m4b")).await;
    let print_book = new_book(&admin, "Paper Book").await;
    new_edition(
        &admin,
        print_book,
        edition("print", "buyers", Some((2500, "EUR"))),
    )
    .await;
    // Enough books for a second page (20 a page), print editions for sale; and one book with
    // nothing to read or buy, which an app's catalog does not list.
    for n in 0..16 {
        let filler = new_book(&admin, &format!("Filler {n:02}")).await;
        new_edition(
            &admin,
            filler,
            edition("print", "buyers", Some((100 + n, "EUR"))),
        )
        .await;
    }
    new_book(&admin, "Nothing To Get").await;
    // The reader owns one book and is reading another.
    let owned = files.iter().find(|(t, _)| *t == "Owned Book").unwrap().1;
    let purchase = bought(&reader, "own-1", owned).await;
    settle(&api, &purchase, "paid", "evt_own_1").await;
    let open_book = admin.get("/books?q=Open").await["items"][0]["id"]
        .as_i64()
        .unwrap();
    reader
        .put(
            &format!("/me/progress/{open_book}"),
            json!({"percent": 0.42}),
        )
        .await;

    let author = admin.get("/authors?limit=1").await["items"][0]["id"]
        .as_i64()
        .unwrap();
    let as_reader = Some(("reader", PASSWORD));
    for root in ["/opds/v1.2", "/opds/v2"] {
        let search = if root == "/opds/v1.2" {
            "search?q=book"
        } else {
            "search?query=book"
        };
        for path in [
            "catalog".to_string(),
            "new".into(),
            "popular".into(),
            "authors".into(),
            format!("authors/{author}"),
            "categories".into(),
            "categories/fiction".into(),
            "categories/fantasy".into(),
            search.into(),
            "search?q=nothing-matches-this".into(),
            "library".into(),
            "reading".into(),
        ] {
            if path.starts_with("search?q=") && root == "/opds/v2" {
                continue;
            }
            feed(&api, &format!("{root}/{path}"), as_reader).await;
        }
    }
    // The series and the audiobook edition's own title, in both versions (validated above).
    let atom = feed(&api, "/opds/v1.2/new", as_reader).await;
    assert!(atom.contains("<dc:isPartOf>Sounds</dc:isPartOf>"), "{atom}");
    assert!(
        atom.contains("<title>Heard Book, Read Aloud (audiobook)</title>"),
        "{atom}"
    );
    let json: Value = serde_json::from_str(&feed(&api, "/opds/v2/new", as_reader).await).unwrap();
    let heard = json["publications"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["metadata"]["title"] == "Heard Book, Read Aloud")
        .expect("the audiobook under its edition's title");
    assert_eq!(
        heard["metadata"]["belongsTo"]["series"],
        json!([{"name": "Sounds", "position": 2.0}])
    );

    let auth = get(&api, "/opds/v2/auth", None).await;
    assert_eq!(
        auth.headers()["content-type"],
        "application/opds-authentication+json"
    );
    validate(
        &auth.bytes().await.unwrap(),
        "json",
        Some("authentication"),
        "the auth document",
    );

    // OPDS 1.2: acquisition by access, exact prices in each currency's digits.
    let anonymous = feed(&api, "/opds/v1.2/categories/fantasy", None).await;
    let open = atom_entry(&anonymous, "Open Book");
    assert!(
        open.contains("rel=\"http://opds-spec.org/acquisition/open-access\""),
        "{open}"
    );
    assert!(open.contains("type=\"application/epub+zip\""), "{open}");
    let euro = atom_entry(&anonymous, "Euro Book");
    assert!(
        euro.contains("rel=\"http://opds-spec.org/acquisition/buy\""),
        "{euro}"
    );
    assert!(
        euro.contains("<opds:price currencycode=\"EUR\">12.99</opds:price>"),
        "{euro}"
    );
    assert!(
        euro.contains("<opds:indirectAcquisition type=\"application/epub+zip\"/>"),
        "{euro}"
    );
    let yen = atom_entry(&anonymous, "Yen Book");
    assert!(
        yen.contains("<opds:price currencycode=\"JPY\">1299</opds:price>"),
        "{yen}"
    );
    let members = atom_entry(&anonymous, "Members Book");
    assert!(
        members.contains("rel=\"http://opds-spec.org/acquisition\""),
        "{members}"
    );
    assert!(
        atom_entry(&anonymous, "Owned Book")
            .contains("<opds:price currencycode=\"EUR\">5.00</opds:price>")
    );
    assert!(
        open.contains("<summary type=\"text\">About Open Book &amp; more</summary>"),
        "{open}"
    );

    let signed_in = feed(&api, "/opds/v1.2/categories/fantasy", as_reader).await;
    let mine = atom_entry(&signed_in, "Owned Book");
    assert!(
        mine.contains("rel=\"http://opds-spec.org/acquisition\""),
        "{mine}"
    );
    assert!(
        !mine.contains("acquisition/buy"),
        "an owned book is not offered for sale: {mine}"
    );
    // The link downloads with the app's credentials; without them it is a Basic challenge.
    let link = atom_link(mine, "http://opds-spec.org/acquisition").unwrap();
    assert!(link.starts_with("/opds/files/"), "{link}");
    let downloaded = get(&api, &link, as_reader).await;
    assert_eq!(downloaded.status(), 200);
    assert_eq!(downloaded.headers()["content-type"], "application/epub+zip");
    assert_eq!(
        &downloaded.bytes().await.unwrap()[30..58],
        b"mimetypeapplication/epub+zip"
    );
    let challenged = get(&api, &link, None).await;
    assert_eq!(challenged.status(), 401);
    assert!(challenged.headers().contains_key("www-authenticate"));
    let members = atom_entry(&signed_in, "Members Book");
    let theirs = atom_link(members, "http://opds-spec.org/acquisition").unwrap();
    assert_eq!(
        get(&api, &theirs, as_reader).await.status(),
        200,
        "members may read it"
    );
    // A refund takes it back to "buy".
    settle(&api, &purchase, "refunded", "evt_own_2").await;
    let refunded = feed(&api, "/opds/v1.2/categories/fantasy", as_reader).await;
    assert!(atom_entry(&refunded, "Owned Book").contains("acquisition/buy"));
    let library = feed(&api, "/opds/v1.2/library", as_reader).await;
    assert!(!library.contains("Owned Book"), "{library}");

    let reading = feed(&api, "/opds/v1.2/reading", as_reader).await;
    assert!(
        atom_entry(&reading, "Open Book").contains("42 % read"),
        "{reading}"
    );

    // OPDS 2.0: the audiobook is an Audiobook acquired as its manifest; prices are numbers.
    let v2: Value = serde_json::from_str(&feed(&api, "/opds/v2/new", None).await).unwrap();
    let heard = publication(&v2, "Heard Book, Read Aloud");
    assert_eq!(heard["metadata"]["@type"], "http://schema.org/Audiobook");
    let manifest = &heard["links"][0];
    assert_eq!(
        manifest["rel"],
        "http://opds-spec.org/acquisition/open-access"
    );
    assert_eq!(manifest["href"], format!("/opds/editions/{audio}/manifest"));
    assert_eq!(manifest["type"], "application/audiobook+json");
    // The manifest validates, and its tracks are fetched as the feeds' files are.
    let fetched = get(&api, manifest["href"].as_str().unwrap(), None).await;
    let fetched: Value = expect(fetched, 200).await;
    validate(
        &serde_json::to_vec(&fetched).unwrap(),
        "json",
        Some("manifest"),
        "the manifest",
    );
    let track = fetched["readingOrder"][0]["href"].as_str().unwrap();
    assert!(track.starts_with("/opds/files/"), "{track}");
    assert_eq!(get(&api, track, None).await.status(), 200);
    let fantasy: Value =
        serde_json::from_str(&feed(&api, "/opds/v2/categories/fantasy", None).await).unwrap();
    let euro = publication(&fantasy, "Euro Book");
    assert_eq!(rels(euro), ["http://opds-spec.org/acquisition/buy"]);
    assert_eq!(
        euro["links"][0]["properties"]["price"],
        json!({"currency": "EUR", "value": 12.99})
    );
    let yen = publication(&fantasy, "Yen Book");
    assert_eq!(
        yen["links"][0]["properties"]["price"],
        json!({"currency": "JPY", "value": 1299})
    );
    let paper = publication(&v2, "Paper Book");
    assert_eq!(
        rels(paper),
        ["http://opds-spec.org/acquisition/buy"],
        "a print book is sold, not downloaded"
    );
    assert!(!v2.to_string().contains("Nothing To Get"));

    // Pages: 23 books over two pages of `new`, none twice, with next / previous / first.
    let first_page = feed(&api, "/opds/v1.2/new", None).await;
    let next = atom_link(&first_page, "next").expect("a next link");
    assert!(atom_link(&first_page, "previous").is_none());
    let second_page = feed(&api, &next, None).await;
    assert!(atom_link(&second_page, "next").is_none());
    let back = atom_link(&second_page, "previous").expect("a previous link");
    assert_eq!(
        back, "/opds/v1.2/new",
        "the page before the second is the first"
    );
    assert_eq!(
        atom_link(&second_page, "first").as_deref(),
        Some("/opds/v1.2/new")
    );
    let titles = |body: &str| -> Vec<String> {
        body.split("<entry>")
            .skip(1)
            .map(|e| {
                e.split("<title>")
                    .nth(1)
                    .unwrap()
                    .split("</title>")
                    .next()
                    .unwrap()
                    .to_string()
            })
            .collect()
    };
    assert_eq!(
        titles(&first_page).len(),
        20,
        "a full page: what cannot be had is not read"
    );
    let mut all = titles(&first_page);
    all.extend(titles(&second_page));
    let count = all.len();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), count, "no entry twice across pages");
    assert_eq!(
        count, 23,
        "5 ebooks, the audiobook, the print book and 16 more: {all:?}"
    );
    let v2_first: Value = serde_json::from_str(&feed(&api, "/opds/v2/new", None).await).unwrap();
    let v2_next = v2_first["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == "next")
        .unwrap();
    feed(&api, v2_next["href"].as_str().unwrap(), None).await;

    // A sort facet is offered and marks the active one.
    assert!(first_page.contains("opds:facetGroup=\"Sort\""));
    assert!(first_page.contains("opds:activeFacet=\"true\""));
}

async fn apps_sign_in_with_basic_or_an_api_key_and_are_challenged_when_they_must(backend: Backend) {
    let api = Api::start(&backend).await;
    let reader = user(&api, "reader").await;
    let key = reader
        .post("/me/api-keys", json!({"name": "e-reader"}))
        .await;
    let key = key["key"].as_str().unwrap().to_string();

    // Signed-in feeds refuse nobody silently: a challenge apps answer with a sign-in form.
    let refused = get(&api, "/opds/v1.2/library", None).await;
    assert_eq!(refused.status(), 401);
    assert_eq!(
        refused.headers()["www-authenticate"],
        "Basic realm=\"folio\", charset=\"UTF-8\""
    );
    let refused = get(&api, "/opds/v2/reading", None).await;
    assert_eq!(refused.status(), 401);
    assert!(
        refused.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic realm=\"folio\"")
    );
    let link = refused.headers()["link"].to_str().unwrap().to_string();
    assert!(
        link.contains("</opds/v2/auth>") && link.contains("http://opds-spec.org/auth/document"),
        "{link}"
    );
    let body = refused.bytes().await.unwrap();
    validate(&body, "json", Some("authentication"), "the 401 body");

    // The password, the API key as the password, X-Api-Key.
    for secret in [PASSWORD, key.as_str()] {
        let ok = get(&api, "/opds/v1.2/library", Some(("reader", secret))).await;
        assert_eq!(ok.status(), 200);
    }
    let with_header = api
        .server
        .client
        .get(api.server.url("/opds/v2/library"))
        .header("X-Api-Key", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(with_header.status(), 200);

    // Wrong credentials are a 401 even on public feeds; a key names its own account only.
    let wrong = get(
        &api,
        "/opds/v1.2/catalog",
        Some(("reader", "not the password")),
    )
    .await;
    assert_eq!(wrong.status(), 401);
    assert!(wrong.headers().contains_key("www-authenticate"));
    let other = user(&api, "other").await;
    let misnamed = get(&api, "/opds/v1.2/library", Some(("other", &key))).await;
    assert_eq!(misnamed.status(), 401);

    // A revoked key and a disabled account are refused at once, even just after a success.
    let keys = reader.get("/me/api-keys").await;
    let key_id = keys["items"][0]["id"].as_i64().unwrap();
    reader.delete(&format!("/me/api-keys/{key_id}")).await;
    let revoked = get(&api, "/opds/v1.2/library", Some(("reader", &key))).await;
    assert_eq!(revoked.status(), 401);
    let ok = get(&api, "/opds/v1.2/library", Some(("other", PASSWORD))).await;
    assert_eq!(ok.status(), 200);
    api.set_user(other.id, None, Some(true)).await;
    let disabled = get(&api, "/opds/v1.2/library", Some(("other", PASSWORD))).await;
    assert_eq!(disabled.status(), 401);

    // A password that merely looks like an API key is still a password.
    let body = json!({"username": "keylike", "email": "keylike@example.org", "password": "fol_not a key but a passphrase"});
    expect(api.post("/auth/register", None, body).await, 201).await;
    let keylike = get(
        &api,
        "/opds/v1.2/library",
        Some(("keylike", "fol_not a key but a passphrase")),
    )
    .await;
    assert_eq!(keylike.status(), 200);

    // The OpenSearch description names the search feed, absolute for apps that need it.
    let described = get(&api, "/opds/v1.2/opensearch.xml", None).await;
    assert_eq!(
        described.headers()["content-type"],
        "application/opensearchdescription+xml"
    );
    let described = described.text().await.unwrap();
    let template = format!(
        "template=\"{}/opds/v1.2/search?q={{searchTerms}}\"",
        api.server.url("")
    );
    assert!(described.contains(&template), "{described}");

    // Failed Basic sign-ins count against the sign-in limit.
    let mut statuses = vec![];
    for _ in 0..12 {
        let tried = get(&api, "/opds/v1.2/library", Some(("reader", "guess"))).await;
        statuses.push(tried.status().as_u16());
    }
    assert!(
        statuses.contains(&429),
        "guessing is throttled: {statuses:?}"
    );
}
