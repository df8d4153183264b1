//! `framelift-shared`: what both worlds run, the Lambda functions and the local stack alike.
//!
//! - [`domain`]: newtypes that parse (ids, titles, part numbers), the video record and its status machine, the upload plan.
//! - [`ports`]: the small async traits between handlers and backends, and their errors.
//! - [`auth`]: bearer-token verification against a cached JWKS.
//! - [`error`]: the one error enum, mapped to the HTTP error shape of the API once.
//! - [`http`]: the lambda_http glue: body, path and query extraction, JSON responses.
//! - [`config`]: typed configuration read once from the environment.
//! - [`routes`]: the one route table the dev server mounts and the template is checked against.
//! - [`state`]: [`AppState`], the dependencies every handler receives.
//! - `openapi` (feature `openapi`): the API's types as OpenAPI schemas, for the document the dev server serves.
//!
//! The AWS adapters and a function's cold-start wiring are in `framelift-aws`; what only the local stack and the tests
//! run (API Gateway emulation, S3 event notifications, in-memory fakes) is in `framelift-local`.

pub mod access;
pub mod auth;
pub mod config;
pub mod domain;
pub mod error;
pub mod http;
pub mod media_urls;
#[cfg(feature = "openapi")]
pub mod openapi;
pub mod ports;
pub mod routes;
pub mod s3_events;
pub mod signing;
pub mod state;

pub use error::AppError;
pub use state::{AppState, PageCache};
