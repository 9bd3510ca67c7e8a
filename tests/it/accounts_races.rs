//! Admins acting on each other at the same moment, over real HTTP: whatever the interleaving,
//! the server keeps an active admin.

use folio::entity::enums::UserRole;
use folio::entity::user;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::backend_tests;
use crate::support::Backend;
use crate::support::api::{Api, PASSWORD, id};

backend_tests!(admins_demoting_or_disabling_each_other_at_once_keep_an_active_admin);

const ROUNDS: usize = 20;

async fn active_admins(api: &Api) -> u64 {
    user::Entity::find()
        .filter(user::Column::Role.eq(UserRole::Admin))
        .filter(user::Column::Disabled.eq(false))
        .count(api.t.db.reader())
        .await
        .unwrap()
}

/// A working access token for `name`: the one held if it still works, else a new sign-in
/// (disabling an account ends its sign-ins).
async fn working_token(api: &Api, name: &str, held: Option<String>) -> String {
    match held {
        Some(token) if api.me_status(&token).await == 200 => token,
        _ => api.login(name, PASSWORD).await.access,
    }
}

async fn admins_demoting_or_disabling_each_other_at_once_keep_an_active_admin(backend: Backend) {
    let api = Api::start_with(&backend, &[("FOLIO_AUTH_ATTEMPTS_PER_MINUTE", "1000")]).await;
    let ann = id(&api.register("ann").await);
    let bea = id(&api.register("bea").await);
    let (mut ann_token, mut bea_token) = (None, None);

    for round in 0..ROUNDS {
        api.set_user(ann, Some(UserRole::Admin), Some(false)).await;
        api.set_user(bea, Some(UserRole::Admin), Some(false)).await;
        let a = working_token(&api, "ann", ann_token.take()).await;
        let b = working_token(&api, "bea", bea_token.take()).await;
        let body: Value = match round % 2 {
            0 => json!({"role": "reader"}),
            _ => json!({"disabled": true}),
        };

        let (bea_path, ann_path) = (format!("/users/{bea}"), format!("/users/{ann}"));
        let (on_bea, on_ann) = tokio::join!(
            api.patch(&bea_path, Some(&a), body.clone()),
            api.patch(&ann_path, Some(&b), body.clone()),
        );
        let statuses = [on_bea.status().as_u16(), on_ann.status().as_u16()];
        assert!(
            statuses.iter().all(|s| [200, 401, 403, 409].contains(s)),
            "round {round} {body}: {statuses:?}"
        );
        assert!(
            statuses != [200, 200],
            "round {round} {body}: both admins lost their rights"
        );
        assert!(
            active_admins(&api).await >= 1,
            "round {round} {body}: no active admin is left ({statuses:?})"
        );
        (ann_token, bea_token) = (Some(a), Some(b));
    }
}
