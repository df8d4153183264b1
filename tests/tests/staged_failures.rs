//! Failures as AWS delivers them, on the staged world: a policy the template lacks, a transcode stopped at its timeout,
//! events delivered twice and late, a delete during a transcode, and events that fail every retry, kept in the
//! failure queue and redriven with `make redrive`'s script.

use framelift_tests::api::Api;
use framelift_tests::staging::endpoints::Stall;
use framelift_tests::staging::{Options, StagedWorld};
use serde_json::Value;
use std::time::{Duration, Instant};

/// Uploads a real clip through the API; returns the video id.
async fn upload(world: &StagedWorld, title: &str) -> (Api, String, String) {
    let api = Api::new(&world.api);
    let token = world.token_for("Grace Hopper");
    let clip = std::fs::read(framelift_testkit::real_clip("bikes-640x272.mp4")).unwrap();
    let id = api.upload(&clip, title, &token).await;
    (api, token, id)
}

/// The video's record as the owner sees it.
async fn video(api: &Api, id: &str, token: &str) -> (u16, Value) {
    let (status, body) = api.call("GET", &format!("/api/videos/{id}"), None, Some(token)).await;
    (status, body["video"].clone())
}

fn count(log: &str, needle: &str) -> usize {
    log.matches(needle).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_permission_taken_out_of_the_template_is_a_refused_call_and_a_failed_search() {
    // The review's finding: search reads its hits with BatchGetItem, which no policy granted.
    let template = std::fs::read_to_string(framelift_tests::staging::template()).unwrap();
    let line = "Action: [dynamodb:GetItem, dynamodb:BatchGetItem, dynamodb:Query]";
    assert!(template.contains(line), "ReadCataloguePolicy's statement moved: update this test");
    let altered = framelift_tests::temp_dir("altered-template").join("template.yaml");
    std::fs::write(&altered, template.replace(line, "Action: [dynamodb:GetItem, dynamodb:Query]")).unwrap();

    let world = StagedWorld::start(Options { template: Some(altered), ..Options::default() }).await;
    let (api, token, id) = upload(&world, "Bikes without BatchGetItem").await;
    assert_eq!(api.wait_settled(&id, &token, Duration::from_secs(60)).await["status"], "ready");
    let (status, body) = api.call("GET", "/api/search?q=bikes", None, None).await;
    assert_eq!(status, 500, "{body}");
    let refused = world.refused_calls();
    assert!(refused.iter().any(|c| c.starts_with("SearchFunction: dynamodb:BatchGetItem on arn:aws:dynamodb:")), "{refused:?}");
    println!("without dynamodb:BatchGetItem: search answered {status}; refused: {refused:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_transcode_stopped_at_its_timeout_is_retried_and_the_retry_finishes_it() {
    // Time compressed: a 20 s timeout and a 4 s lease; the first read of the source hangs past the timeout.
    let world = StagedWorld::start(Options {
        timeouts: vec![("TranscodeFunction".into(), Duration::from_secs(20))],
        env: vec![("TranscodeFunction".into(), "FRAMELIFT_TRANSCODE_LEASE_SECONDS".into(), "4".into())],
        stalls: vec![Stall {
            function: "TranscodeFunction".into(),
            action: "s3:GetObject".into(),
            resource: "/uploads/".into(),
            delay: Duration::from_secs(60),
            times: 1,
        }],
        ..Options::default()
    })
    .await;
    // What an earlier attempt killed in this sandbox left in its /tmp.
    let transcode = &world.functions["TranscodeFunction"].lambda;
    let leftover = transcode.tmp.join("framelift-01OLDATTEMPT0000000000000000");
    std::fs::create_dir_all(&leftover).unwrap();
    std::fs::write(leftover.join("source"), vec![0u8; 1 << 20]).unwrap();
    let started = Instant::now();
    let (api, token, id) = upload(&world, "Bikes after a timeout").await;
    let v = api.wait_settled(&id, &token, Duration::from_secs(90)).await;
    assert_eq!(v["status"], "ready", "{v}");
    let timeouts = transcode.counts.timeouts.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(timeouts, 1, "the first attempt ran out of time");
    // S3 sends two events for the upload here (moto's Put and CompleteMultipartUpload): all of them settle, one encode.
    let deliveries = world.wait_for_deliveries(2, Duration::from_secs(60)).await;
    assert!(deliveries.iter().all(|(_, _, d)| d.succeeded), "{deliveries:?}");
    let log = transcode.log();
    assert_eq!(count(&log, "\"outcome\":\"Ready\""), 1, "{log}");
    let left: Vec<_> = std::fs::read_dir(&transcode.tmp).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, Vec::<std::ffi::OsString>::new(), "each attempt starts with a clean /tmp, and leaves one");
    println!(
        "timeout: attempt 1 stopped at 20 s, the retry waited for its lease and made the video ready at {:.1} s; deliveries: {:?}",
        started.elapsed().as_secs_f64(),
        deliveries.iter().map(|(_, _, d)| (d.attempts, d.succeeded)).collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn duplicate_and_late_events_do_the_work_once_and_a_delete_during_a_transcode_leaves_nothing() {
    // The transcoder's first upload of a rendition hangs for 4 s: long enough to delete the video meanwhile.
    let world = StagedWorld::start(Options {
        stalls: vec![Stall {
            function: "TranscodeFunction".into(),
            action: "s3:PutObject".into(),
            resource: "/media/".into(),
            delay: Duration::from_secs(4),
            times: 1,
        }],
        ..Options::default()
    })
    .await;
    let (api, token, deleted) = upload(&world, "Bikes deleted while transcoding").await;
    let stalled = Instant::now() + Duration::from_secs(30);
    while !world.calls.all().iter().any(|c| c.function == "TranscodeFunction" && c.auth.action == "s3:PutObject") {
        assert!(Instant::now() < stalled, "the transcoder never published");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (status, _) = api.call("DELETE", &format!("/api/videos/{deleted}"), None, Some(&token)).await;
    assert_eq!(status, 204);
    world.wait_for_deliveries(2, Duration::from_secs(60)).await;
    assert_eq!(world.objects(&format!("media/{deleted}")).await, Vec::<String>::new(), "renditions published after the delete");
    assert_eq!(world.objects(&format!("uploads/{deleted}")).await, Vec::<String>::new());
    assert_eq!(world.record(&deleted).await, None);
    assert!(!world.search.ids("framelift-videos").contains(&deleted), "its search document came back");

    // Another video, whose events then come again, and late: the work is done once.
    let (_, _, id) = upload(&world, "Bikes delivered twice").await;
    let first = world.wait_for_deliveries(4, Duration::from_secs(60)).await;
    assert_eq!(video(&api, &id, &token).await.1["status"], "ready");
    let events: Vec<Value> = first.iter().filter(|(_, e, _)| e.to_string().contains(&id)).map(|(_, e, _)| e.clone()).collect();
    let log_before = world.functions["TranscodeFunction"].lambda.log();
    for event in events.iter().rev().chain(events.iter()) {
        world.deliver("TranscodeFunction", event.clone());
    }
    // And the deleted video's events, late.
    let late: Vec<Value> = first.iter().filter(|(_, e, _)| e.to_string().contains(&deleted)).map(|(_, e, _)| e.clone()).collect();
    for event in &late {
        world.deliver("TranscodeFunction", event.clone());
    }
    let all = world.wait_for_deliveries(4 + 2 * events.len() + late.len(), Duration::from_secs(60)).await;
    assert!(all.iter().all(|(_, _, d)| d.succeeded), "{all:?}");
    let log = world.functions["TranscodeFunction"].lambda.log();
    let new = &log[log_before.len()..];
    assert_eq!(count(new, "ladder encoded"), 0, "a repeated event encoded again: {new}");
    assert_eq!(world.record(&deleted).await, None, "a late event brought the deleted video back");
    assert_eq!(world.objects(&format!("media/{deleted}")).await, Vec::<String>::new());
    assert_eq!(count(&log, "ladder encoded"), 2, "one encode per video, whatever the deliveries");
    println!(
        "{} events delivered ({} repeated, {} late for a deleted video): 2 encodes; the delete during a transcode left no object, record or document",
        all.len(),
        2 * events.len(),
        late.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn events_that_fail_every_retry_wait_in_the_failure_queue_until_make_redrive_hands_them_back() {
    // The transcoder cannot start: its ffmpeg layer is missing.
    let world = StagedWorld::start(Options {
        env: vec![("TranscodeFunction".into(), "FRAMELIFT_FFMPEG_DIR".into(), "/opt/missing-layer/bin".into())],
        ..Options::default()
    })
    .await;
    let (api, token, id) = upload(&world, "Bikes redriven").await;
    let failed = world.wait_for_deliveries(2, Duration::from_secs(60)).await;
    for (_, _, d) in &failed {
        assert!(!d.succeeded && d.attempts == 3, "one attempt and two retries, as the template says: {d:?}");
    }
    assert_eq!(world.sqs.depth(&world.failure_queue).await, 2, "both events are in the failure queue");
    assert_eq!(video(&api, &id, &token).await.1["status"], "processing", "nothing blamed the file");

    // The cause fixed (the layer back), `make redrive`'s script hands the records back.
    let layer = framelift_media::Tools::locate().unwrap().ffmpeg.as_path().parent().unwrap().display().to_string();
    world.functions["TranscodeFunction"].lambda.set_env("FRAMELIFT_FFMPEG_DIR", &layer);
    let python = std::env::var("FRAMELIFT_SAM_PYTHON").unwrap_or_else(|_| "python3".into());
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let out = std::process::Command::new(python)
        .arg(repo.join("scripts/redrive.py"))
        .env("FRAMELIFT_FAILURE_QUEUE_URL", &world.failure_queue)
        .env("FRAMELIFT_TRANSCODE_FUNCTION", "TranscodeFunction")
        .env("AWS_ENDPOINT_URL_SQS", &world.moto)
        .env("AWS_ENDPOINT_URL_LAMBDA", &world.lambda_api)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "operator")
        .env("AWS_SECRET_ACCESS_KEY", "operator")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{said}{}", String::from_utf8_lossy(&out.stderr));
    assert!(said.contains("redrive: 2 failed event(s) handed back to TranscodeFunction"), "{said}");
    assert!(said.contains("RetriesExhausted after 3 attempts"), "{said}");
    let v = api.wait_settled(&id, &token, Duration::from_secs(60)).await;
    assert_eq!(v["status"], "ready", "{v}");
    world.wait_for_deliveries(4, Duration::from_secs(60)).await;
    assert_eq!(world.sqs.depth(&world.failure_queue).await, 0);
    println!("failure queue: 2 events after 3 attempts each; redriven: {}", said.trim().replace('\n', " | "));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_scheduled_sweep_takes_over_an_upload_whose_event_never_came() {
    let world = StagedWorld::start(Options { lose_notifications: true, ..Options::default() }).await;
    let (api, token, id) = upload(&world, "Bikes found by the sweep").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(video(&api, &id, &token).await.1["status"], "processing", "no event came");
    // EventBridge's rule fires (every 5 minutes on AWS).
    world.fire_schedule("Sweep");
    let deliveries = world.wait_for_deliveries(1, Duration::from_secs(60)).await;
    assert!(deliveries[0].2.succeeded, "{deliveries:?}");
    assert_eq!(video(&api, &id, &token).await.1["status"], "ready");
    println!("sweep: the scheduled event made the upload whose notification was lost ready");
}
