//! The fronts of the staged world: API Gateway's HTTP API (payload 2.0 events for the template's routes, as
//! `framelift_local::apigw` makes them) and Lambda's Invoke API (for `make redrive` and `aws lambda invoke`).

use super::RouteSpec;
use super::lambda::{Failure, LambdaFunction, respond, serve};
use base64::Engine;
use bytes::Bytes;
use framelift_local::apigw::{RawRequest, event, event_json};
use framelift_shared::routes::{ROUTES, Route};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::mpsc;

pub type Functions = BTreeMap<String, (Arc<LambdaFunction>, Vec<RouteSpec>, Option<mpsc::UnboundedSender<Value>>)>;

/// Starts API Gateway's front for the template's routes; returns its URL.
pub async fn api_gateway(functions: Functions) -> String {
    let mut routes: Vec<(&'static Route, Arc<LambdaFunction>)> = Vec::new();
    for (name, (lambda, specs, _)) in &functions {
        for spec in specs {
            let route = ROUTES
                .iter()
                .find(|r| r.method == spec.method && r.path == spec.path)
                .unwrap_or_else(|| panic!("{name}: the template's route {} {} is not one of docs/API.md's", spec.method, spec.path));
            routes.push((route, lambda.clone()));
        }
    }
    let routes = Arc::new(routes);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
    let url = format!("http://{}", listener.local_addr().expect("an address"));
    serve(listener, move |req| route(routes.clone(), req));
    url
}

async fn route(routes: Arc<Vec<(&'static Route, Arc<LambdaFunction>)>>, req: hyper::Request<Incoming>) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let path = parts.uri.path().to_owned();
    let found =
        routes.iter().find_map(|(r, f)| (r.method == parts.method.as_str()).then(|| r.match_path(&path)).flatten().map(|p| (*r, f, p)));
    let Some((route, function, params)) = found else { return json_response(404, json!({"message": "Not Found"})) };
    // API Gateway adds the connection's forwarding headers; this front speaks plain HTTP on loopback.
    let mut headers: Vec<(String, String)> =
        parts.headers.iter().map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_owned())).collect();
    let port = parts.headers.get("host").and_then(|h| h.to_str().ok()).and_then(|h| h.rsplit(':').next()).unwrap_or("80").to_owned();
    headers.extend(
        [("x-forwarded-for", "127.0.0.1".to_owned()), ("x-forwarded-port", port), ("x-forwarded-proto", "http".to_owned())]
            .map(|(k, v)| (k.to_owned(), v)),
    );
    let raw = RawRequest {
        method: parts.method.to_string(),
        path,
        query: parts.uri.query().unwrap_or("").to_owned(),
        headers,
        body: body.to_vec(),
        source_ip: "127.0.0.1".into(),
    };
    match function.invoke(&event_json(&event(route, &params, &raw))).await {
        Ok(answer) => response_of(answer),
        // API Gateway's answers when the integration fails or runs past its 30 s.
        Err(Failure::TimedOut(_)) => json_response(503, json!({"message": "Service Unavailable"})),
        Err(_) => json_response(500, json!({"message": "Internal Server Error"})),
    }
}

/// A payload-2.0 response as API Gateway turns it into HTTP.
fn response_of(answer: Value) -> hyper::Response<Full<Bytes>> {
    if answer.get("statusCode").is_none() {
        return json_response(200, answer);
    }
    let body = answer["body"].as_str().unwrap_or("");
    let body = if answer["isBase64Encoded"].as_bool() == Some(true) {
        base64::engine::general_purpose::STANDARD.decode(body).unwrap_or_default()
    } else {
        body.as_bytes().to_vec()
    };
    let mut res = hyper::Response::new(Full::new(Bytes::from(body)));
    *res.status_mut() = hyper::StatusCode::from_u16(answer["statusCode"].as_u64().unwrap_or(500) as u16)
        .unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    if let Some(headers) = answer["headers"].as_object() {
        for (k, v) in headers {
            if let (Ok(k), Some(Ok(v))) = (k.parse::<hyper::header::HeaderName>(), v.as_str().map(str::parse)) {
                res.headers_mut().insert(k, v);
            }
        }
    }
    for cookie in answer["cookies"].as_array().into_iter().flatten().filter_map(Value::as_str) {
        if let Ok(v) = cookie.parse() {
            res.headers_mut().append(hyper::header::SET_COOKIE, v);
        }
    }
    res
}

fn json_response(status: u16, body: Value) -> hyper::Response<Full<Bytes>> {
    respond(status, Bytes::from(body.to_string()), &[("content-type", "application/json")])
}

/// Starts Lambda's Invoke API (`POST /2015-03-31/functions/{name}/invocations`, by logical id or ARN); returns its URL.
pub async fn lambda_api(functions: Functions) -> String {
    let functions = Arc::new(functions);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
    let url = format!("http://{}", listener.local_addr().expect("an address"));
    serve(listener, move |req: hyper::Request<Incoming>| {
        let functions = functions.clone();
        async move {
            let path = req.uri().path().to_owned();
            let asynchronous = req.headers().get("x-amz-invocation-type").is_some_and(|v| v == "Event");
            let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
            let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
            let ["2015-03-31", "functions", name, "invocations"] = segments.as_slice() else {
                return json_response(404, json!({"Type": "User", "message": "Unknown operation"}));
            };
            let name = super::iam::percent_decode(name);
            let name = name.rsplit(':').next().unwrap_or(&name).to_owned();
            let Some((lambda, _, events)) = functions.get(&name) else {
                return json_response(404, json!({"Type": "User", "message": format!("Function not found: {name}")}));
            };
            let payload: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            if asynchronous {
                return match events {
                    Some(events) if events.send(payload).is_ok() => json_response(202, Value::Null),
                    _ => json_response(400, json!({"message": format!("{name} takes no asynchronous events here")})),
                };
            }
            match lambda.invoke(&payload).await {
                Ok(answer) => json_response(200, answer),
                Err(failure) => {
                    let mut res = json_response(200, failure.payload());
                    res.headers_mut().insert("x-amz-function-error", "Unhandled".parse().expect("a header"));
                    res
                }
            }
        }
    });
    url
}
