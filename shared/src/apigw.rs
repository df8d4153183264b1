//! API Gateway HTTP API (payload 2.0) events: how an HTTP request reaches a function on AWS. The dev server and the
//! tests build the event API Gateway would send and run it through lambda_http's own conversion, so a handler sees
//! locally exactly the `Request` it sees in Lambda. The dev server skips only the JSON in between (a test checks that
//! the JSON, parsed as the runtime parses it, makes the same request).

use crate::routes::Route;
use base64::Engine;
use http::{HeaderMap, HeaderName, HeaderValue};
use lambda_http::aws_lambda_events::apigw::{
    ApiGatewayV2httpRequest, ApiGatewayV2httpRequestContext, ApiGatewayV2httpRequestContextHttpDescription,
};
use lambda_http::request::LambdaRequest;
use serde_json::Value;
use std::collections::HashMap;

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

/// The payload-2.0 event API Gateway would send for `raw` on `route`, with the route's path parameters, as the
/// value lambda_http deserializes it into. The dev server hands this to lambda_http directly ([`to_request`]); what
/// goes over the wire to a Lambda is [`event_json`] of it. One field is left to [`event_json`]:
/// `queryStringParameters`, which lambda_http does not read when the raw query string is there (it parses that
/// itself), so the dev server does not make it for every request.
pub fn event(route: &Route, path_params: &[(String, String)], raw: &RawRequest) -> ApiGatewayV2httpRequest {
    // API Gateway lower-cases header names and joins repeated headers with commas (cookies go apart).
    let mut headers = HeaderMap::new();
    let mut cookies = Vec::new();
    for (name, value) in &raw.headers {
        let (Ok(name), Ok(value)) = (HeaderName::try_from(name.as_str()), HeaderValue::try_from(value.as_str())) else { continue };
        if name == http::header::COOKIE {
            cookies.extend(value.to_str().unwrap_or("").split(';').map(|c| c.trim().to_owned()));
            continue;
        }
        match headers.entry(name) {
            http::header::Entry::Occupied(mut e) => {
                let mut joined = e.get().as_bytes().to_vec();
                joined.push(b',');
                joined.extend_from_slice(value.as_bytes());
                if let Ok(v) = HeaderValue::from_bytes(&joined) {
                    e.insert(v);
                }
            }
            http::header::Entry::Vacant(e) => {
                e.insert(value);
            }
        }
    }
    let (body, is_base64) = match std::str::from_utf8(&raw.body) {
        Ok(text) => (text.to_owned(), false),
        Err(_) => (base64::engine::general_purpose::STANDARD.encode(&raw.body), true),
    };
    let host = headers.get(http::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost").to_owned();
    let now = time::OffsetDateTime::now_utc();

    let mut http_description = ApiGatewayV2httpRequestContextHttpDescription::default();
    http_description.method = raw.method.parse().unwrap_or_default();
    http_description.path = Some(raw.path.clone());
    http_description.protocol = Some("HTTP/1.1".into());
    http_description.source_ip = Some(raw.source_ip.clone());
    http_description.user_agent = Some(headers.get(http::header::USER_AGENT).and_then(|h| h.to_str().ok()).unwrap_or("").to_owned());
    let route_key = route.route_key();
    let mut context = ApiGatewayV2httpRequestContext::default();
    context.route_key = Some(route_key.clone());
    context.account_id = Some("000000000000".into());
    context.stage = Some("$default".into());
    context.request_id = Some(ulid::Ulid::new().to_string());
    context.apiid = Some("local".into());
    context.domain_prefix = Some(host.split('.').next().unwrap_or("local").to_owned());
    context.domain_name = Some(host);
    context.time = Some(now.format(&time::format_description::well_known::Rfc2822).unwrap_or_default());
    context.time_epoch = now.unix_timestamp() * 1000;
    context.http = http_description;

    let mut event = ApiGatewayV2httpRequest::default();
    event.version = Some("2.0".into());
    event.route_key = Some(route_key);
    event.raw_path = Some(raw.path.clone());
    event.raw_query_string = Some(raw.query.clone());
    event.cookies = (!cookies.is_empty()).then_some(cookies);
    event.headers = headers;
    event.path_parameters = path_params.iter().cloned().collect();
    event.request_context = context;
    event.body = (!raw.body.is_empty()).then_some(body);
    event.is_base64_encoded = is_base64;
    event
}

/// `event` as the JSON API Gateway sends: with `queryStringParameters` (repeated names joined with commas, as API
/// Gateway joins them); the fields the struct keeps for other payloads (authorizer requests, the deprecated
/// `httpMethod`) and empty ones are left out, as API Gateway leaves them out.
pub fn event_json(event: &ApiGatewayV2httpRequest) -> Value {
    let mut query: HashMap<String, String> = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(event.raw_query_string.as_deref().unwrap_or("").as_bytes()) {
        query
            .entry(k.into_owned())
            .and_modify(|existing| {
                existing.push(',');
                existing.push_str(&v);
            })
            .or_insert_with(|| v.clone().into_owned());
    }
    let mut event = event.clone();
    event.query_string_parameters = query.into();
    let mut json = serde_json::to_value(&event).expect("an event always serializes");
    if let Value::Object(fields) = &mut json {
        fields.remove("httpMethod");
        fields.retain(|_, v| !v.is_null() && v.as_object().is_none_or(|o| !o.is_empty()));
    }
    json
}

/// The request a handler sees, made by lambda_http's own conversion, as the Lambda runtime makes it from the event.
///
/// lambda_http builds the request's URI from the Host header, path and query, and panics if they do not make one (API
/// Gateway never sends such an event; a client of the dev server can send any Host header). That becomes an error
/// here: first by checking the URI it will build, and should anything else slip through, by catching the panic.
pub fn to_request(event: ApiGatewayV2httpRequest) -> Result<lambda_http::Request, InvalidRequest> {
    let host = event.headers.get(http::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    let path = event.raw_path.as_deref().unwrap_or("/");
    let query = event.raw_query_string.as_deref().unwrap_or("");
    let scheme = event.headers.get("x-forwarded-proto").and_then(|h| h.to_str().ok()).unwrap_or("https");
    if host.parse::<http::uri::Authority>().is_err() {
        return Err(InvalidRequest("Host header"));
    }
    // As lambda_http builds it: the URL normalised by the url crate, then the raw query, parsed as an http::Uri.
    let url = url::Url::parse(&format!("{scheme}://{host}{path}")).map_err(|_| InvalidRequest("Host or X-Forwarded-Proto header"))?;
    let uri = if query.is_empty() { url.to_string() } else { format!("{url}?{query}") };
    if uri.parse::<http::Uri>().is_err() {
        return Err(InvalidRequest("Host, X-Forwarded-Proto header, path or query"));
    }
    std::panic::catch_unwind(|| LambdaRequest::ApiGatewayV2(event).into()).map_err(|_| InvalidRequest("URI"))
}

/// A request lambda_http cannot turn into a `Request`: the part that is not valid in a URI.
#[derive(Debug, PartialEq, Eq)]
pub struct InvalidRequest(&'static str);

impl std::fmt::Display for InvalidRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the request's {} is not valid in a URI", self.0)
    }
}

impl std::error::Error for InvalidRequest {}

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
            let e = to_request(event(route, &[], &raw)).unwrap_err();
            assert!(e.to_string().contains("Host"), "{host}: {e}");
        }
    }

    /// `POST .../part-urls` with a repeated query parameter, a header sent twice (in two cases) and `headers`.
    fn part_urls(headers: &[(&str, &str)], body: &[u8]) -> RawRequest {
        let mut all: Vec<(String, String)> = vec![("Host".into(), "localhost:8080".into())];
        all.extend(headers.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        all.extend([("X-Two".into(), "1".into()), ("x-two".into(), "2".into())]);
        RawRequest {
            method: "POST".into(),
            path: "/api/uploads/01JDX3W9K7Q4T2B8N6M5R0ZC1A/part-urls".into(),
            query: "a=1&b=x%20y&a=2".into(),
            headers: all,
            body: body.to_vec(),
            source_ip: "127.0.0.1".into(),
        }
    }

    #[test]
    fn a_request_survives_the_trip_through_lambda_http() {
        let raw = part_urls(&[("Authorization", "Bearer t")], br#"{"partNumbers":[1]}"#);
        let Lookup::Found(route, params) = lookup(&http::Method::POST, &raw.path) else { panic!() };
        let req = to_request(event(route, &params, &raw)).unwrap();
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
        let req = to_request(event(route, &params, &raw)).unwrap();
        assert_eq!(req.body().as_ref(), &[0, 159, 146, 150]);
    }

    #[test]
    fn the_json_a_lambda_receives_makes_the_same_request_as_the_dev_server_hands_over() {
        let raw = RawRequest {
            source_ip: "203.0.113.7".into(),
            ..part_urls(&[("Cookie", "a=1; b=2"), ("User-Agent", "curl/8")], &[0, 159, 146, 150])
        };
        let Lookup::Found(route, params) = lookup(&http::Method::POST, &raw.path) else { panic!() };
        let typed = event(route, &params, &raw);
        let json = event_json(&typed);
        for absent in ["httpMethod", "type", "methodArn", "resource", "stageVariables"] {
            assert!(json.get(absent).is_none(), "{absent} is not in a payload-2.0 event: {json}");
        }
        assert_eq!(json["cookies"], serde_json::json!(["a=1", "b=2"]));
        assert_eq!(json["queryStringParameters"], serde_json::json!({"a": "1,2", "b": "x y"}));
        let parsed = lambda_http::request::from_str(&json.to_string()).unwrap();
        let direct = to_request(typed).unwrap();
        assert_eq!(parsed.method(), direct.method());
        assert_eq!(parsed.uri(), direct.uri());
        assert_eq!(parsed.headers(), direct.headers());
        assert_eq!(parsed.body().as_ref(), direct.body().as_ref());
        assert_eq!(parsed.path_parameters(), direct.path_parameters());
        assert_eq!(parsed.query_string_parameters(), direct.query_string_parameters());
        assert_eq!(format!("{:?}", parsed.request_context()), format!("{:?}", direct.request_context()));
        assert_eq!(direct.headers()["cookie"], "a=1; b=2");
        let lambda_http::request::RequestContext::ApiGatewayV2(context) = direct.request_context() else { panic!("an HTTP API request") };
        assert_eq!(context.http.source_ip.as_deref(), Some("203.0.113.7"));
    }
}
