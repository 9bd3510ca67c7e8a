//! The schema's rules, seen through the database layer's errors: unique values are a Conflict
//! naming the field, deletes cascade or are refused as the domain says, checks hold.

use folio::db::{Database, DbError};
use sea_orm::{EntityTrait, ModelTrait};

use crate::backend_tests;
use crate::support::fixtures as fx;
use crate::support::{Backend, TestDb};
use folio::entity::{author, book, edition, user};

backend_tests!(
    duplicate_author_name_is_a_conflict_naming_name,
    duplicate_username_in_another_case_is_a_conflict_naming_username,
    deleting_a_user_deletes_their_comments_progress_notes_tokens_and_keys,
    deleting_a_book_deletes_its_editions_comments_progress_and_notes,
    an_author_still_credited_cannot_be_deleted,
    a_purchased_edition_cannot_be_deleted,
    a_reference_to_a_missing_row_is_not_found,
    checks_refuse_out_of_range_values,
);

/// Runs `work` in its own unit of work and returns its error.
macro_rules! write_err {
    ($db:expr, |$tx:ident| $body:expr) => {
        $db.write(|$tx| Box::pin(async move { $body.await }))
            .await
            .unwrap_err()
    };
}

async fn committed<T>(db: &Database, work: impl AsyncFnOnce(&folio::db::UnitOfWork) -> T) -> T {
    let tx = db.begin().await.unwrap();
    let value = work(&tx).await;
    tx.commit().await.unwrap();
    value
}

async fn duplicate_author_name_is_a_conflict_naming_name(backend: Backend) {
    let t = TestDb::migrated(&backend).await;
    committed(&t.db, async |tx| {
        fx::author(&**tx, "Ursula K. Le Guin").await.unwrap()
    })
    .await;

    let err = write_err!(t.db, |tx| fx::author(&**tx, "Ursula K. Le Guin"));
    match err {
        DbError::Conflict { field, .. } => assert_eq!(field, "name"),
        other => panic!("expected a conflict on name, got {other:?}"),
    }
    assert_eq!(t.count("author").await, 1);
}

async fn duplicate_username_in_another_case_is_a_conflict_naming_username(backend: Backend) {
    let t = TestDb::migrated(&backend).await;
    committed(&t.db, async |tx| fx::user(&**tx, "Reader").await.unwrap()).await;

    let err = write_err!(t.db, |tx| fx::user(&**tx, "rEADER"));
    assert!(
        matches!(&err, DbError::Conflict { field, .. } if field == "username"),
        "got {err:?}"
    );
}

async fn deleting_a_user_deletes_their_comments_progress_notes_tokens_and_keys(backend: Backend) {
    let t = TestDb::migrated(&backend).await;
    let (gone, kept) = committed(&t.db, async |tx| {
        let book = fx::book(&**tx, "Piranesi").await.unwrap();
        let mut users = vec![];
        for name in ["leaving", "staying"] {
            let user = fx::user(&**tx, name).await.unwrap();
            fx::comment(&**tx, user.id, book.id, Some(5)).await.unwrap();
            fx::progress(&**tx, user.id, book.id, 0.4).await.unwrap();
            fx::note(&**tx, user.id, book.id).await.unwrap();
            fx::credentials(&**tx, user.id).await.unwrap();
            users.push(user);
        }
        (users.remove(0), users.remove(0))
    })
    .await;

    let deleted = committed(&t.db, async |tx| gone.delete(&**tx).await.unwrap()).await;
    assert_eq!(deleted.rows_affected, 1);

    for table in [
        "comment",
        "progress",
        "note",
        "auth_session",
        "refresh_token",
        "api_key",
    ] {
        assert_eq!(
            t.count(table).await,
            1,
            "{table} keeps only the other user's row"
        );
    }
    assert!(
        user::Entity::find_by_id(kept.id)
            .one(t.db.reader())
            .await
            .unwrap()
            .is_some()
    );
}

async fn deleting_a_book_deletes_its_editions_comments_progress_and_notes(backend: Backend) {
    let t = TestDb::migrated(&backend).await;
    let doomed = committed(&t.db, async |tx| {
        let reader = fx::user(&**tx, "reader").await.unwrap();
        let writer = fx::author(&**tx, "Susanna Clarke").await.unwrap();
        let mut books = vec![];
        for title in ["Piranesi", "Jonathan Strange"] {
            let book = fx::book(&**tx, title).await.unwrap();
            fx::credit(&**tx, book.id, &[writer.id]).await.unwrap();
            fx::edition(&**tx, book.id, Some(1299)).await.unwrap();
            fx::comment(&**tx, reader.id, book.id, None).await.unwrap();
            fx::progress(&**tx, reader.id, book.id, 0.1).await.unwrap();
            fx::note(&**tx, reader.id, book.id).await.unwrap();
            books.push(book);
        }
        books.remove(0)
    })
    .await;

    committed(&t.db, async |tx| doomed.delete(&**tx).await.unwrap()).await;

    for table in [
        "book",
        "book_author",
        "edition",
        "comment",
        "progress",
        "note",
    ] {
        assert_eq!(
            t.count(table).await,
            1,
            "{table} keeps only the other book's row"
        );
    }
    assert_eq!(t.count("author").await, 1, "authors outlive their books");
    assert_eq!(t.count("user").await, 1);
}

async fn an_author_still_credited_cannot_be_deleted(backend: Backend) {
    let t = TestDb::migrated(&backend).await;
    let author = committed(&t.db, async |tx| {
        let author = fx::author(&**tx, "Terry Pratchett").await.unwrap();
        let book = fx::book(&**tx, "Small Gods").await.unwrap();
        fx::credit(&**tx, book.id, &[author.id]).await.unwrap();
        author
    })
    .await;

    let tx = t.db.begin().await.unwrap();
    let err = author::Entity::delete_by_id(author.id)
        .exec(&*tx)
        .await
        .map_err(DbError::on_delete)
        .unwrap_err();
    drop(tx);
    assert!(matches!(err, DbError::Conflict { .. }), "got {err:?}");
    assert_eq!(t.count("author").await, 1);
    assert_eq!(t.count("book_author").await, 1);
}

async fn a_purchased_edition_cannot_be_deleted(backend: Backend) {
    let t = TestDb::migrated(&backend).await;
    let (book, edition) = committed(&t.db, async |tx| {
        let buyer = fx::user(&**tx, "buyer").await.unwrap();
        let book = fx::book(&**tx, "Dune").await.unwrap();
        let edition = fx::edition(&**tx, book.id, Some(999)).await.unwrap();
        fx::purchase(&**tx, buyer.id, edition.id).await.unwrap();
        (book, edition)
    })
    .await;

    for attempt in ["edition", "book"] {
        let tx = t.db.begin().await.unwrap();
        let result = match attempt {
            "edition" => edition::Entity::delete_by_id(edition.id).exec(&*tx).await,
            _ => book::Entity::delete_by_id(book.id).exec(&*tx).await,
        };
        let err = result.map_err(DbError::on_delete).unwrap_err();
        assert!(
            matches!(err, DbError::Conflict { .. }),
            "{attempt}: got {err:?}"
        );
    }
    assert_eq!(t.count("edition").await, 1);
    assert_eq!(t.count("purchase").await, 1);
}

async fn a_reference_to_a_missing_row_is_not_found(backend: Backend) {
    let t = TestDb::migrated(&backend).await;
    let err = write_err!(t.db, |tx| fx::edition(&**tx, 4242, None));
    assert!(matches!(err, DbError::NotFound(_)), "got {err:?}");
    assert_eq!(t.count("edition").await, 0);
}

async fn checks_refuse_out_of_range_values(backend: Backend) {
    let t = TestDb::migrated(&backend).await;
    let (reader, book) = committed(&t.db, async |tx| {
        (
            fx::user(&**tx, "reader").await.unwrap().id,
            fx::book(&**tx, "Emma").await.unwrap().id,
        )
    })
    .await;

    let cases: Vec<(&str, DbError)> = vec![
        (
            "rating",
            write_err!(t.db, |tx| fx::comment(&**tx, reader, book, Some(6))),
        ),
        (
            "rating",
            write_err!(t.db, |tx| fx::comment(&**tx, reader, book, Some(0))),
        ),
        (
            "price_minor",
            write_err!(t.db, |tx| fx::edition(&**tx, book, Some(-1))),
        ),
        (
            "percent",
            write_err!(t.db, |tx| fx::progress(&**tx, reader, book, 1.5)),
        ),
        (
            "percent",
            write_err!(t.db, |tx| fx::progress(&**tx, reader, book, -0.1)),
        ),
    ];
    for (expected, err) in cases {
        assert!(
            matches!(&err, DbError::Invalid { field } if field == expected),
            "expected an invalid {expected}, got {err:?}"
        );
    }
    for table in ["comment", "edition", "progress"] {
        assert_eq!(t.count(table).await, 0, "nothing was written to {table}");
    }
    // The edges of the ranges are allowed.
    committed(&t.db, async |tx| {
        fx::comment(&**tx, reader, book, Some(1)).await.unwrap();
        fx::comment(&**tx, reader, book, Some(5)).await.unwrap();
        fx::edition(&**tx, book, Some(0)).await.unwrap();
        fx::progress(&**tx, reader, book, 1.0).await.unwrap();
    })
    .await;
}
