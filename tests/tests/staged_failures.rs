//! Failures as AWS delivers them, on the staged world: a policy the template lacks, an encode stopped at its timeout
//! and delivered again by the queue, events delivered twice and late, a delete during planning, events that fail every
//! retry, kept in the failure queue and redriven with `make redrive`'s script, and the sweep finding a lost upload.

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
async fn an_encode_stopped_at_its_timeout_comes_back_from_the_queue_and_the_next_delivery_finishes_it() {
    // Time compressed: a 20 s timeout and a 3 s visibility timeout; the worker's first look at the source hangs past it.
    let world = StagedWorld::start(Options {
        timeouts: vec![("EncodeFunction".into(), Duration::from_secs(20))],
        visibility_timeouts: vec![("EncodeJobs".into(), Duration::from_secs(3))],
        stalls: vec![Stall {
            function: "EncodeFunction".into(),
            action: "s3:GetObject".into(),
            resource: "/uploads/".into(),
            delay: Duration::from_secs(60),
            times: 1,
        }],
        ..Options::default()
    })
    .await;
    // What an earlier worker killed in this sandbox left in its /tmp.
    let encode = &world.functions["EncodeFunction"].lambda;
    let leftover = encode.tmp.join("framelift-01OLDATTEMPT0000000000000000-chunk-0-01OLDATTEMPT0000000000000000");
    std::fs::create_dir_all(leftover.join("720p")).unwrap();
    std::fs::write(leftover.join("720p/seg_0000.ts"), vec![0u8; 1 << 20]).unwrap();
    let started = Instant::now();
    let (api, token, id) = upload(&world, "Bikes after a timeout").await;
    let v = api.wait_settled(&id, &token, Duration::from_secs(90)).await;
    assert_eq!(v["status"], "ready", "{v}");
    assert_eq!(encode.counts.timeouts.load(std::sync::atomic::Ordering::Relaxed), 1, "the first delivery ran out of time");
    let jobs = world.wait_for_jobs(2, Duration::from_secs(10)).await;
    let seen: Vec<(u32, bool)> = jobs.iter().map(|j| (j.receive_count, j.deleted)).collect();
    assert_eq!(seen, [(1, false), (2, true)], "kept in the queue after the timeout, deleted once done");
    assert_eq!(count(&encode.log(), "part encoded"), 1);
    let left: Vec<_> = std::fs::read_dir(&encode.tmp).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, Vec::<std::ffi::OsString>::new(), "each invocation starts with a clean /tmp, and leaves one");
    assert_eq!(world.sqs.depth(&world.encode_dead_letters).await, 0);
    println!(
        "timeout: the first delivery stopped at 20 s, the job came back from the queue and the video was ready at {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn duplicate_and_late_events_do_the_work_once_and_a_delete_during_planning_leaves_nothing() {
    // The planner's first store (the master playlist) hangs for 4 s: long enough to delete the video meanwhile.
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
    let (api, token, deleted) = upload(&world, "Bikes deleted while planned").await;
    let stalled = Instant::now() + Duration::from_secs(30);
    while !world.calls.all().iter().any(|c| c.function == "TranscodeFunction" && c.auth.action == "s3:PutObject") {
        assert!(Instant::now() < stalled, "the planner never stored anything");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (status, _) = api.call("DELETE", &format!("/api/videos/{deleted}"), None, Some(&token)).await;
    assert_eq!(status, 204);
    world.wait_for_deliveries(2, Duration::from_secs(60)).await;
    assert_eq!(world.objects(&format!("media/{deleted}")).await, Vec::<String>::new(), "a playlist stored after the delete");
    assert_eq!(world.objects(&format!("uploads/{deleted}")).await, Vec::<String>::new());
    assert_eq!(world.record(&deleted).await, None);
    assert!(!world.search.ids("framelift-videos").contains(&deleted), "its search document came back");

    // Another video, whose events then come again, and late: the work is done once.
    let (_, _, id) = upload(&world, "Bikes delivered twice").await;
    let first = world.wait_for_deliveries(4, Duration::from_secs(60)).await;
    assert_eq!(api.wait_settled(&id, &token, Duration::from_secs(60)).await["status"], "ready");
    let events: Vec<Value> = first.iter().filter(|(_, e, _)| e.to_string().contains(&id)).map(|(_, e, _)| e.clone()).collect();
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
    tokio::time::sleep(Duration::from_secs(2)).await;
    let plans = world.functions["TranscodeFunction"].lambda.log();
    assert_eq!(count(&plans, "\"message\":\"planned\""), 1, "planned once: {plans}");
    assert_eq!(count(&world.functions["EncodeFunction"].lambda.log(), "part encoded"), 1, "one part encoded, whatever the deliveries");
    assert_eq!(world.record(&deleted).await, None, "a late event brought the deleted video back");
    assert_eq!(world.objects(&format!("media/{deleted}")).await, Vec::<String>::new());
    println!(
        "{} events delivered ({} repeated, {} late for a deleted video): 1 plan, 1 part encoded; the delete during planning left no object, record or document",
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
    assert_eq!(api.wait_settled(&id, &token, Duration::from_secs(60)).await["status"], "ready");
    println!("sweep: the scheduled event made the upload whose notification was lost ready");
}
