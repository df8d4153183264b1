//! IAM for the staged world: which action and resource each AWS request is, as the services' authorization
//! references define them, and whether a function's statements (from `template.yaml`) allow it.
//!
//! moto's own enforcement covers S3 by action and resource but DynamoDB only for `Resource: "*"`, and refuses
//! presigned URLs outright (see `../shared/REFERENCE.md`), so the staged proxies evaluate here instead. The evaluation
//! is IAM's for identity policies: an explicit deny wins, else some allow must match action, resource and condition.

use hyper::http;
use serde::Deserialize;
use serde_json::Value;

/// One statement of a function's policies, with the policy it came from (`ReadCataloguePolicy[0]`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct Statement {
    pub effect: String,
    #[serde(deserialize_with = "one_or_many")]
    pub action: Vec<String>,
    #[serde(deserialize_with = "one_or_many")]
    pub resource: Vec<String>,
    #[serde(default)]
    pub condition: Option<serde_json::Map<String, Value>>,
    pub source: String,
}

fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    })
}

/// One authorization an AWS request needs: `s3:GetObject` on `arn:aws:s3:::bucket/key`, with the condition keys the
/// service supplies (`s3:prefix` for a listing).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Authorization {
    pub action: String,
    pub resource: String,
    pub context: Vec<(String, String)>,
}

impl std::fmt::Display for Authorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} on {}", self.action, self.resource)?;
        for (k, v) in &self.context {
            write!(f, " ({k}={v})")?;
        }
        Ok(())
    }
}

/// Whether `statements` allow `auth`: no deny matches and some allow does.
pub fn allows(statements: &[Statement], auth: &Authorization) -> bool {
    let matching = |effect: &str| statements.iter().any(|s| s.effect == effect && s.matches(auth));
    !matching("Deny") && matching("Allow")
}

impl Statement {
    fn matches(&self, auth: &Authorization) -> bool {
        self.action.iter().any(|a| wildcard(&a.to_ascii_lowercase(), &auth.action.to_ascii_lowercase()))
            && self.resource.iter().any(|r| wildcard(r, &auth.resource))
            && self.condition.as_ref().is_none_or(|c| conditions_hold(c, &auth.context))
    }
}

/// Every operator's every key must hold; a key holds when the request's value matches one of the statement's.
/// A key the request does not supply does not hold.
fn conditions_hold(conditions: &serde_json::Map<String, Value>, context: &[(String, String)]) -> bool {
    conditions.iter().all(|(operator, keys)| {
        keys.as_object().is_some_and(|keys| {
            keys.iter().all(|(key, expected)| {
                let expected: Vec<&str> = match expected {
                    Value::String(s) => vec![s.as_str()],
                    Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                    _ => vec![],
                };
                let actual = context.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v.as_str());
                actual.is_some_and(|actual| {
                    expected.iter().any(|e| match operator.as_str() {
                        "StringLike" => wildcard(e, actual),
                        "StringEquals" => *e == actual,
                        _ => false,
                    })
                })
            })
        })
    })
}

/// IAM's `*` (any run) and `?` (any one character) match; CloudFront's policy resources match the same way.
pub(super) fn wildcard(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Where the staged account lives.
pub const REGION: &str = "us-east-1";
pub const ACCOUNT: &str = "123456789012";

/// The authorizations an S3 request (path style: `/bucket/key`) needs, per the Amazon S3 actions reference.
/// `DeleteObjects` needs `s3:DeleteObject` on each key it names.
pub fn s3(method: &str, path: &str, query: &[(String, String)], headers: &http::HeaderMap, body: &[u8]) -> Vec<Authorization> {
    let has = |k: &str| query.iter().any(|(q, _)| q == k);
    let path = percent_decode(path.trim_start_matches('/'));
    let (bucket, key) = path.split_once('/').map_or((path.as_str(), ""), |(b, k)| (b, k));
    let object = |action: &str, key: &str| Authorization {
        action: format!("s3:{action}"),
        resource: format!("arn:aws:s3:::{bucket}/{key}"),
        context: vec![],
    };
    let bucket_level = |action: &str, context: Vec<(String, String)>| Authorization {
        action: format!("s3:{action}"),
        resource: format!("arn:aws:s3:::{bucket}"),
        context,
    };
    if key.is_empty() {
        return match method {
            "POST" if has("delete") => {
                let text = String::from_utf8_lossy(body);
                text.split("<Key>")
                    .skip(1)
                    .filter_map(|s| s.split("</Key>").next())
                    .map(|k| object("DeleteObject", &xml_unescape(k)))
                    .collect()
            }
            "GET" if has("uploads") => vec![bucket_level("ListBucketMultipartUploads", vec![])],
            "GET" | "HEAD" => {
                let prefix = query.iter().find(|(k, _)| k == "prefix").map_or(String::new(), |(_, v)| v.clone());
                vec![bucket_level("ListBucket", vec![("s3:prefix".into(), prefix)])]
            }
            _ => vec![bucket_level(&format!("{method}Bucket"), vec![])],
        };
    }
    let action = match method {
        "GET" | "HEAD" if has("uploadId") => "ListMultipartUploadParts",
        "GET" | "HEAD" => "GetObject",
        "PUT" | "POST" => "PutObject",
        "DELETE" if has("uploadId") => "AbortMultipartUpload",
        "DELETE" => "DeleteObject",
        other => return vec![object(&format!("{other}Object"), key)],
    };
    let mut needed = vec![object(action, key)];
    if let Some(source) = headers.get("x-amz-copy-source").and_then(|v| v.to_str().ok()) {
        needed.push(Authorization {
            action: "s3:GetObject".into(),
            resource: format!("arn:aws:s3:::{}", percent_decode(source.trim_start_matches('/'))),
            context: vec![],
        });
    }
    needed
}

/// The authorizations a DynamoDB request (`X-Amz-Target: DynamoDB_20120810.<Operation>`) needs: the operation on
/// each table (or index) it names.
pub fn dynamodb(target: &str, body: &Value) -> Vec<Authorization> {
    let operation = target.rsplit('.').next().unwrap_or(target);
    let table = |name: &str| format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}");
    let auth = |resource: String| Authorization { action: format!("dynamodb:{operation}"), resource, context: vec![] };
    if let Some(items) = body.get("RequestItems").and_then(Value::as_object) {
        return items.keys().map(|t| auth(table(t))).collect();
    }
    if let Some(items) = body.get("TransactItems").and_then(Value::as_array) {
        return items
            .iter()
            .filter_map(|i| i.as_object()?.iter().next())
            .map(|(kind, op)| Authorization {
                action: format!("dynamodb:{}", if kind == "ConditionCheck" { "ConditionCheckItem".into() } else { format!("{kind}Item") }),
                resource: table(op["TableName"].as_str().unwrap_or("")),
                context: vec![],
            })
            .collect();
    }
    let name = body.get("TableName").and_then(Value::as_str).unwrap_or("");
    match body.get("IndexName").and_then(Value::as_str) {
        Some(index) => vec![auth(format!("{}/index/{index}", table(name)))],
        None => vec![auth(table(name))],
    }
}

/// The authorization an SQS request (`X-Amz-Target: AmazonSQS.<Operation>`) needs: the operation on the queue its
/// `QueueUrl` names; a batch operation is authorized as its single form.
pub fn sqs(target: &str, body: &Value) -> Vec<Authorization> {
    let operation = target.rsplit('.').next().unwrap_or(target);
    let operation = operation.strip_suffix("Batch").unwrap_or(operation);
    let queue = body.get("QueueUrl").and_then(Value::as_str).and_then(|u| u.rsplit('/').next()).unwrap_or("");
    vec![Authorization { action: format!("sqs:{operation}"), resource: format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{queue}"), context: vec![] }]
}

/// The authorization a Secrets Manager request (`X-Amz-Target: secretsmanager.<Operation>`) needs: the operation on
/// the secret's ARN (its name with the six characters Secrets Manager adds), whichever way the request names it.
pub fn secretsmanager(target: &str, secret_arn: &str) -> Vec<Authorization> {
    let operation = target.rsplit('.').next().unwrap_or(target);
    vec![Authorization { action: format!("secretsmanager:{operation}"), resource: secret_arn.to_owned(), context: vec![] }]
}

/// The authorization an OpenSearch Service request needs: `es:ESHttp<Method>` on the domain's path.
pub fn opensearch(domain: &str, method: &str, path: &str) -> Authorization {
    let verb = method[..1].to_ascii_uppercase() + &method[1..].to_ascii_lowercase();
    Authorization {
        action: format!("es:ESHttp{verb}"),
        resource: format!("arn:aws:es:{REGION}:{ACCOUNT}:domain/{domain}{}", path.trim_end_matches('/')),
        context: vec![],
    }
}

/// `s` with its percent escapes decoded (a `+` stays a plus, as in a path).
pub(super) fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned()
}

fn xml_unescape(s: &str) -> String {
    s.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&apos;", "'").replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn statements(v: Value) -> Vec<Statement> {
        serde_json::from_value(v).unwrap()
    }

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn actions_and_resources_match_with_wildcards_and_conditions() {
        let s = statements(json!([
            {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::b/media/*", "Source": "a"},
            {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::b", "Source": "b",
             "Condition": {"StringLike": {"s3:prefix": ["uploads/*", "media/*"]}}},
            {"Effect": "Allow", "Action": "dynamodb:*", "Resource": "arn:aws:dynamodb:us-east-1:123456789012:table/t", "Source": "c"}
        ]));
        let h = http::HeaderMap::new();
        assert!(allows(&s, &s3("GET", "/b/media/v/master.m3u8", &[], &h, b"")[0]));
        assert!(!allows(&s, &s3("GET", "/b/uploads/v/source", &[], &h, b"")[0]), "another prefix");
        assert!(!allows(&s, &s3("PUT", "/b/media/v/x.ts", &[], &h, b"")[0]), "another action");
        assert!(allows(&s, &s3("GET", "/b", &q(&[("list-type", "2"), ("prefix", "media/v/")]), &h, b"")[0]));
        assert!(!allows(&s, &s3("GET", "/b", &q(&[("list-type", "2")]), &h, b"")[0]), "a listing of everything");
        assert!(allows(&s, &dynamodb("DynamoDB_20120810.GetItem", &json!({"TableName": "t"}))[0]));
        assert!(
            !allows(&s, &dynamodb("DynamoDB_20120810.Query", &json!({"TableName": "t", "IndexName": "by-owner"}))[0]),
            "an index is its own resource"
        );
        let deny = statements(json!([{"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Source": "a"},
                                     {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*", "Source": "b"}]));
        assert!(!allows(&deny, &s3("DELETE", "/b/k", &[], &h, b"")[0]), "an explicit deny wins");
    }

    #[test]
    fn requests_are_the_actions_the_service_reference_names() {
        let h = http::HeaderMap::new();
        let one = |m: &str, p: &str, query: &[(&str, &str)]| s3(m, p, &q(query), &h, b"")[0].action.clone();
        assert_eq!(one("POST", "/b/uploads/x", &[("uploads", "")]), "s3:PutObject");
        assert_eq!(one("PUT", "/b/uploads/x", &[("partNumber", "1"), ("uploadId", "u")]), "s3:PutObject");
        assert_eq!(one("GET", "/b/uploads/x", &[("uploadId", "u")]), "s3:ListMultipartUploadParts");
        assert_eq!(one("DELETE", "/b/uploads/x", &[("uploadId", "u")]), "s3:AbortMultipartUpload");
        assert_eq!(one("HEAD", "/b/media/x", &[]), "s3:GetObject");
        let batch = s3(
            "POST",
            "/b",
            &q(&[("delete", "")]),
            &h,
            b"<Delete><Object><Key>media/a</Key></Object><Object><Key>media/b&amp;c</Key></Object></Delete>",
        );
        assert_eq!(batch.iter().map(|a| a.resource.as_str()).collect::<Vec<_>>(), ["arn:aws:s3:::b/media/a", "arn:aws:s3:::b/media/b&c"]);
        let batch = dynamodb("DynamoDB_20120810.BatchGetItem", &json!({"RequestItems": {"t": {"Keys": []}}}));
        assert_eq!(batch[0].action, "dynamodb:BatchGetItem");
        assert_eq!(opensearch("d", "HEAD", "/idx").to_string(), "es:ESHttpHead on arn:aws:es:us-east-1:123456789012:domain/d/idx");
        let send = sqs("AmazonSQS.SendMessageBatch", &json!({"QueueUrl": "http://127.0.0.1:5000/123456789012/jobs", "Entries": []}));
        assert_eq!(send[0].to_string(), "sqs:SendMessage on arn:aws:sqs:us-east-1:123456789012:jobs");
    }
}
