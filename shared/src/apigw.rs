//! API Gateway HTTP API (payload 2.0) events: how an HTTP request reaches a function on AWS. The dev server and the
//! tests build the same event JSON API Gateway would send and run it through lambda_http's own parser, so a handler
//! sees locally exactly the `Request` it sees in Lambda.

use crate::routes::Route;
use base64::Engine;
use serde_json::{Map, Value, json};

/// An HTTP request as it arrived, before it becomes an event.
#[derive(Debug, Clone, Default)]
pub struct RawRequest {
    pub method: String,
    pub path: String,
    /// The query string without `?`, as sent.
    pub query: String,
    /// Header names and values in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub source_ip: String,
}

/// The payload-2.0 event API Gateway would send for `raw` on `route`, with the route's path parameters.
pub fn event(route: &Route, path_params: &[(String, String)], raw: &RawRequest) -> Value {
    // API Gateway lower-cases header names and joins repeated headers with commas (cookies go apart).
    let mut headers = Map::new();
    let mut cookies = Vec::new();
    for (name, value) in &raw.headers {
        let name = name.to_ascii_lowercase();
        if name == "cookie" {
            cookies.extend(value.split(';').map(|c| Value::from(c.trim())));
            continue;
        }
        match headers.get_mut(&name) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(value);
            }
            _ => {
                headers.insert(name, Value::from(value.as_str()));
            }
        }
    }
    let mut query = Map::new();
    for (k, v) in url::form_urlencoded::parse(raw.query.as_bytes()) {
        match query.get_mut(k.as_ref()) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&v);
            }
            _ => {
                query.insert(k.into_owned(), Value::from(v.into_owned()));
            }
        }
    }
    let params: Map<String, Value> = path_params.iter().map(|(k, v)| (k.clone(), Value::from(v.as_str()))).collect();
    let (body, is_base64) = match std::str::from_utf8(&raw.body) {
        Ok(text) => (text.to_owned(), false),
        Err(_) => (base64::engine::general_purpose::STANDARD.encode(&raw.body), true),
    };
    let host = headers.get("host").and_then(Value::as_str).unwrap_or("localhost").to_owned();
    let now = time::OffsetDateTime::now_utc();
    let mut event = json!({
        "version": "2.0",
        "routeKey": route.route_key(),
        "rawPath": raw.path,
        "rawQueryString": raw.query,
        "headers": headers,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": host,
            "domainPrefix": host.split('.').next().unwrap_or("local"),
            "http": {
                "method": raw.method,
                "path": raw.path,
                "protocol": "HTTP/1.1",
                "sourceIp": raw.source_ip,
                "userAgent": headers.get("user-agent").cloned().unwrap_or(Value::from("")),
            },
            "requestId": ulid::Ulid::new().to_string(),
            "routeKey": route.route_key(),
            "stage": "$default",
            "time": now.format(&time::format_description::well_known::Rfc2822).unwrap_or_default(),
            "timeEpoch": now.unix_timestamp() * 1000,
        },
        "isBase64Encoded": is_base64,
    });
    let obj = event.as_object_mut().expect("an object literal");
    if !cookies.is_empty() {
        obj.insert("cookies".into(), Value::from(cookies));
    }
    if !query.is_empty() {
        obj.insert("queryStringParameters".into(), Value::from(query));
    }
    if !params.is_empty() {
        obj.insert("pathParameters".into(), Value::from(params));
    }
    if !raw.body.is_empty() {
        obj.insert("body".into(), Value::from(body));
    }
    event
}

/// Parses an event with lambda_http's own deserializer, as the Lambda runtime does.
///
/// lambda_http builds the request's URI from the Host header, path and query, and panics if they do not make one (API
/// Gateway never sends such an event; a client of the dev server can send any Host header). That becomes an error
/// here: first by checking the URI it will build, and should anything else slip through, by catching the panic.
pub fn to_request(event: &Value) -> Result<lambda_http::Request, serde_json::Error> {
    let invalid = |what: &str| <serde_json::Error as serde::de::Error>::custom(format!("the request's {what} is not valid in a URI"));
    let host = event["headers"]["host"].as_str().unwrap_or("localhost");
    let path = event["rawPath"].as_str().unwrap_or("/");
    let query = event["rawQueryString"].as_str().unwrap_or("");
    let scheme = event["headers"]["x-forwarded-proto"].as_str().unwrap_or("https");
    if host.parse::<http::uri::Authority>().is_err() {
        return Err(invalid("Host header"));
    }
    // As lambda_http builds it: the URL normalised by the url crate, then the raw query, parsed as an http::Uri.
    let url = url::Url::parse(&format!("{scheme}://{host}{path}")).map_err(|_| invalid("Host or X-Forwarded-Proto header"))?.to_string();
    let uri = if query.is_empty() { url } else { format!("{url}?{query}") };
    if uri.parse::<http::Uri>().is_err() {
        return Err(invalid("Host, X-Forwarded-Proto header, path or query"));
    }
    let text = event.to_string();
    std::panic::catch_unwind(|| lambda_http::request::from_str(&text)).unwrap_or_else(|_| Err(invalid("URI")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routes::{Lookup, lookup};
    use lambda_http::RequestExt;

    #[test]
    fn a_host_header_that_makes_no_uri_is_an_error_not_a_panic() {
        let route = crate::routes::ROUTES.iter().find(|r| r.path == "/api/videos").unwrap();
        for host in ["a b", "x/y", "\"", "h{}", "a:99999", ":80"] {
            let raw = RawRequest {
                method: "GET".into(),
                path: "/api/videos".into(),
                query: String::new(),
                headers: vec![("host".into(), host.into())],
                body: vec![],
                source_ip: "127.0.0.1".into(),
            };
            let e = to_request(&event(route, &[], &raw)).unwrap_err();
            assert!(e.to_string().contains("Host"), "{host}: {e}");
        }
    }

    #[test]
    fn a_request_survives_the_trip_through_lambda_http() {
        let raw = RawRequest {
            method: "POST".into(),
            path: "/api/uploads/01JDX3W9K7Q4T2B8N6M5R0ZC1A/part-urls".into(),
            query: "a=1&b=x%20y&a=2".into(),
            headers: vec![
                ("Host".into(), "localhost:8080".into()),
                ("Authorization".into(), "Bearer t".into()),
                ("X-Two".into(), "1".into()),
                ("x-two".into(), "2".into()),
            ],
            body: br#"{"partNumbers":[1]}"#.to_vec(),
            source_ip: "127.0.0.1".into(),
        };
        let Lookup::Found(route, params) = lookup(&http::Method::POST, &raw.path) else { panic!() };
        let req = to_request(&event(route, &params, &raw)).unwrap();
        assert_eq!(req.method(), "POST");
        assert_eq!(req.uri().path(), raw.path);
        assert_eq!(req.path_parameters().first("id"), Some("01JDX3W9K7Q4T2B8N6M5R0ZC1A"));
        assert_eq!(req.query_string_parameters().first("b"), Some("x y"));
        assert_eq!(req.headers()["authorization"], "Bearer t");
        assert_eq!(req.headers()["x-two"], "1,2");
        assert_eq!(req.body().as_ref(), raw.body.as_slice());
    }

    #[test]
    fn binary_bodies_arrive_intact() {
        let raw = RawRequest { method: "POST".into(), path: "/api/uploads".into(), body: vec![0, 159, 146, 150], ..Default::default() };
        let Lookup::Found(route, params) = lookup(&http::Method::POST, &raw.path) else { panic!() };
        let req = to_request(&event(route, &params, &raw)).unwrap();
        assert_eq!(req.body().as_ref(), &[0, 159, 146, 150]);
    }
}
