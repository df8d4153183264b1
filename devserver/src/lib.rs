//! The local stack: every Framelift handler on one port, over embedded backends.
//!
//! - `/api/...`: each request becomes the API Gateway event AWS would send, then the `Request` lambda_http makes of it,
//!   and goes to the same `handle` the Lambda runs, chosen from the one route table ([`framelift_shared::routes`]).
//! - `/{bucket}/...`: an S3-compatible server in-process ([`local_s3`]), reached by the same aws-sdk-s3 adapter as on
//!   AWS, checking presigned signatures and their expiry, with CORS for browser PUTs and `ObjectCreated`
//!   notifications ([`notifications`]) to the function the template triggers.
//! - `/dev/token`, `/dev/jwks.json`: the dev token issuer (never deployed).
//! - metadata: SQLite ([`sqlite_store`]), durable across `kill -9`.
//! - `/`: the web client's built files and its runtime `/config.json` ([`web`]).
//! - transcoding: the transcode function on the bucket's `uploads/` events, in the background ([`transcoder`]).

pub mod config;
pub mod cors;
pub mod encode_queue;
pub mod local_s3;
pub mod notifications;
pub mod openapi;
pub mod process;
mod server;
pub mod sqlite_store;
pub mod tantivy_search;
pub mod transcoder;
pub mod web;

pub use config::{BUCKET, DevConfig};
pub use server::{DevStack, RunningServer, invoke, listen};
