//! Accounts: registration (with referral attribution), a user's own profile, and the admin's
//! view of everyone.

use crate::db::Database;
use crate::entity::enums::UserRole;
use crate::entity::user;
use crate::repo::{self, Slice};
use crate::service::auth::{Principal, password};
use crate::service::validate::{self, Checks};
use crate::service::{ServiceError, ServiceResult};

pub struct Registration {
    pub username: String,
    pub email: String,
    pub password: String,
    pub referral_code: Option<String>,
}

/// Registers a reader. `caller` is whoever is signed in while registering, if anyone: a link's
/// owner cannot sign someone up through their own link.
pub async fn register(
    db: &Database,
    form: Registration,
    caller: Option<&Principal>,
) -> ServiceResult<user::Model> {
    register_with_role(db, form, UserRole::Reader, caller).await
}

pub async fn register_with_role(
    db: &Database,
    form: Registration,
    role: UserRole,
    caller: Option<&Principal>,
) -> ServiceResult<user::Model> {
    let mut checks = Checks::default();
    checks
        .check("username", validate::username(&form.username))
        .check("email", validate::email(&form.email))
        .check("password", validate::password(&form.password));
    if let Some(code) = &form.referral_code {
        checks.check("referral_code", validate::text(code, 1, 64));
    }
    checks.finish()?;

    let referred_by_link_id = match &form.referral_code {
        None => None,
        Some(code) => {
            let link = repo::referral::find_by_code(db.reader(), code)
                .await?
                .ok_or_else(|| {
                    ServiceError::invalid("referral_code", "no referral link has this code")
                })?;
            if caller.is_some_and(|c| c.user_id == link.owner_id) {
                return Err(ServiceError::invalid(
                    "referral_code",
                    "you cannot refer yourself",
                ));
            }
            Some(link.id)
        }
    };
    let password_hash = password::hash(form.password).await?;
    let new = repo::user::NewUser {
        username: form.username,
        email: form.email,
        password_hash,
        role,
        referred_by_link_id,
    };
    let user = db
        .write(|tx| Box::pin(async move { repo::user::insert(&**tx, new).await }))
        .await?;
    Ok(user)
}

pub async fn get(db: &Database, id: i64) -> ServiceResult<user::Model> {
    repo::user::find(db.reader(), id)
        .await?
        .ok_or_else(|| ServiceError::NotFound("user".into()))
}

pub async fn update_email(
    db: &Database,
    who: &Principal,
    email: String,
) -> ServiceResult<user::Model> {
    Checks::default()
        .check("email", validate::email(&email))
        .finish()?;
    let user_id = who.user_id;
    db.write(|tx| {
        Box::pin(async move {
            let user = repo::user::find(&**tx, user_id)
                .await?
                .ok_or_else(|| ServiceError::NotFound("user".into()))?;
            let changes = repo::user::UserChanges {
                email: Some(email),
                ..Default::default()
            };
            Ok::<_, ServiceError>(repo::user::update(&**tx, user, changes).await?)
        })
    })
    .await
}

pub async fn page(
    db: &Database,
    after_id: Option<i64>,
    limit: u64,
) -> ServiceResult<Slice<user::Model>> {
    Ok(repo::user::page(db.reader(), after_id, limit).await?)
}

/// An admin changes a user's role or disables them. Admins cannot demote or disable
/// themselves, so a server always keeps the admin who is using it.
pub async fn update_by_admin(
    db: &Database,
    admin: &Principal,
    id: i64,
    role: Option<UserRole>,
    disabled: Option<bool>,
) -> ServiceResult<user::Model> {
    if !admin.is_admin() {
        return Err(ServiceError::Forbidden(
            "Only an admin may change users.".into(),
        ));
    }
    if id == admin.user_id && (role == Some(UserRole::Reader) || disabled == Some(true)) {
        return Err(ServiceError::Conflict {
            field: "id".into(),
            detail: "Admins cannot demote or disable themselves.".into(),
        });
    }
    db.write(|tx| {
        Box::pin(async move {
            let user = repo::user::find(&**tx, id)
                .await?
                .ok_or_else(|| ServiceError::NotFound("user".into()))?;
            let changes = repo::user::UserChanges {
                role,
                disabled,
                ..Default::default()
            };
            Ok::<_, ServiceError>(repo::user::update(&**tx, user, changes).await?)
        })
    })
    .await
}
