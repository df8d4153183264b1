//! The OpenAPI 3.1 document of the API, served at `GET /api/openapi.json` and kept as `docs/openapi.json`: each
//! operation is the annotation on its handler in its function's crate, each schema comes from the type the handler
//! reads or writes, and the tests check that it names every route of [`framelift_shared::routes::ROUTES`] and that
//! the handlers' answers match it.

use framelift_shared::openapi::{BadRequest, BearerAuth, Conflict, Forbidden, NotFound, TooLarge, Unauthorized, UnsupportedMediaType};
use serde_json::Value;
use std::sync::LazyLock;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Framelift API",
        version = "1",
        description = "Upload, transcode, watch and search videos. docs/API.md is the contract in prose; this document \
                       describes the same routes for tools.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(
        framelift_initialize::initialize,
        framelift_part_url::sign_parts,
        framelift_part_url::list_parts,
        framelift_complete::complete,
        framelift_abort::abort,
        framelift_list::list,
        framelift_list::detail,
        framelift_watch_url::watch,
        framelift_watch_url::playlist,
        framelift_delete::delete,
        framelift_edit::edit,
        framelift_edit::put_captions,
        framelift_edit::delete_captions,
        framelift_search::search,
    ),
    components(responses(BadRequest, Unauthorized, Forbidden, NotFound, Conflict, TooLarge, UnsupportedMediaType)),
    modifiers(&BearerAuth),
)]
struct Document;

/// Where the dev server serves it.
pub const PATH: &str = "/api/openapi.json";

/// The document, made once.
pub fn document() -> &'static Value {
    static DOCUMENT: LazyLock<Value> = LazyLock::new(|| {
        let mut doc = serde_json::to_value(Document::openapi()).expect("the OpenAPI document serializes");
        mend(&mut doc);
        doc
    });
    &DOCUMENT
}

/// Two slips of utoipa 5.5's writer, put right: a link's fields in snake case (`operation_id` for `operationId`),
/// and a schema's `min_properties` written as `maxProperties` (no schema of ours sets a maximum). Both would
/// mislead every tool that reads the document; schemathesis found them.
fn mend(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(links) = map.get_mut("links").and_then(Value::as_object_mut) {
                for link in links.values_mut().filter_map(Value::as_object_mut) {
                    for (from, to) in [("operation_id", "operationId"), ("operation_ref", "operationRef"), ("request_body", "requestBody")]
                    {
                        if let Some(v) = link.remove(from) {
                            link.insert(to.to_owned(), v);
                        }
                    }
                }
            }
            if let Some(n) = map.remove("maxProperties") {
                map.insert("minProperties".to_owned(), n);
            }
            map.values_mut().for_each(mend);
        }
        Value::Array(items) => items.iter_mut().for_each(mend),
        _ => {}
    }
}
