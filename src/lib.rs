//! folio: a self-hosted e-library and audio store server.
//!
//! Layers, dependencies pointing one way: `cli → (api, web) → (service → repo) → entity`,
//! with `config` and `db` beside them; the web app's pages use the API's state and errors.

pub mod api;
pub mod cli;
pub mod config;
pub mod db;
pub mod entity;
pub mod export;
pub mod import;
pub mod media;
pub mod migration;
pub mod repo;
pub mod server;
pub mod service;
pub mod storage;
pub mod telemetry;
pub mod text;
pub mod web;
