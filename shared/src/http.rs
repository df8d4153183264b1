//! The lambda_http glue: reading path, query, headers and JSON bodies out of a [`Request`], and writing JSON responses.
//! Every handler ends in [`respond`], the one place an [`AppError`] becomes an HTTP response.

use crate::domain::VideoId;
use crate::error::AppError;
use http::{HeaderValue, header};
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use http::StatusCode;

pub type ApiResponse = Response<Body>;

/// The largest JSON body any route accepts.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// Turns a handler's result into the response, logging refusals and failures once.
pub fn respond(result: Result<ApiResponse, AppError>) -> ApiResponse {
    result.unwrap_or_else(|e| {
        e.log();
        with_json_headers(Response::builder().status(e.status()), Body::Text(e.body().to_string()))
    })
}

/// A JSON response.
pub fn json<T: Serialize>(status: StatusCode, value: &T) -> Result<ApiResponse, AppError> {
    let text = serde_json::to_string(value).map_err(AppError::internal)?;
    Ok(json_text(status, text))
}

/// A JSON response from text already serialized (a cached page).
pub fn json_text(status: StatusCode, text: String) -> ApiResponse {
    with_json_headers(Response::builder().status(status), Body::Text(text))
}

/// An empty 204.
pub fn no_content() -> Result<ApiResponse, AppError> {
    Response::builder().status(StatusCode::NO_CONTENT).body(Body::Empty).map_err(AppError::internal)
}

fn with_json_headers(builder: http::response::Builder, body: Body) -> ApiResponse {
    let mut res = builder.body(body).expect("status and body are always valid");
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    res
}

/// The JSON body as `T`. An empty body reads as `{}` so that routes whose fields are all optional accept none.
pub fn body_json<T: DeserializeOwned>(req: &Request) -> Result<T, AppError> {
    let bytes: &[u8] = req.body().as_ref();
    if bytes.len() > MAX_BODY_BYTES {
        return Err(AppError::TooLarge(format!("the request body is larger than {} KiB: send less", MAX_BODY_BYTES / 1024)));
    }
    let bytes = match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        None => b"{}".as_slice(),
        // serde would read a struct from an array too (`[null, null]`): every body of the API is an object.
        Some(b'{') => bytes,
        Some(_) if serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok() => {
            return Err(AppError::BadRequest("the body must be a JSON object, {\"name\": value, ...}".into()));
        }
        Some(_) => bytes,
    };
    serde_json::from_slice(bytes).map_err(|e| {
        let what = match e.classify() {
            serde_json::error::Category::Data => "a field is missing or invalid",
            _ => "the body is not valid JSON",
        };
        AppError::BadRequest(format!("{what}: {}", strip_position(&e.to_string())))
    })
}

/// serde_json appends "at line 1 column 42"; the field name is what a person acts on.
fn strip_position(s: &str) -> &str {
    s.find(" at line ").map_or(s, |i| &s[..i])
}

/// The `{id}` path parameter as a video id. An id that cannot exist is simply not found.
pub fn path_video_id(req: &Request) -> Result<VideoId, AppError> {
    let raw = req.path_parameters_ref().and_then(|p| p.first("id").map(str::to_owned)).unwrap_or_default();
    raw.parse()
        .map_err(|_| AppError::NotFound(format!("there is no video or upload with id '{}'", raw.chars().take(40).collect::<String>())))
}

/// A query string parameter, if given.
pub fn query_param(req: &Request, name: &str) -> Option<String> {
    req.query_string_parameters_ref().and_then(|q| q.first(name).map(str::to_owned))
}

/// How many results a page holds: `limit` from the query string, 1 to `max`, or `default` when it is not given.
pub fn limit_param(req: &Request, default: usize, max: usize) -> Result<usize, AppError> {
    match query_param(req, "limit") {
        None => Ok(default),
        Some(l) => l.parse().ok().filter(|l| (1..=max).contains(l)).ok_or_else(|| {
            AppError::BadRequest(format!("limit must be a whole number from 1 to {max}, not '{}'", l.chars().take(20).collect::<String>()))
        }),
    }
}

/// The bearer token of the `Authorization` header.
pub fn bearer_token(req: &Request) -> Result<&str, AppError> {
    let missing = || AppError::Unauthorized("sign in first: this route needs an `Authorization: Bearer <token>` header".into());
    let value = req.headers().get(header::AUTHORIZATION).ok_or_else(missing)?;
    let value = value.to_str().map_err(|_| missing())?;
    let (scheme, token) = value.trim().split_once(' ').ok_or_else(missing)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(missing());
    }
    Ok(token.trim())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Sample {
        title: String,
    }

    fn req(body: &str) -> Request {
        http::Request::builder().body(Body::Text(body.into())).unwrap()
    }

    #[test]
    fn malformed_bodies_say_what_is_wrong() {
        let e = body_json::<Sample>(&req("{")).unwrap_err();
        assert_eq!(e.status(), 400);
        assert!(e.to_string().starts_with("the body is not valid JSON"), "{e}");
        let e = body_json::<Sample>(&req("{}")).unwrap_err();
        assert!(e.to_string().contains("missing field `title`"), "{e}");
        for not_an_object in [r#"["Day 9"]"#, "[null, null]", "7", r#""Day 9""#] {
            let e = body_json::<Sample>(&req(not_an_object)).unwrap_err();
            assert!(e.to_string().starts_with("the body must be a JSON object"), "{not_an_object}: {e}");
        }
        assert!(!e.to_string().contains("line 1"), "{e}");
        assert!(body_json::<Sample>(&req(&format!("{{\"title\": \"{}\"}}", "x".repeat(MAX_BODY_BYTES)))).unwrap_err().status() == 413);
    }

    #[test]
    fn bearer_tokens_need_the_scheme() {
        let with = |v: &str| http::Request::builder().header("authorization", v).body(Body::Empty).unwrap();
        assert_eq!(bearer_token(&with("Bearer abc")).unwrap(), "abc");
        assert_eq!(bearer_token(&with("bearer   abc ")).unwrap(), "abc");
        for bad in ["abc", "Basic abc", "Bearer ", "Bearer"] {
            assert_eq!(bearer_token(&with(bad)).unwrap_err().status(), 401, "{bad}");
        }
        assert_eq!(bearer_token(&req("")).unwrap_err().status(), 401);
    }

    #[test]
    fn errors_become_the_api_shape() {
        let res = respond(Err(AppError::Conflict("watch needs a ready video".into())));
        assert_eq!(res.status(), 409);
        let body: serde_json::Value = serde_json::from_slice(res.body().as_ref()).unwrap();
        assert_eq!(body, serde_json::json!({"error": {"code": "conflict", "message": "watch needs a ready video"}}));
        assert_eq!(res.headers()["content-type"], "application/json; charset=utf-8");
    }
}
