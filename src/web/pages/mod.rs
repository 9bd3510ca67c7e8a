//! The pages, a module per part of the app.

pub mod account;
pub mod admin;
pub mod admin_catalog;
pub mod book;
pub mod browse;
pub mod home;
pub mod me;
pub mod player;
pub mod reader;
pub mod store;
