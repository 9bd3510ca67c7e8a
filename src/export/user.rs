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

    section(out, "comments", |after| async move {
        let rows = comment::Entity::find()
            .filter(comment::Column::UserId.eq(id))
            .filter(comment::Column::Id.gt(after))
            .order_by_asc(comment::Column::Id)
            .limit(BATCH)
            .all(db.reader())
            .await
            .map_err(DbError::from)?;
        let last = rows.last().map(|r| r.id);
        let json = rows
            .iter()
            .map(|c| {
                serde_json::to_string(&Comment {
                    id: c.id,
                    book_id: c.book_id,
                    text: &c.text,
                    rating: c.rating,
                    created_at: c.created_at,
                    updated_at: c.updated_at,
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(std::io::Error::from)?;
        Ok((json, last))
    })
    .await?;
    section(out, "progress", |after| async move {
        let rows = progress::Entity::find()
            .filter(progress::Column::UserId.eq(id))
            .filter(progress::Column::Id.gt(after))
            .order_by_asc(progress::Column::Id)
            .limit(BATCH)
            .all(db.reader())
            .await
            .map_err(DbError::from)?;
        let last = rows.last().map(|r| r.id);
        let json = rows
            .iter()
            .map(|p| {
                serde_json::to_string(&Progress {
                    book_id: p.book_id,
                    edition_id: p.edition_id,
                    percent: p.percent,
                    locator: p.locator.as_deref(),
                    status: p.status,
                    device: p.device.as_deref(),
                    updated_at: p.updated_at,
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(std::io::Error::from)?;
        Ok((json, last))
    })
    .await?;
    section(out, "notes", |after| async move {
        let rows = note::Entity::find()
            .filter(note::Column::UserId.eq(id))
            .filter(note::Column::Id.gt(after))
            .order_by_asc(note::Column::Id)
            .limit(BATCH)
            .all(db.reader())
            .await
            .map_err(DbError::from)?;
        let last = rows.last().map(|r| r.id);
        let json = rows
            .iter()
            .map(|n| {
                serde_json::to_string(&Note {
                    id: n.id,
                    book_id: n.book_id,
                    edition_id: n.edition_id,
                    locator: &n.locator,
                    text: n.text.as_deref(),
                    created_at: n.created_at,
                    updated_at: n.updated_at,
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(std::io::Error::from)?;
        Ok((json, last))
    })
    .await?;
    section(out, "purchases", |after| async move {
        let rows = purchase::Entity::find()
            .filter(purchase::Column::UserId.eq(id))
            .filter(purchase::Column::Id.gt(after))
            .order_by_asc(purchase::Column::Id)
            .limit(BATCH)
            .all(db.reader())
            .await
            .map_err(DbError::from)?;
        let last = rows.last().map(|r| r.id);
        let json = rows
            .iter()
            .map(|p| {
                serde_json::to_string(&Purchase {
                    id: p.id,
                    edition_id: p.edition_id,
                    status: p.status,
                    amount_minor: p.amount_minor,
                    currency: &p.currency,
                    created_at: p.created_at,
                    updated_at: p.updated_at,
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(std::io::Error::from)?;
        Ok((json, last))
    })
    .await?;
    out.write_all(b"}\n")?;
    out.flush()?;
    Ok(())
}

/// Writes `, "name": [ … ]`, asking `batch(after_id)` for rows until it returns none.
async fn section<F, Fut>(out: &mut impl Write, name: &str, mut batch: F) -> Result<(), ExportError>
where
    F: FnMut(i64) -> Fut,
    Fut: std::future::Future<Output = Result<(Vec<String>, Option<i64>), ExportError>>,
{
    write!(out, ",\n\"{name}\": [")?;
    let mut after = 0;
    let mut first = true;
    loop {
        let (rows, last) = batch(after).await?;
        for row in rows {
            out.write_all(if first { b"\n  " } else { b",\n  " })?;
            out.write_all(row.as_bytes())?;
            first = false;
        }
        match last {
            Some(last) => after = last,
            None => break,
        }
    }
    out.write_all(if first { b"]" } else { b"\n]" })?;
    Ok(())
}
