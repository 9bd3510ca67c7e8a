//! SeaORM entities: one module per table, with their relations. Nothing else lives here.

pub mod api_key;
pub mod app_setting;
pub mod auth_session;
pub mod author;
pub mod book;
pub mod book_author;
pub mod book_category;
pub mod book_cover;
pub mod category;
pub mod comment;
pub mod edition;
pub mod edition_contributor;
pub mod edition_file;
pub mod enums;
pub mod note;
pub mod payment_event;
pub mod progress;
pub mod purchase;
pub mod referral_link;
pub mod refresh_token;
pub mod user;
