//! What a reader may do with editions' files — download them, buy the edition, sign in first —
//! decided for many editions at once by the rules a download itself follows
//! ([`files::open`](super::files::open)): the acquisition links of the OPDS feeds.

use std::collections::HashMap;

use crate::db::{Database, Read};
use crate::entity::enums::EditionAccess;
use crate::entity::{edition, edition_file};
use crate::repo;
use crate::service::ServiceResult;
use crate::service::auth::Principal;

/// How a reader gets an edition's files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Acquisition {
    /// Anyone may download them: a `public` edition.
    OpenAccess,
    /// This reader may download them: signed in to a `members` edition, an owner of a
    /// `buyers` one, or an admin.
    Download,
    /// Signing in may allow it: a `members` edition, or a `buyers` one not for sale, asked
    /// for without credentials.
    SignIn,
    /// For sale, and this reader does not own it (or is not signed in).
    Buy { price_minor: i64, currency: String },
    /// For buyers, not for sale, and not this reader's: nothing to offer.
    Unavailable,
}

/// An edition's files and how this reader gets them.
#[derive(Debug, Clone)]
pub struct Offer {
    pub acquisition: Acquisition,
    /// In order (an audiobook's tracks).
    pub files: Vec<edition_file::Model>,
}

/// The offer of each of `editions` that has files this reader may get or is for sale, by
/// edition id (none where there is nothing to offer). Two
/// statements at most however many editions: their files, and the reader's paid purchases
/// among them.
#[tracing::instrument(
    level = "info",
    name = "service.acquisition.offers",
    skip_all,
    err(level = "debug")
)]
pub async fn offers(
    db: &Database,
    who: Option<&Principal>,
    editions: &[&edition::Model],
) -> ServiceResult<HashMap<i64, Offer>> {
    offers_in(db.reader().into(), who, editions).await
}

/// [`offers`] inside a read that reads more beside it (a book's page).
pub async fn offers_in(
    read: Read<'_>,
    who: Option<&Principal>,
    editions: &[&edition::Model],
) -> ServiceResult<HashMap<i64, Offer>> {
    let ids: Vec<i64> = editions.iter().map(|e| e.id).collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut files: HashMap<i64, Vec<edition_file::Model>> = HashMap::new();
    for file in repo::file::of_editions(read, &ids).await? {
        files.entry(file.edition_id).or_default().push(file);
    }
    // Ownership matters where a purchase does: files for buyers, and anything for sale.
    let may_own: Vec<i64> = editions
        .iter()
        .filter(|e| e.access == EditionAccess::Buyers || e.price_minor.is_some())
        .map(|e| e.id)
        .collect();
    let owned = match who {
        Some(who) if !who.is_admin() && !may_own.is_empty() => {
            repo::purchase::owned_of(read, who.user_id, &may_own).await?
        }
        _ => vec![],
    };
    Ok(editions
        .iter()
        .filter_map(|edition| {
            let owned = owned.contains(&edition.id);
            let acquisition = match files.remove(&edition.id) {
                Some(files) => Offer {
                    acquisition: acquisition(edition, who, owned),
                    files,
                },
                // Without files (print, vinyl, or files still to come) only a sale is offered.
                None => match (for_sale(edition), owned) {
                    (Some(buy), false) => Offer {
                        acquisition: buy,
                        files: vec![],
                    },
                    _ => return None,
                },
            };
            // Nothing to offer is no offer.
            (acquisition.acquisition != Acquisition::Unavailable)
                .then_some((edition.id, acquisition))
        })
        .collect())
}

fn for_sale(edition: &edition::Model) -> Option<Acquisition> {
    match (edition.price_minor, &edition.currency) {
        (Some(price_minor), Some(currency)) => Some(Acquisition::Buy {
            price_minor,
            currency: currency.clone(),
        }),
        _ => None,
    }
}

fn acquisition(edition: &edition::Model, who: Option<&Principal>, owned: bool) -> Acquisition {
    let for_sale = || for_sale(edition);
    match (edition.access, who) {
        (EditionAccess::Public, _) => Acquisition::OpenAccess,
        (_, Some(who)) if who.is_admin() => Acquisition::Download,
        (EditionAccess::Members, Some(_)) => Acquisition::Download,
        (EditionAccess::Members, None) => Acquisition::SignIn,
        (EditionAccess::Buyers, Some(_)) if owned => Acquisition::Download,
        (EditionAccess::Buyers, Some(_)) => for_sale().unwrap_or(Acquisition::Unavailable),
        (EditionAccess::Buyers, None) => for_sale().unwrap_or(Acquisition::SignIn),
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::entity::enums::{EditionFormat, UserRole};

    fn edition(access: EditionAccess, price: Option<(i64, &str)>) -> edition::Model {
        edition::Model {
            id: 1,
            book_id: 1,
            format: EditionFormat::Ebook,
            isbn: None,
            catalog_number: None,
            publisher: None,
            release_date: None,
            language: None,
            pages: None,
            duration_seconds: None,
            price_minor: price.map(|p| p.0),
            currency: price.map(|p| p.1.to_string()),
            created_at: Utc::now(),
            updated_at: Utc::now(),
            access,
            title: None,
            subtitle: None,
        }
    }

    fn reader(role: UserRole) -> Principal {
        Principal {
            user_id: 5,
            username: "reader".into(),
            role,
            session_id: None,
        }
    }

    #[test]
    fn each_access_and_reader_gets_what_a_download_would_allow() {
        let user = reader(UserRole::Reader);
        let admin = reader(UserRole::Admin);
        let buy = Acquisition::Buy {
            price_minor: 1299,
            currency: "EUR".into(),
        };
        let public = edition(EditionAccess::Public, None);
        let members = edition(EditionAccess::Members, None);
        let sold = edition(EditionAccess::Buyers, Some((1299, "EUR")));
        let unsold = edition(EditionAccess::Buyers, None);
        let cases = [
            (&public, None, false, Acquisition::OpenAccess),
            (&members, None, false, Acquisition::SignIn),
            (&members, Some(&user), false, Acquisition::Download),
            (&sold, None, false, buy.clone()),
            (&sold, Some(&user), false, buy),
            (&sold, Some(&user), true, Acquisition::Download),
            (&sold, Some(&admin), false, Acquisition::Download),
            (&unsold, None, false, Acquisition::SignIn),
            (&unsold, Some(&user), false, Acquisition::Unavailable),
            (&unsold, Some(&user), true, Acquisition::Download),
        ];
        for (edition, who, owned, expected) in cases {
            assert_eq!(
                acquisition(edition, who, owned),
                expected,
                "{:?} for {:?}, owned: {owned}",
                edition.access,
                who.map(|w| w.role)
            );
        }
    }
}
