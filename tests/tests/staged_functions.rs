//! Every function's real binary under cargo-lambda's Lambda runtime emulator, with the environment and memory size
//! `template.yaml` gives it (resolved against staged resources) and moto standing in for DynamoDB, the template's table
//! made from the template's own properties. Each answers its sample events from `events/` as it would on Lambda in an
//! empty deployment: the catalogue reads the table through its indexes, every signed-in route refuses the sample's
//! placeholder token, the transcoder's schedule and failure-record samples sweep and find nothing to do, and the
//! encode worker's queued job is done (nothing to encode for a video that is not there) and not reported failed.
//!
//! This is the emulator the project did not write, on the samples; the whole flow, IAM and failures run on the staged
//! world's own Lambda stand-in (`staging::lambda` says why), in `staged_aws.rs` and `staged_failures.rs`.

use framelift_tests::moto_endpoint;
use framelift_tests::staging::{Stack, StagedFunction, create_resources, target_dir, template_functions};
use serde_json::{Value, json};
use std::path::Path;

/// What each sample answers in an empty deployment: (file, status), or `None` for an event that is not HTTP.
const EXPECTED: [(&str, Option<u16>); 14] = [
    ("abort.delete-uploads-one.json", Some(401)),
    ("complete.post-complete.json", Some(401)),
    ("delete.delete-videos-one.json", Some(401)),
    ("initialize.post-uploads.json", Some(401)),
    ("list.get-videos.json", Some(200)),
    ("list.get-videos-one.json", Some(404)),
    ("part-url.get-parts.json", Some(401)),
    ("part-url.post-part-urls.json", Some(401)),
    ("watch-url.get-watch.json", Some(404)),
    ("watch-url.get-hls.json", Some(403)),
    ("transcode.object-created.json", None),
    ("transcode.redrive.json", None),
    ("transcode.schedule.json", None),
    ("encode.sqs-job.json", None),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_function_answers_under_a_lambda_runtime_with_the_templates_environment() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let values = Stack::new().values(&json!({}));
    let moto = moto_endpoint();
    create_resources(&values, moto);
    let functions = template_functions(&values);

    // The binaries, built for this machine by `cargo test --workspace` (each function's cold-start test needs its own).
    for f in functions.values() {
        assert!(
            target_dir().join(&f.binary).is_file(),
            "{} is not built: run the whole suite (make test, or cargo test --workspace)",
            f.binary
        );
    }

    // What stands in for AWS: moto's endpoint and credentials, the bundled ffmpeg as the layer's /opt/bin.
    let ffmpeg = framelift_media::Tools::locate().unwrap().ffmpeg.as_path().parent().unwrap().display().to_string();
    let staging = [
        ("FRAMELIFT_DYNAMODB_ENDPOINT", moto.to_owned()),
        ("FRAMELIFT_S3_ENDPOINT", moto.to_owned()),
        ("FRAMELIFT_FFMPEG_DIR", ffmpeg),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_ACCESS_KEY_ID", "staging".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "staging".to_owned()),
    ];
    let started: Vec<(String, StagedFunction)> = functions
        .iter()
        .filter(|(_, f)| f.binary != "framelift-search")
        .map(|(name, f)| (f.binary.trim_start_matches("framelift-").to_owned(), StagedFunction::start(name, f, &staging)))
        .collect();

    let mut answered = 0;
    for (file, expected) in EXPECTED {
        let prefix = file.split('.').next().unwrap();
        let (_, function) = started.iter().find(|(p, _)| p == prefix).unwrap_or_else(|| panic!("no function for {file}"));
        let event: Value = serde_json::from_str(&std::fs::read_to_string(repo.join("events").join(file)).unwrap()).unwrap();
        let answer = function.invoke(&event).await;
        match expected {
            Some(status) => {
                assert_eq!(answer["statusCode"].as_u64(), Some(u64::from(status)), "{file}: {answer}");
                if file == "list.get-videos.json" {
                    let body: Value = serde_json::from_str(answer["body"].as_str().unwrap()).unwrap();
                    assert_eq!(body["videos"], json!([]), "{file}: {body}");
                }
            }
            // The transcoder succeeds with nothing to do (a function error would be a failed invocation); the worker
            // reports no job of its batch failed.
            None if prefix == "encode" => assert_eq!(answer, json!({"batchItemFailures": []}), "{file}: {answer}"),
            None => assert!(answer.is_null(), "{file}: {answer}"),
        }
        answered += 1;
    }
    println!(
        "{} functions started from template.yaml under cargo-lambda's runtime emulator; {answered} sample events answered as on Lambda",
        started.len()
    );
}
