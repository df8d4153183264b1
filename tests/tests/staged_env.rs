//! Each function's environment, memory and timeout as `template.yaml` gives them, resolved against staged resources,
//! is what its configuration parser accepts: a variable the template forgets, misspells or resolves to nothing stops
//! the function at its cold start on AWS, and fails here first.

use framelift_shared::config::Config;
use framelift_tests::staging::{Stack, template_functions};
use serde_json::json;

const GUID: &str = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";

fn staged() -> serde_json::Value {
    Stack::named(GUID, "framelift-staged-VideosTable-1A2B3C", "framelift-staged-TranscodeFailures-4D5E6F")
        .values(&json!({"ExistingOpenSearchEndpoint": "http://127.0.0.1:9200"}))
}

#[test]
fn every_function_starts_with_the_environment_the_template_gives_it() {
    let functions = template_functions(&staged());
    assert!(functions.len() >= 9, "{:?}", functions.keys());
    for (name, f) in &functions {
        let env = &f.environment;
        let config = Config::from_lookup(|k| env.get(k).cloned()).unwrap_or_else(|e| panic!("{name} would not start: {e}"));
        assert_eq!(config.aws.bucket, format!("framelift-media-{GUID}"), "{name}: the bucket its policies name");
        assert_eq!(config.aws.table, "framelift-staged-VideosTable-1A2B3C", "{name}");
        assert_eq!(config.aws.opensearch_url, "http://127.0.0.1:9200", "{name}: the existing domain, as the parameter says");
        assert_eq!(config.auth.audience, framelift_tests::staging::CLIENT_ID, "{name}");
        assert!(f.binary.starts_with("framelift-") && f.memory_size >= 128 && f.timeout >= 1, "{name}: {f:?}");
    }
    let transcode = &functions["TranscodeFunction"];
    assert_eq!((transcode.binary.as_str(), transcode.memory_size, transcode.timeout), ("framelift-transcode", 1024, 300));
    let encode = &functions["EncodeFunction"];
    assert_eq!((encode.binary.as_str(), encode.memory_size, encode.timeout), ("framelift-encode", 10240, 900), "six vCPUs a worker");
    let jobs = Stack::queue_url("framelift-staged-VideosTable-1A2B3C-EncodeJobs");
    for f in [transcode, encode] {
        let config = framelift_transcode::deployed::TranscodeConfig::from_lookup(|k| f.environment.get(k).cloned()).unwrap();
        assert_eq!(config.queue_url, jobs, "{}: the queue the planner fills and the worker's event source reads", f.binary);
    }
    let source = &encode.queue_events[..];
    assert!(
        matches!(source, [q] if q.queue == "EncodeJobs" && q.batch_size == 1 && q.report_batch_item_failures && q.maximum_concurrency == Some(20)),
        "{source:?}"
    );
    assert_eq!(functions["CompleteFunction"].timeout, 30);
    let list = &functions["ListFunction"];
    assert_eq!((list.memory_size, list.timeout), (256, 10), "the Globals");
    println!("{} functions: each environment resolved from template.yaml and accepted by its configuration", functions.len());
}

/// Deployed with a media key (what `scripts/deploy.sh` does by default), the functions that sign media URLs, and only
/// they, are told the distribution, the key's id and its secret, and may read that secret and no other; deployed
/// without one, no function is told of a CDN.
#[test]
fn only_the_functions_that_sign_media_know_the_cdn_and_may_read_its_key() {
    let secret = "framelift/framelift-staged/media-signing-key";
    let mut values =
        Stack::named(GUID, "framelift-staged-VideosTable-1A2B3C", "framelift-staged-TranscodeFailures-4D5E6F").values(&json!({
            "ExistingOpenSearchEndpoint": "http://127.0.0.1:9200",
            "MediaPublicKey": "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA",
            "MediaKeySecretName": secret,
        }));
    values["Resources"]["MediaPublicKeyEntry"] = json!("K2JCJMDEHXQW5F");
    values["Attributes"]["WebDistribution.DomainName"] = json!("d111111abcdef8.cloudfront.net");
    let secret_arn = format!("arn:aws:secretsmanager:us-east-1:123456789012:secret:{secret}-AbCdEf");
    let read_key = framelift_tests::staging::iam::Authorization {
        action: "secretsmanager:GetSecretValue".into(),
        resource: secret_arn.clone(),
        context: vec![],
    };
    let other_secret = framelift_tests::staging::iam::Authorization { resource: secret_arn.replace("media", "other"), ..read_key.clone() };
    let mut signers = Vec::new();
    for (name, f) in template_functions(&values) {
        let config = Config::from_lookup(|k| f.environment.get(k).cloned()).unwrap_or_else(|e| panic!("{name} would not start: {e}"));
        let may_read = framelift_tests::staging::iam::allows(&f.statements, &read_key);
        assert!(!framelift_tests::staging::iam::allows(&f.statements, &other_secret), "{name} may read another secret");
        match config.aws.media_cdn {
            Some(cdn) => {
                assert_eq!(cdn.url, "https://d111111abcdef8.cloudfront.net", "{name}");
                assert_eq!((cdn.key_pair_id.as_str(), cdn.key_secret.as_str()), ("K2JCJMDEHXQW5F", secret), "{name}");
                assert!(may_read, "{name} is told of the key but may not read it");
                signers.push(name);
            }
            None => assert!(!may_read, "{name} may read the media key but never uses it"),
        }
    }
    assert_eq!(signers, ["EditFunction", "ListFunction", "SearchFunction", "WatchUrlFunction"]);
    for (name, f) in template_functions(&staged()) {
        assert!(f.environment.keys().all(|k| !k.starts_with("FRAMELIFT_MEDIA_")), "{name}: a CDN without a key: {:?}", f.environment);
    }
}
