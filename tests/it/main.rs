//! Integration tests, in one binary so they link once. Every database test runs on SQLite and,
//! when `FOLIO_TEST_POSTGRES_URL` is set, on PostgreSQL, each with a fresh database.

mod support;

mod cli;
mod constraints;
mod http_frame;
mod ready_outage;
mod schema;
mod unit_of_work;
