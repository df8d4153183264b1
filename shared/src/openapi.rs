//! The API's own types as OpenAPI 3.1 schemas (the `openapi` feature): what each parsing newtype accepts, said beside
//! the constants its parser uses; the error shape, made from [`AppError`] itself; and the bearer scheme. Each route's
//! operation is annotated on its handler in its function's crate, and the dev server assembles the document
//! (`framelift_devserver::openapi`). Lambda binaries build without any of it.

use crate::AppError;
use crate::domain::{Description, ETag, Language, PartNumber, Title, VideoId};
use std::collections::BTreeMap;
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{ObjectBuilder, Ref, Schema, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{OpenApi, RefOr};
use utoipa::{IntoResponses, Modify, PartialSchema, ToResponse, ToSchema};

/// The name of the bearer scheme in `security` requirements.
pub const BEARER: &str = "bearer";

/// Control characters as `char::is_control` knows them (Unicode's Cc), as a regular expression's class.
const CONTROL: &str = r"\x00-\x1f\x7f-\x9f";
/// The same less tab, line feed and carriage return, which a description may hold.
const CONTROL_BUT_LINES: &str = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f";

fn text(description: &str) -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String).description(Some(description))
}

macro_rules! schema {
    ($ty:ty, $schema:expr) => {
        impl PartialSchema for $ty {
            fn schema() -> RefOr<Schema> {
                $schema.into()
            }
        }
        impl ToSchema for $ty {}
    };
}

schema!(
    VideoId,
    text("A video's id: a ULID, 26 characters of Crockford's base 32 in upper case, made by the server.")
        .pattern(Some("^[0-7][0-9A-HJKMNP-TV-Z]{25}$"))
        .examples(["01JDX3W9K7Q4T2B8N6M5R0ZC1A"])
);
/// Text on one line that is not blank: what `Title` and a captions label accept.
fn one_line() -> Option<String> {
    Some(format!(r"^[^{CONTROL}]*[^\s{CONTROL}][^{CONTROL}]*$"))
}

schema!(
    Title,
    text("1 to 200 characters once trimmed, no control characters (such as line breaks).")
        .pattern(one_line())
        .max_length(Some(Title::MAX_CHARS))
);

/// The `label` of a captions upload: the edit function checks it as it reads the query (1 to 50 characters once
/// trimmed, no control characters); this names the rule for the document.
pub struct CaptionLabel;

schema!(
    CaptionLabel,
    text("What players' menus show, 1 to 50 characters once trimmed, no control characters; the language tag if absent.")
        .pattern(one_line())
        .max_length(Some(50))
);
schema!(
    Description,
    text("At most 5,000 characters once trimmed; line breaks and tabs allowed, other control characters not.")
        .pattern(Some(format!("^[^{CONTROL_BUT_LINES}]*$")))
        .max_length(Some(Description::MAX_CHARS))
);
schema!(
    Language,
    text("A language tag: en, fr, pt-BR, zh-Hans, es-419 (written back in its usual case).")
        .pattern(Some("^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$"))
        .max_length(Some(35))
);
schema!(
    PartNumber,
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .description(Some("A part's number, from 1 to the upload's partCount."))
        .minimum(Some(1))
        .maximum(Some(PartNumber::MAX))
);
schema!(ETag, text("The part's entity tag, as storage returned it (quotes optional)."));

/// A `{"error": {"code", "message"}}` response whose code is `error`'s.
fn error_response(error: AppError, description: &str) -> Response {
    let detail = ObjectBuilder::new()
        .property("code", ObjectBuilder::new().schema_type(Type::String).enum_values(Some([error.code()])))
        .required("code")
        .property("message", text("One sentence a person can act on.").min_length(Some(1)))
        .required("message");
    let body = ObjectBuilder::new().property("error", detail).required("error");
    ResponseBuilder::new().description(description).content("application/json", ContentBuilder::new().schema(Some(body)).build()).build()
}

macro_rules! error_responses {
    ($($name:ident => $variant:ident: $description:literal;)*) => {$(
        #[doc = $description]
        pub struct $name;
        impl<'s> ToResponse<'s> for $name {
            fn response() -> (&'s str, RefOr<Response>) {
                (stringify!($name), error_response(AppError::$variant(String::new()), $description).into())
            }
        }
    )*};
}

error_responses! {
    BadRequest => BadRequest: "Malformed JSON, or a missing or invalid field; the message names it.";
    Unauthorized => Unauthorized: "No token, or a token that is not valid (signature, expiry, issuer, audience).";
    Forbidden => Forbidden: "Authenticated, but not the owner of the upload or video.";
    NotFound => NotFound: "No such video or upload, or one the caller may not see.";
    Conflict => Conflict: "The video or upload is not in a state that allows the call.";
    TooLarge => TooLarge: "More bytes than allowed: the declared size, the parts, the body or the file.";
    UnsupportedMediaType => UnsupportedMediaType: "The declared content type is not a video.";
}

macro_rules! error_sets {
    ($($name:ident: $description:literal => [$($status:literal $response:ident),*];)*) => {$(
        #[doc = $description]
        pub struct $name;
        impl IntoResponses for $name {
            fn responses() -> BTreeMap<String, RefOr<Response>> {
                [$(($status.to_owned(), RefOr::Ref(Ref::from_response_name(stringify!($response))))),*].into()
            }
        }
    )*};
}

error_sets! {
    OwnerErrors: "The refusals of a route about one's own upload or video." =>
        ["401" Unauthorized, "403" Forbidden, "404" NotFound, "409" Conflict];
    BodyErrors: "The refusals of a body: what is wrong with it, or that it is too large." =>
        ["400" BadRequest, "413" TooLarge];
}

/// Names the bearer scheme the operations' `security` requirements refer to.
pub struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut OpenApi) {
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .bearer_format("JWT")
            .description(Some(
                "A Google ID token on AWS (RS256, audience the configured client id); locally, one from the dev \
                 server's POST /dev/token.",
            ))
            .build();
        openapi.components.get_or_insert_with(Default::default).add_security_scheme(BEARER, SecurityScheme::Http(scheme));
    }
}
