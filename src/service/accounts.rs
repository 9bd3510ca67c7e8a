//! Accounts: registration (with referral attribution), a user's own profile, and the admin's
//! view of everyone.

use sea_orm::ConnectionTrait;

use crate::db::Database;
use crate::entity::enums::UserRole;
use crate::entity::user;
use crate::repo::{self, Page};
use crate::service::auth::password::Hasher;
use crate::service::auth::{self, Principal};
use crate::service::validate::{self, Checks};
use crate::service::{ServiceError, ServiceResult, webhooks};

pub struct Registration {
    pub username: String,
    pub email: String,
    pub password: String,
    pub referral_code: Option<String>,
}

/// Registers a reader. `caller` is whoever is signed in while registering, if anyone: a link's
/// owner cannot sign someone up through their own link.
#[tracing::instrument(
    level = "info",
    name = "service.accounts.register",
    skip_all,
    err(level = "debug")
)]
pub async fn register(
    db: &Database,
    hasher: &Hasher,
    form: Registration,
    caller: Option<&Principal>,
) -> ServiceResult<user::Model> {
    register_with_role(db, hasher, form, UserRole::Reader, caller).await
}

#[tracing::instrument(
    level = "info",
    name = "service.accounts.register_with_role",
    skip_all,
    err(level = "debug")
)]
pub async fn register_with_role(
    db: &Database,
    hasher: &Hasher,
    form: Registration,
    role: UserRole,
    caller: Option<&Principal>,
) -> ServiceResult<user::Model> {
    let mut checks = Checks::default();
    checks
        .check("username", validate::username(&form.username))
        .check("email", validate::email(&form.email))
        .check(
            "password",
            validate::password(&form.password, &form.username, &form.email),
        );
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
            let owner = repo::user::find(db.reader(), link.owner_id).await?;
            let owners_mailbox = owner.is_some_and(|o| same_mailbox(&o.email, &form.email));
            if owners_mailbox || caller.is_some_and(|c| c.user_id == link.owner_id) {
                return Err(ServiceError::invalid(
                    "referral_code",
                    "you cannot refer yourself",
                ));
            }
            Some(link.id)
        }
    };
    // KOReader signs in with the MD5 of the password: its verifier is kept beside the
    // password's own hash, from the one moment folio sees the password (service::kosync).
    let kosync_key_hash = hasher
        .hash(crate::service::kosync::key_of(&form.password))
        .await?;
    let password_hash = hasher.hash(form.password).await?;
    let new = repo::user::NewUser {
        username: form.username,
        email: form.email,
        password_hash,
        role,
        referred_by_link_id,
    };
    let user = db
        .write(|tx| {
            Box::pin(async move {
                let user = repo::user::insert(&**tx, new).await?;
                repo::kosync::set_key_hash(&**tx, user.id, kosync_key_hash, crate::db::now())
                    .await?;
                webhooks::emit(&**tx, user_event(&user)).await?;
                Ok::<_, crate::db::DbError>(user)
            })
        })
        .await?;
    Ok(user)
}

/// `user.registered`: who, never their password's hash.
fn user_event(user: &user::Model) -> webhooks::Event {
    webhooks::Event::new(
        "user.registered",
        serde_json::json!({
            "id": user.id, "username": user.username, "email": user.email,
            "role": format!("{:?}", user.role).to_lowercase(),
            "referred_by_link_id": user.referred_by_link_id, "created_at": user.created_at,
        }),
    )
}

/// Whether two addresses reach the same mailbox as far as folio can tell: the same address
/// without regard to case, and without a `+tag` in the local part (`ada+x@example.org` is
/// Ada's), which mail providers deliver to the untagged address.
///
/// What the self-referral check therefore catches: the link's owner registering while signed
/// in, or with their own address again (any case, any `+tag`). What it cannot catch: an owner
/// with a second address, or with a provider's other spellings (Gmail ignores dots in the
/// local part; folio does not guess per provider), on another device or network. A shared
/// email domain says nothing (whole countries share one), and nothing short of a verified
/// payment identity tells two people apart.
fn same_mailbox(a: &str, b: &str) -> bool {
    fn mailbox(address: &str) -> Option<(String, String)> {
        let (local, domain) = address.trim().rsplit_once('@')?;
        let local = local.split('+').next().unwrap_or(local);
        Some((repo::user::fold(local), repo::user::fold(domain)))
    }
    mailbox(a).is_some_and(|m| Some(m) == mailbox(b))
}

#[tracing::instrument(
    level = "info",
    name = "service.accounts.get",
    skip_all,
    fields(id),
    err(level = "debug")
)]
pub async fn get(db: &Database, id: i64) -> ServiceResult<user::Model> {
    repo::user::find(db.reader(), id)
        .await?
        .ok_or_else(|| ServiceError::NotFound("user".into()))
}

/// The user whose username or email is `login`, without regard to case, as at sign-in.
#[tracing::instrument(
    level = "info",
    name = "service.accounts.find_by_login",
    skip_all,
    err(level = "debug")
)]
pub async fn find_by_login(db: &Database, login: &str) -> ServiceResult<user::Model> {
    repo::user::find_by_login(db.reader(), login)
        .await?
        .ok_or_else(|| ServiceError::NotFound("user".into()))
}

/// Changes the email, from a signed-in session and with the current password: the email is
/// where the account is recovered from, so a stolen token or key must not be able to move it.
#[tracing::instrument(
    level = "info",
    name = "service.accounts.update_email",
    skip_all,
    err(level = "debug")
)]
pub async fn update_email(
    db: &Database,
    hasher: &Hasher,
    who: &Principal,
    email: String,
    current_password: &str,
) -> ServiceResult<user::Model> {
    who.require_session("Changing the email")?;
    Checks::default()
        .check("email", validate::email(&email))
        .finish()?;
    let user = get(db, who.user_id).await?;
    auth::check_current_password(hasher, &user, current_password, "current_password").await?;
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

#[tracing::instrument(
    level = "info",
    name = "service.accounts.page",
    skip_all,
    fields(limit),
    err(level = "debug")
)]
pub async fn page(
    db: &Database,
    after_id: Option<i64>,
    limit: u64,
) -> ServiceResult<Page<user::Model>> {
    Ok(repo::user::page(db.reader(), after_id, limit).await?)
}

/// An admin changes a user's role or disables them. Admins cannot demote or disable
/// themselves, so a server always keeps the admin who is using it; and since the acting
/// admin's rights are checked again under a lock inside the unit of work, two admins demoting
/// each other at once cannot both succeed. Disabling ends the account's sign-ins and revokes its
/// API keys, so enabling it again brings none of them back.
#[tracing::instrument(
    level = "info",
    name = "service.accounts.update_by_admin",
    skip_all,
    fields(id),
    err(level = "debug")
)]
pub async fn update_by_admin(
    db: &Database,
    admin: &Principal,
    id: i64,
    role: Option<UserRole>,
    disabled: Option<bool>,
) -> ServiceResult<user::Model> {
    if !admin.is_admin() {
        return Err(not_an_admin());
    }
    let takes_admin_away = role == Some(UserRole::Reader) || disabled == Some(true);
    if id == admin.user_id && takes_admin_away {
        return Err(ServiceError::Conflict {
            field: "id".into(),
            detail: "Admins cannot demote or disable themselves.".into(),
        });
    }
    let admin_id = admin.user_id;
    db.write(|tx| {
        Box::pin(async move {
            let user = lock_admin_and_target(&**tx, admin_id, id).await?;
            let is_active_admin = user.role == UserRole::Admin && !user.disabled;
            if is_active_admin && takes_admin_away {
                ensure_another_active_admin(&**tx, id).await?;
            }
            let changes = repo::user::UserChanges {
                role,
                disabled,
                ..Default::default()
            };
            let updated = repo::user::update(&**tx, user, changes).await?;
            if disabled == Some(true) {
                end_sign_ins_and_keys(&**tx, id).await?;
            }
            Ok::<_, ServiceError>(updated)
        })
    })
    .await
}

fn not_an_admin() -> ServiceError {
    ServiceError::Forbidden("Only an admin may change users.".into())
}

/// Locks the acting admin's row and the target's, lower id first so that two admins acting on
/// each other wait for one another instead of deadlocking, and checks that the acting admin
/// still is one: another admin may have demoted or disabled them a moment ago.
async fn lock_admin_and_target(
    conn: &impl ConnectionTrait,
    admin_id: i64,
    target_id: i64,
) -> ServiceResult<user::Model> {
    let mut ids = [admin_id, target_id];
    ids.sort_unstable();
    let (mut admin, mut target) = (None, None);
    for id in ids {
        let row = repo::user::lock(conn, id).await?;
        if id == admin_id {
            admin = row.clone();
        }
        if id == target_id {
            target = row;
        }
    }
    if admin.is_none_or(|a| a.role != UserRole::Admin || a.disabled) {
        return Err(not_an_admin());
    }
    target.ok_or_else(|| ServiceError::NotFound("user".into()))
}

/// Refuses a change that would leave no active admin: counted in the same unit of work, with
/// the change applied (every admin but the one losing the role).
async fn ensure_another_active_admin(
    conn: &impl ConnectionTrait,
    losing: i64,
) -> ServiceResult<()> {
    if repo::user::count_active_admins_except(conn, losing).await? == 0 {
        return Err(ServiceError::Conflict {
            field: "id".into(),
            detail: "This would leave no active admin.".into(),
        });
    }
    Ok(())
}

/// Ends every sign-in of a disabled account and revokes its API keys. Access tokens name their
/// sign-in, so enabling the account again does not bring them back.
async fn end_sign_ins_and_keys(conn: &impl ConnectionTrait, user_id: i64) -> ServiceResult<()> {
    let sessions = repo::session::revoke_all_but(conn, user_id, None).await?;
    let api_keys = repo::api_key::delete_all(conn, user_id).await?;
    tracing::info!(
        user_id,
        sessions,
        api_keys,
        "account disabled: its sign-ins and API keys are revoked"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_mailbox_ignores_case_and_plus_tags() {
        assert!(same_mailbox("ada@example.org", "ADA@Example.ORG"));
        assert!(same_mailbox("ada@example.org", "ada+referral@example.org"));
        assert!(same_mailbox("ada+a@example.org", "ada+b@example.org"));
        assert!(!same_mailbox("ada@example.org", "ada@example.com"));
        assert!(!same_mailbox("ada@example.org", "bob@example.org"));
        assert!(!same_mailbox("not an address", "not an address"));
    }
}
