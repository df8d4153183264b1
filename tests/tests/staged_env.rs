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
