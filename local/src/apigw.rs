//! API Gateway HTTP API (payload 2.0) events: how an HTTP request reaches a function on AWS. The dev server and the
//! tests build the event API Gateway would send and turn it into a `Request` with lambda_http's own conversion, so a
//! handler sees locally exactly the `Request` it sees in Lambda ([`to_request`]). The dev server skips only the JSON in
//! between (a test checks that the JSON, parsed as the runtime parses it, makes the same request).

use base64::Engine;
use framelift_shared::routes::Route;
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

/// The request a handler sees: lambda_http's own conversion of `event`, as in Lambda.
///
/// lambda_http panics when the Host header (or domain name), X-Forwarded-Proto, path and query make no URI. API
/// Gateway never sends such an event, but a client of the dev server can send any Host header, so that is checked
/// first and is an error here.
pub fn to_request(event: ApiGatewayV2httpRequest) -> Result<lambda_http::Request, InvalidRequest> {
    check_uri(&event)?;
    Ok(LambdaRequest::ApiGatewayV2(event).into())
}

/// Whether the URI lambda_http makes of `event` (`{x-forwarded-proto or https}://{Host or domain name}{path}`,
/// normalised by the url crate, then the raw query) can be made.
fn check_uri(event: &ApiGatewayV2httpRequest) -> Result<(), InvalidRequest> {
    let host = event.headers.get(http::header::HOST).and_then(|h| h.to_str().ok()).or(event.request_context.domain_name.as_deref());
    let raw_path = event.raw_path.as_deref().unwrap_or_default();
    let mut uri = match host {
        Some(host) => {
            if host.parse::<http::uri::Authority>().is_err() {
                return Err(InvalidRequest("Host header"));
            }
            let scheme = event.headers.get("x-forwarded-proto").and_then(|h| h.to_str().ok()).unwrap_or("https");
            url::Url::parse(&format!("{scheme}://{host}{raw_path}")).map_err(|_| InvalidRequest("Host or X-Forwarded-Proto header"))?.into()
        }
        None => url::Url::parse(&format!("http://localhost{raw_path}")).map_err(|_| InvalidRequest("path"))?.path().to_owned(),
    };
    if let Some(query) = event.raw_query_string.as_deref().filter(|q| !q.is_empty()) {
        uri.push('?');
        uri.push_str(query);
    }
    uri.parse::<http::Uri>().map(|_| ()).map_err(|_| InvalidRequest("Host, X-Forwarded-Proto header, path or query"))
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
    use framelift_shared::routes::{Lookup, lookup};
    use lambda_http::RequestExt;
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};

    #[test]
    fn a_host_header_that_makes_no_uri_is_an_error_not_a_panic() {
        let route = framelift_shared::routes::ROUTES.iter().find(|r| r.path == "/api/videos").unwrap();
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

    /// Whatever hosts, schemes, paths (dot segments, escapes, characters the url crate encodes), queries, cookies,
    /// repeated headers and bodies a client sends, [`to_request`] answers without lambda_http panicking: the check
    /// before the conversion refuses every event lambda_http cannot make a URI of.
    #[test]
    fn no_event_a_client_can_cause_makes_lambda_http_panic() {
        let host = prop_oneof![
            1 => Just(None),
            6 => prop::sample::select(vec![
                "localhost:8080", "LocalHost:80", "api.example.com", "API.Example.COM:443", "127.1", "0x7f.0.0.1:8080",
                "[::1]:3000", "[0:0::1]", "xn--bcher-kva.example", "bücher.example", "a b", "h:99999", ":80", "",
            ])
            .prop_map(|h| Some(h.to_owned())),
            1 => "[ -~]{0,16}".prop_map(Some),
        ];
        let proto = prop_oneof![
            Just(None),
            prop::sample::select(vec!["http", "https", "HTTP", "ws", "ftp", "h t"]).prop_map(|p| Some(p.to_owned()))
        ];
        let segment = prop_oneof![
            8 => prop::sample::select(vec![".", "..", "%2e", "%2E%2e", "videos", "01JDX3W9K7Q4T2B8N6M5R0ZC1A", "a%20b", "%zz", "a~b", ""])
                .prop_map(str::to_owned),
            1 => "[ -~]{0,8}",
            1 => "\\PC{0,3}",
        ];
        let path = prop::collection::vec(segment, 0..5).prop_map(|segments| format!("/api/{}", segments.join("/")));
        let query = prop_oneof![4 => Just(String::new()), 4 => "[a-z0-9=&%+]{0,24}", 1 => "[ -~]{0,24}", 1 => "\\PC{0,6}"];
        let body = prop_oneof![Just(Vec::new()), "\\PC{0,20}".prop_map(String::into_bytes), prop::collection::vec(any::<u8>(), 0..20)];
        let cookie = prop_oneof![Just(None), Just(Some("a=1; b=2".to_owned())), "[ -~]{0,12}".prop_map(Some)];
        let route = prop::sample::select(framelift_shared::routes::ROUTES.iter().collect::<Vec<_>>());
        let params = prop::collection::vec(("[a-z]{1,4}", "\\PC{0,6}"), 0..3);
        let mut runner = TestRunner::new(Config { cases: 4_000, failure_persistence: None, ..Config::default() });
        let made = std::sync::atomic::AtomicU32::new(0);
        runner
            .run(
                &(route, params, host, proto, path, query, body, cookie, any::<bool>()),
                |(route, params, host, proto, path, query, body, cookie, nameless)| {
                    let mut headers: Vec<(String, String)> = host.into_iter().map(|h| ("Host".to_owned(), h)).collect();
                    headers.extend(proto.map(|p| ("x-forwarded-proto".to_owned(), p)));
                    headers.extend(cookie.map(|c| ("Cookie".to_owned(), c)));
                    headers.extend([("X-Two".to_owned(), "1".to_owned()), ("x-two".to_owned(), "2".to_owned())]);
                    let raw = RawRequest { method: route.method.to_string(), path, query, headers, body, source_ip: "127.0.0.1".into() };
                    let mut event = event(route, &params, &raw);
                    if nameless {
                        // No domain name either: lambda_http then makes a URI of the path alone.
                        event.request_context.domain_name = None;
                    }
                    let shown = format!("{event:?}");
                    match std::panic::catch_unwind(|| to_request(event)) {
                        Ok(Ok(req)) => {
                            made.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            prop_assert_eq!(req.method().as_str(), route.method);
                        }
                        Ok(Err(_)) => {}
                        Err(_) => prop_assert!(false, "lambda_http panicked on {shown}"),
                    }
                    Ok(())
                },
            )
            .unwrap();
        // Most generated events make a request, so lambda_http's conversion is what the test mostly runs.
        let made = made.into_inner();
        println!("{made} of 4000 events made a request through lambda_http, none panicked");
        assert!(made > 2_000, "too few events made a request: {made}");
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
