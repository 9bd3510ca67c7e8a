//! Everything one user has: their account, comments, progress, notes and purchases.

use std::io::Write;

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Serialize;

use super::{BATCH, ExportError};
use crate::db::{Database, DbError};
use crate::entity::{comment, note, progress, purchase};

#[derive(Serialize)]
struct Account<'a> {
    id: i64,
    username: &'a str,
    email: &'a str,
    role: crate::entity::enums::UserRole,
    created_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Serialize)]
struct Comment<'a> {
    id: i64,
    book_id: i64,
    text: &'a str,
    rating: Option<i32>,
    created_at: chrono::DateTime<chrono::Utc>,
    updated_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Serialize)]
struct Progress<'a> {
    book_id: i64,
    edition_id: Option<i64>,
    percent: f64,
    locator: Option<&'a str>,
    status: crate::entity::enums::ReadingStatus,
    device: Option<&'a str>,
    updated_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Serialize)]
struct Note<'a> {
    id: i64,
    book_id: i64,
    edition_id: Option<i64>,
    locator: &'a str,
    text: Option<&'a str>,
    created_at: chrono::DateTime<chrono::Utc>,
    updated_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Serialize)]
struct Purchase<'a> {
    id: i64,
    edition_id: i64,
    status: crate::entity::enums::PurchaseStatus,
    amount_minor: i64,
    currency: &'a str,
    created_at: chrono::DateTime<chrono::Utc>,
    updated_at: chrono::DateTime<chrono::Utc>,
}

/// Writes `{"user": …, "comments": [...], "progress": [...], "notes": [...], "purchases": [...]}`.
pub async fn user(db: &Database, username: &str, out: &mut impl Write) -> Result<(), ExportError> {
    let user = crate::repo::user::find_by_login(db.reader(), username)
        .await?
        .filter(|u| crate::repo::user::fold(&u.username) == crate::repo::user::fold(username))
        .ok_or_else(|| ExportError::NoSuchUser(username.to_string()))?;
    let account = Account {
        id: user.id,
        username: &user.username,
        email: &user.email,
        role: user.role,
        created_at: user.created_at,
    };
    out.write_all(b"{\"user\": ")?;
    serde_json::to_writer(&mut *out, &account).map_err(std::io::Error::from)?;
    let id = user.id;
    section::<comment::Entity>(
        db,
        out,
        "comments",
        comment::Column::UserId,
        comment::Column::Id,
        id,
        |c| c.id,
        |c| {
            serde_json::to_string(&Comment {
                id: c.id,
                book_id: c.book_id,
                text: &c.text,
                rating: c.rating,
                created_at: c.created_at,
                updated_at: c.updated_at,
            })
        },
    )
    .await?;
    section::<progress::Entity>(
        db,
        out,
        "progress",
        progress::Column::UserId,
        progress::Column::Id,
        id,
        |p| p.id,
        |p| {
            serde_json::to_string(&Progress {
                book_id: p.book_id,
                edition_id: p.edition_id,
                percent: p.percent,
                locator: p.locator.as_deref(),
                status: p.status,
                device: p.device.as_deref(),
                updated_at: p.updated_at,
            })
        },
    )
    .await?;
    section::<note::Entity>(
        db,
        out,
        "notes",
        note::Column::UserId,
        note::Column::Id,
        id,
        |n| n.id,
        |n| {
            serde_json::to_string(&Note {
                id: n.id,
                book_id: n.book_id,
                edition_id: n.edition_id,
                locator: &n.locator,
                text: n.text.as_deref(),
                created_at: n.created_at,
                updated_at: n.updated_at,
            })
        },
    )
    .await?;
    section::<purchase::Entity>(
        db,
        out,
        "purchases",
        purchase::Column::UserId,
        purchase::Column::Id,
        id,
        |p| p.id,
        |p| {
            serde_json::to_string(&Purchase {
                id: p.id,
                edition_id: p.edition_id,
                status: p.status,
                amount_minor: p.amount_minor,
                currency: &p.currency,
                created_at: p.created_at,
                updated_at: p.updated_at,
            })
        },
    )
    .await?;
    out.write_all(b"}\n")?;
    out.flush()?;
    Ok(())
}

/// Writes `, "name": [ … ]`: the user's rows of `E`, read a batch at a time by id and written
/// as `view` shows them.
#[allow(clippy::too_many_arguments)]
async fn section<E>(
    db: &Database,
    out: &mut impl Write,
    name: &str,
    user_column: E::Column,
    id_column: E::Column,
    user_id: i64,
    id_of: impl Fn(&E::Model) -> i64,
    view: impl Fn(&E::Model) -> serde_json::Result<String>,
) -> Result<(), ExportError>
where
    E: EntityTrait,
{
    write!(out, ",\n\"{name}\": [")?;
    let mut after = 0;
    let mut first = true;
    loop {
        let rows = E::find()
            .filter(user_column.eq(user_id))
            .filter(id_column.gt(after))
            .order_by_asc(id_column)
            .limit(BATCH)
            .all(db.reader())
            .await
            .map_err(DbError::from)?;
        let Some(last) = rows.last() else { break };
        after = id_of(last);
        for row in &rows {
            out.write_all(if first { b"\n  " } else { b",\n  " })?;
            out.write_all(view(row).map_err(std::io::Error::from)?.as_bytes())?;
            first = false;
        }
    }
    out.write_all(if first { b"]" } else { b"\n]" })?;
    Ok(())
}
