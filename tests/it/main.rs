//! Integration tests, in one binary so they link once. Every database test runs on SQLite and,
//! when `FOLIO_TEST_POSTGRES_URL` is set, on PostgreSQL, each with a fresh database.

mod support;

mod accounts;
mod accounts_access;
mod accounts_attacks;
mod accounts_input;
mod accounts_races;
mod accounts_rules;
mod backups;
mod catalog;
mod catalog_editions;
mod catalog_listing;
mod catalog_rules;
mod catalog_search;
mod cli;
mod constraints;
mod disk_full;
mod error_logging;
mod files;
mod files_media;
mod http_frame;
mod import;
mod import_exports;
mod instances;
mod kosync;
mod metrics;
mod n_plus_one;
mod opds;
mod openapi;
mod postgres_outage;
mod reading;
mod ready_outage;
mod response_headers;
mod schema;
mod search_quality;
mod secrets_in_logs;
mod slow_clients;
mod sqlite_hot_reads;
mod store;
mod unit_of_work;
mod web;
mod web_account;
mod web_admin;
mod web_reader;
mod webhooks;
