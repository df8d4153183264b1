//! Each staged function's endpoints: a proxy in front of moto for S3 and DynamoDB, and a scripted OpenSearch, each on
//! its own port so that every call (a presigned URL used by a browser included) is the signing function's. Every call
//! is recorded with the authorizations it needs, checked against the function's statements from `template.yaml`,
//! and refused as the service refuses it when they do not allow it.

use super::iam::{self, Authorization, Statement};
use super::lambda::{respond, serve};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// One authorization a call needed, and whether the function's policies allowed it.
#[derive(Debug, Clone)]
pub struct Call {
    pub function: String,
    pub auth: Authorization,
    pub allowed: bool,
}

/// Every call of every staged function, in order.
#[derive(Default)]
pub struct CallLog(Mutex<Vec<Call>>);

impl CallLog {
    pub fn all(&self) -> Vec<Call> {
        self.0.lock().unwrap().clone()
    }

    fn check(&self, function: &str, statements: &[Statement], needed: Vec<Authorization>) -> Result<(), Authorization> {
        let mut refused = None;
        for auth in needed {
            let allowed = iam::allows(statements, &auth);
            if !allowed && refused.is_none() {
                refused = Some(auth.clone());
            }
            self.0.lock().unwrap().push(Call { function: function.to_owned(), auth, allowed });
        }
        refused.map_or(Ok(()), Err)
    }
}

/// Who is calling, with what permissions.
#[derive(Clone)]
pub struct Identity {
    pub function: String,
    pub statements: Arc<Vec<Statement>>,
    pub log: Arc<CallLog>,
    pub stalls: Arc<Mutex<Vec<Stall>>>,
}

/// A slow answer: the next `times` calls of `function` needing `action` on a resource containing `resource` wait
/// `delay` before they reach the service.
#[derive(Debug, Clone)]
pub struct Stall {
    pub function: String,
    pub action: String,
    pub resource: String,
    pub delay: std::time::Duration,
    pub times: u32,
}

impl Identity {
    /// How long this call is held back, if a stall matches it (and counts it).
    fn stall(&self, needed: &[Authorization]) -> Option<std::time::Duration> {
        let mut stalls = self.stalls.lock().unwrap();
        let stall = stalls.iter_mut().find(|s| {
            s.times > 0 && s.function == self.function && needed.iter().any(|a| a.action == s.action && a.resource.contains(&s.resource))
        })?;
        stall.times -= 1;
        Some(stall.delay)
    }
}

/// Starts the proxy to `moto` for `who`; returns its endpoint.
pub async fn aws_proxy(who: Identity, moto: String) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
    let endpoint = format!("http://{}", listener.local_addr().expect("an address"));
    let client = reqwest::Client::builder().no_proxy().build().expect("a client");
    serve(listener, move |req| forward(who.clone(), moto.clone(), client.clone(), req));
    endpoint
}

async fn forward(who: Identity, moto: String, client: reqwest::Client, req: hyper::Request<Incoming>) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let method = parts.method.as_str().to_owned();
    let query: Vec<(String, String)> =
        url::form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    let target = parts.headers.get("x-amz-target").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let needed = match &target {
        Some(t) if t.starts_with("AmazonSQS.") => iam::sqs(t, &serde_json::from_slice(&body).unwrap_or(Value::Null)),
        Some(t) if t.starts_with("secretsmanager.") => iam::secretsmanager(t, &secret_arn(&client, &moto, &body).await),
        Some(t) => iam::dynamodb(t, &serde_json::from_slice(&body).unwrap_or(Value::Null)),
        None => iam::s3(&method, parts.uri.path(), &query, &parts.headers, &body),
    };
    if let Err(auth) = who.log.check(&who.function, &who.statements, needed.clone()) {
        return denied(target.is_some(), &who.function, &auth);
    }
    if let Some(delay) = who.stall(&needed) {
        tokio::time::sleep(delay).await;
    }
    let url = format!("{moto}{}", parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"));
    let mut forwarded = client.request(parts.method.clone(), url).body(body);
    for (k, v) in &parts.headers {
        if k != "host" && k != "content-length" {
            forwarded = forwarded.header(k, v);
        }
    }
    let res = match forwarded.send().await {
        Ok(res) => res,
        Err(e) => return plain(502, format!("moto did not answer: {e}")),
    };
    let status = res.status().as_u16();
    // S3 answers a read of a missing key with 404 only to a caller allowed to list the bucket; others get 403.
    if status == 404 && target.is_none() && needed.iter().any(|a| a.action == "s3:GetObject") {
        let bucket = parts.uri.path().trim_start_matches('/').split('/').next().unwrap_or("");
        let list = Authorization { action: "s3:ListBucket".into(), resource: format!("arn:aws:s3:::{bucket}"), context: vec![] };
        if !iam::allows(&who.statements, &list) {
            return denied(false, &who.function, &needed[0]);
        }
    }
    let headers = res.headers().clone();
    let bytes = res.bytes().await.unwrap_or_default();
    let mut out = hyper::Response::new(Full::new(bytes));
    *out.status_mut() = hyper::StatusCode::from_u16(status).expect("a status");
    for (k, v) in &headers {
        if k != "content-length" && k != "transfer-encoding" {
            out.headers_mut().append(k, v.clone());
        }
    }
    out
}

/// The ARN of the secret a Secrets Manager request names (by name or ARN), as moto knows it; the name itself when
/// there is no such secret (the request then fails as it would).
async fn secret_arn(client: &reqwest::Client, moto: &str, body: &[u8]) -> String {
    let id = serde_json::from_slice::<Value>(body).ok().and_then(|b| b["SecretId"].as_str().map(str::to_owned)).unwrap_or_default();
    let described = client
        .post(moto)
        .header("x-amz-target", "secretsmanager.DescribeSecret")
        .header("content-type", "application/x-amz-json-1.1")
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=staging/20260101/us-east-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=0",
        )
        .body(json!({"SecretId": id}).to_string())
        .send()
        .await;
    let arn = match described {
        Ok(res) => res.json::<Value>().await.ok().and_then(|d| d["ARN"].as_str().map(str::to_owned)),
        Err(_) => None,
    };
    arn.unwrap_or(id)
}

/// The service's own refusal: S3's XML `AccessDenied`, the JSON protocols' (DynamoDB's, SQS's) `AccessDeniedException`.
fn denied(dynamodb: bool, function: &str, auth: &Authorization) -> hyper::Response<Full<Bytes>> {
    let message =
        format!("User: arn:aws:sts::{}:assumed-role/{function}Role/{function} is not authorized to perform: {auth}", iam::ACCOUNT);
    let (body, content_type) = if dynamodb {
        (json!({"__type": "com.amazon.coral.service#AccessDeniedException", "message": message}).to_string(), "application/x-amz-json-1.0")
    } else {
        (
            format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code><Message>{message}</Message></Error>"),
            "application/xml",
        )
    };
    let mut res = hyper::Response::new(Full::new(Bytes::from(body)));
    *res.status_mut() = if dynamodb { hyper::StatusCode::BAD_REQUEST } else { hyper::StatusCode::FORBIDDEN };
    res.headers_mut().insert("content-type", content_type.parse().expect("a content type"));
    res
}

fn plain(status: u16, text: String) -> hyper::Response<Full<Bytes>> {
    respond(status, Bytes::from(text), &[])
}

/// The scripted search cluster: one index of documents, shared by every function's endpoint. A search answers with
/// the documents whose title, author or description shares a word (case folded) with the query.
#[derive(Default)]
pub struct SearchCluster {
    indexes: Mutex<BTreeMap<String, BTreeMap<String, Value>>>,
}

impl SearchCluster {
    /// The ids of the documents in `index`.
    pub fn ids(&self, index: &str) -> Vec<String> {
        self.indexes.lock().unwrap().get(index).map(|docs| docs.keys().cloned().collect()).unwrap_or_default()
    }

    fn answer(&self, method: &str, path: &str, body: &Value) -> (u16, Value) {
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        let mut indexes = self.indexes.lock().unwrap();
        match (method, segments.as_slice()) {
            ("HEAD", [index]) => (if indexes.contains_key(*index) { 200 } else { 404 }, Value::Null),
            ("PUT", [index]) if indexes.contains_key(*index) => {
                (400, json!({"error": {"type": "resource_already_exists_exception", "index": index}, "status": 400}))
            }
            ("PUT", [index]) => {
                indexes.insert((*index).to_owned(), BTreeMap::new());
                (200, json!({"acknowledged": true, "shards_acknowledged": true, "index": index}))
            }
            ("PUT" | "POST", [index, "_doc", id]) => match indexes.get_mut(*index) {
                Some(docs) => {
                    let created = docs.insert((*id).to_owned(), body.clone()).is_none();
                    (
                        if created { 201 } else { 200 },
                        json!({"_index": index, "_id": id, "result": if created { "created" } else { "updated" }}),
                    )
                }
                None => (404, json!({"error": {"type": "index_not_found_exception"}, "status": 404})),
            },
            ("DELETE", [index, "_doc", id]) => match indexes.get_mut(*index).and_then(|d| d.remove(*id)) {
                Some(_) => (200, json!({"_index": index, "_id": id, "result": "deleted"})),
                None => (404, json!({"_index": index, "_id": id, "result": "not_found"})),
            },
            ("GET" | "POST", [index, "_search"]) => {
                let Some(docs) = indexes.get(*index) else { return (404, json!({"error": {"type": "index_not_found_exception"}})) };
                let query = body.pointer("/query/bool/should/0/simple_query_string/query").and_then(Value::as_str).unwrap_or("");
                let words: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
                let hits: Vec<Value> = docs
                    .iter()
                    .filter(|(_, doc)| {
                        let text = ["title", "author", "description"]
                            .iter()
                            .filter_map(|f| doc.get(*f).and_then(Value::as_str))
                            .collect::<Vec<_>>()
                            .join(" ")
                            .to_lowercase();
                        words.iter().any(|w| text.split(|c: char| !c.is_alphanumeric()).any(|t| t == w))
                    })
                    .map(|(id, _)| json!({"_index": index, "_id": id, "_score": 1.0}))
                    .collect();
                (200, json!({"took": 1, "timed_out": false, "hits": {"total": {"value": hits.len(), "relation": "eq"}, "hits": hits}}))
            }
            _ => (400, json!({"error": {"type": "illegal_argument_exception", "reason": format!("{method} {path} is not scripted")}})),
        }
    }
}

/// Starts `who`'s endpoint of `cluster`, the OpenSearch Service domain `domain`; returns its URL.
pub async fn search_endpoint(who: Identity, cluster: Arc<SearchCluster>, domain: String) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
    let endpoint = format!("http://{}", listener.local_addr().expect("an address"));
    serve(listener, move |req: hyper::Request<Incoming>| {
        let (who, cluster, domain) = (who.clone(), cluster.clone(), domain.clone());
        async move {
            let method = req.method().as_str().to_owned();
            let path = req.uri().path().to_owned();
            let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
            let auth = iam::opensearch(&domain, &method, &path);
            let (status, answer) = match who.log.check(&who.function, &who.statements, vec![auth.clone()]) {
                Ok(()) => cluster.answer(&method, &path, &serde_json::from_slice(&body).unwrap_or(Value::Null)),
                Err(auth) => (403, json!({"message": format!("User: {} is not authorized to perform: {auth}", who.function)})),
            };
            let body = if answer.is_null() { Bytes::new() } else { Bytes::from(answer.to_string()) };
            let mut res = hyper::Response::new(Full::new(body));
            *res.status_mut() = hyper::StatusCode::from_u16(status).expect("a status");
            res.headers_mut().insert("content-type", "application/json".parse().expect("a content type"));
            res
        }
    });
    endpoint
}
