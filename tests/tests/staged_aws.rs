//! The AWS world staged on this machine, end to end: every function's real binary as Lambda runs it, with the
//! environment, memory and timeout `template.yaml` gives it; the stack's table, bucket and queues on moto; the bucket's
//! notification delivered to the transcoder as Lambda delivers it; API Gateway's payload-2.0 events for the
//! template's routes; every AWS call checked against the calling function's policies in the template.

use framelift_tests::api::Api;
use framelift_tests::staging::{Options, StagedWorld};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_real_clip_goes_through_the_staged_stack_and_every_call_is_allowed_by_the_template() {
    let started = Instant::now();
    let world = StagedWorld::start(Options::default()).await;
    let api = Api::new(&world.api);
    let token = world.token_for("Ada Lovelace");
    let clip = std::fs::read(framelift_testkit::real_clip("bikes-640x272.mp4")).unwrap();

    // Sign in, initialize, PUT the parts to moto's presigned URLs, complete.
    let id = api.upload(&clip, "Bikes on the staged stack", &token).await;
    let uploaded = started.elapsed();

    // The bucket's notification reaches the transcoder; the video becomes ready.
    let video = api.wait_settled(&id, &token, Duration::from_secs(60)).await;
    assert_eq!(video["status"], "ready", "{video}");
    let ready = started.elapsed();
    let sizes: Vec<(u64, u64)> =
        video["renditions"].as_array().unwrap().iter().map(|r| (r["width"].as_u64().unwrap(), r["height"].as_u64().unwrap())).collect();
    assert_eq!(sizes.last(), Some(&(640, 272)), "{video}");

    // List, detail (anonymous), search (the search function reads the hits with BatchGetItem).
    let (status, list) = api.call("GET", "/api/videos", None, None).await;
    assert_eq!(status, 200);
    assert!(list["videos"].as_array().unwrap().iter().any(|v| v["id"] == id.as_str()), "{list}");
    let (status, detail) = api.call("GET", &format!("/api/videos/{id}"), None, None).await;
    assert_eq!((status, detail["video"]["title"].as_str()), (200, Some("Bikes on the staged stack")));
    let (status, found) = api.call("GET", "/api/search?q=bikes", None, None).await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["videos"][0]["id"], id.as_str(), "{found}");
    assert!(world.calls.all().iter().any(|c| c.function == "SearchFunction" && c.auth.action == "dynamodb:BatchGetItem"));

    // Watch: ffmpeg plays the signed master playlist, whose segments come from moto through presigned URLs.
    let (status, watch) = api.call("GET", &format!("/api/videos/{id}/watch"), None, None).await;
    assert_eq!(status, 200, "{watch}");
    let hls = watch["hls"].as_str().unwrap();
    assert!(hls.starts_with(&world.api), "the playlist is served by the API: {hls}");
    let tools = framelift_media::Tools::locate().unwrap();
    let played = std::process::Command::new(tools.ffmpeg.as_path())
        .args(["-v", "error", "-protocol_whitelist", "http,tcp,file,crypto", "-i", hls, "-map", "0:v:0", "-f", "null", "-"])
        .output()
        .unwrap();
    assert!(played.status.success(), "ffmpeg could not play {hls}: {}", String::from_utf8_lossy(&played.stderr));
    let segment_reads = world.calls.all().iter().filter(|c| c.function == "WatchUrlFunction" && c.auth.resource.ends_with(".ts")).count();
    assert!(segment_reads > 0, "segments were read through the watch function's presigned URLs");

    // Delete removes every object, the record and the search document.
    let (status, _) = api.call("DELETE", &format!("/api/videos/{id}"), None, Some(&token)).await;
    assert_eq!(status, 204);
    assert_eq!(world.objects(&format!("uploads/{id}")).await, Vec::<String>::new());
    assert_eq!(world.objects(&format!("media/{id}")).await, Vec::<String>::new());
    assert_eq!(world.record(&id).await, None);
    assert!(!world.search.ids("framelift-videos").contains(&id));
    let (status, _) = api.call("GET", &format!("/api/videos/{id}"), None, None).await;
    assert_eq!(status, 404);

    // Every call each function made was allowed by its own policies, and each statement the flow relies on is needed.
    assert_eq!(world.refused_calls(), Vec::<String>::new());
    let calls = world.calls.all();
    let mut per_function: BTreeMap<&str, usize> = BTreeMap::new();
    for c in &calls {
        *per_function.entry(c.function.as_str()).or_default() += 1;
    }
    let mut needed = BTreeSet::new();
    for (name, f) in &world.functions {
        for (i, statement) in f.spec.statements.iter().enumerate() {
            let without: Vec<_> = f.spec.statements.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, s)| s.clone()).collect();
            let mine = calls.iter().filter(|c| c.function == *name);
            if mine.clone().any(|c| !framelift_tests::staging::iam::allows(&without, &c.auth)) {
                needed.insert(format!("{name}: {}", statement.source));
            }
        }
    }
    let statements: usize = world.functions.values().map(|f| f.spec.statements.len()).sum();
    println!(
        "staged flow: uploaded in {:.1} s, ready at {:.1} s, done at {:.1} s; {} AWS calls by {} functions, all allowed by the template: {per_function:?}; \
         {} of {statements} statements in use, each of them needed by a call the flow made",
        uploaded.as_secs_f64(),
        ready.as_secs_f64(),
        started.elapsed().as_secs_f64(),
        calls.len(),
        per_function.len(),
        needed.len()
    );
    for (name, f) in &world.functions {
        let c = &f.lambda.counts;
        println!(
            "  {name}: {} invocations, {} cold starts, {} errors",
            c.invocations.load(std::sync::atomic::Ordering::Relaxed),
            c.cold_starts.load(std::sync::atomic::Ordering::Relaxed),
            c.errors.load(std::sync::atomic::Ordering::Relaxed)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_deploy_smoke_test_passes_on_the_staged_stack() {
    let world = StagedWorld::start(Options::default()).await;
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf();
    let cli = framelift_tests::staging::target_dir().join("framelift");
    assert!(cli.is_file(), "the CLI is not built: run the whole suite (make test, or cargo test --workspace)");
    let token = world.token_for("Smoke Test");
    let api = world.api.clone();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("bash")
            .arg(repo.join("scripts/smoke.sh"))
            .arg(&api)
            .env("FRAMELIFT_TOKEN", token)
            .env("FRAMELIFT_CLI", cli)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said}{}", String::from_utf8_lossy(&out.stderr));
    assert!(said.contains("a real clip uploaded, ready in"), "{said}");
    println!("{}", said.trim());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_long_video_fans_out_through_the_queue_and_plays_from_the_start_before_it_is_ready() {
    let world = StagedWorld::start(Options::default()).await;
    let api = Api::new(&world.api);
    let token = world.token_for("Grace Hopper");
    // 2.5 minutes of a small picture with sound: three chunks and the audio.
    let dir = std::env::temp_dir().join(format!("staged-long-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&dir).unwrap();
    let tools = framelift_media::Tools::locate().unwrap();
    framelift_tests::clips::TestPattern::new(320, 180, 10, 150.0).write(&tools.ffmpeg, &dir.join("long.mp4"));
    let clip = std::fs::read(dir.join("long.mp4")).unwrap();
    let started = Instant::now();
    let id = api.upload(&clip, "A long lesson, staged", &token).await;

    // Watched while processing: the detail says how much plays, and watch answers with a playlist that starts at 0.
    let mut first_playable = None;
    let deadline = Instant::now() + Duration::from_secs(120);
    let video = loop {
        let (_, detail) = api.call("GET", &format!("/api/videos/{id}"), None, None).await;
        let v = detail["video"].clone();
        if v["status"] == "ready" {
            break v;
        }
        if first_playable.is_none() && v["playableSeconds"].as_f64().is_some_and(|s| s > 0.0) {
            assert_eq!(v["status"], "processing", "{v}");
            let (status, watch) = api.call("GET", &format!("/api/videos/{id}/watch"), None, None).await;
            assert_eq!(status, 200, "a stranger can watch what is encoded: {watch}");
            let master = reqwest::get(watch["hls"].as_str().unwrap()).await.unwrap().text().await.unwrap();
            let variant = master.lines().find(|l| l.starts_with("180p/")).expect("the 180p rendition").to_owned();
            let base = watch["hls"].as_str().unwrap().split("master.m3u8").next().unwrap().to_owned();
            let media = reqwest::get(format!("{base}{variant}")).await.unwrap().text().await.unwrap();
            assert!(media.contains("#EXT-X-PLAYLIST-TYPE:EVENT") && media.contains("#EXT-X-START:TIME-OFFSET=0"), "{media}");
            assert!(!media.contains("#EXT-X-ENDLIST"), "{media}");
            first_playable = Some((started.elapsed(), v["playableSeconds"].as_f64().unwrap(), v["progress"].as_f64()));
        }
        assert!(Instant::now() < deadline, "not ready after 120 s: {v}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let ready = started.elapsed();
    let (playable_at, playable_seconds, progress) = first_playable.expect("the start was playable before the end was encoded");
    assert!((60.0..150.0).contains(&playable_seconds), "the first chunk, not all: {playable_seconds}");
    assert!((video["durationSeconds"].as_f64().unwrap() - 150.0).abs() < 0.5, "{video}");
    assert_eq!(video["playableSeconds"], video["durationSeconds"]);

    // Four jobs, each taken from the queue and deleted once done; nothing dead-lettered; the queue's calls allowed.
    let jobs = world.wait_for_jobs(4, Duration::from_secs(10)).await;
    assert_eq!(jobs.len(), 4, "{jobs:?}");
    assert!(jobs.iter().all(|j| j.function == "EncodeFunction" && j.deleted && j.receive_count == 1), "{jobs:?}");
    assert_eq!(world.sqs.depth(&world.encode_dead_letters).await, 0);
    let calls = world.calls.all();
    let by = |f: &str, a: &str| calls.iter().filter(|c| c.function == f && c.auth.action == a).count();
    assert!(by("TranscodeFunction", "sqs:SendMessage") >= 1 && by("EncodeFunction", "sqs:ReceiveMessage") >= 4, "{calls:?}");
    assert_eq!(by("EncodeFunction", "sqs:DeleteMessage"), 4);
    assert_eq!(world.refused_calls(), Vec::<String>::new());
    println!(
        "staged fan-out: 150 s uploaded; the first {playable_seconds:.0} s playable at {:.1} s (progress {progress:?}), ready at {:.1} s; \
         4 jobs through SQS, none dead-lettered",
        playable_at.as_secs_f64(),
        ready.as_secs_f64()
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// Deployed as `scripts/deploy.sh` deploys by default: the signing key made in Secrets Manager by the deploy's own
/// script, the functions reading it with their roles, and every poster and segment URL a viewer is given served by
/// the distribution only as CloudFront would serve it: the key group's key, a policy for the video's folder alone,
/// expiring with the playback link.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn viewers_fetch_media_through_cloudfront_with_urls_signed_by_the_deploy_s_key() {
    let world = StagedWorld::start(Options { media_cdn: true, ..Options::default() }).await;
    let cdn = world.cdn.clone().expect("a distribution");
    let api = Api::new(&world.api);
    let token = world.token_for("Hedy Lamarr");
    let clip = std::fs::read(framelift_testkit::real_clip("bikes-640x272.mp4")).unwrap();
    let id = api.upload(&clip, "Bikes through the edge", &token).await;
    let video = api.wait_settled(&id, &token, Duration::from_secs(60)).await;
    assert_eq!(video["status"], "ready", "{video}");
    let prefix = format!("https://{}/media/{id}/", cdn.domain);

    // The poster, in the list and the detail, comes from the distribution and is the stored image.
    let (_, list) = api.call("GET", "/api/videos", None, None).await;
    let listed = list["videos"].as_array().unwrap().iter().find(|v| v["id"] == id.as_str()).expect("listed").clone();
    for poster in [listed["posterUrl"].as_str().unwrap(), video["posterUrl"].as_str().unwrap()] {
        assert!(poster.starts_with(&prefix) && poster.contains("Key-Pair-Id="), "{poster}");
        let image = cdn.get(poster).await.unwrap_or_else(|e| panic!("{poster}: {e:?}"));
        assert_eq!(&image[..2], &[0xff, 0xd8], "a JPEG");
    }

    // Watch: the playlists come from the API; every segment they list from the distribution, under one signature.
    let (status, watch) = api.call("GET", &format!("/api/videos/{id}/watch"), None, None).await;
    assert_eq!(status, 200, "{watch}");
    let hls = watch["hls"].as_str().unwrap();
    let master = reqwest::get(hls).await.unwrap().text().await.unwrap();
    let base = hls.split("master.m3u8").next().unwrap().to_owned();
    let variant = master.lines().find(|l| !l.starts_with('#') && !l.is_empty()).expect("a rendition").to_owned();
    let media = reqwest::get(format!("{base}{variant}")).await.unwrap().text().await.unwrap();
    let segments: Vec<&str> = media.lines().filter(|l| !l.starts_with('#') && !l.is_empty()).collect();
    assert!(!segments.is_empty(), "{media}");
    let queries: BTreeSet<&str> = segments.iter().map(|s| s.split_once('?').map_or("", |(_, q)| q)).collect();
    assert_eq!(queries.len(), 1, "one policy and signature for the whole video: {segments:?}");
    let mut played = Vec::new();
    for segment in &segments {
        assert!(segment.starts_with(&prefix), "{segment}");
        let bytes = cdn.get(segment).await.unwrap_or_else(|e| panic!("{segment}: {e:?}"));
        assert_eq!(bytes[0], 0x47, "an MPEG-TS segment");
        played.extend_from_slice(&bytes);
    }
    // The segments fetched through the edge decode to the whole video.
    let dir = framelift_tests::temp_dir("staged-cdn-play");
    std::fs::write(dir.join("played.ts"), &played).unwrap();
    let tools = framelift_media::Tools::locate().unwrap();
    let decoded = std::process::Command::new(tools.ffmpeg.as_path())
        .args(["-nostdin", "-xerror", "-i", "played.ts", "-map", "0:v:0", "-f", "null", "-"])
        .current_dir(&dir)
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&decoded.stderr);
    assert!(decoded.status.success(), "{log}");
    let time = log.rsplit("time=").next().and_then(|t| t.split_whitespace().next()).unwrap_or("");
    let seconds = time.split(':').fold(0.0, |acc, part| acc * 60.0 + part.parse::<f64>().unwrap_or(f64::NAN));
    let duration = video["durationSeconds"].as_f64().unwrap();
    assert!((seconds - duration).abs() < 1.0, "{seconds} s decoded through the edge of {duration} s: {time}");

    // Captions, stored by the edit function with its own role, reach viewers through the edge too; an edit makes the
    // video unlisted.
    let put = reqwest::Client::new()
        .put(format!("{}/api/videos/{id}/captions/en?label=English", world.api))
        .bearer_auth(&token)
        .header("content-type", "text/vtt")
        .body("WEBVTT\n\n00:00:01.000 --> 00:00:03.000\nBikes at dusk\n")
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200, "{}", put.text().await.unwrap());
    let (status, edited) =
        api.call("PATCH", &format!("/api/videos/{id}"), Some(serde_json::json!({"visibility": "unlisted"})), Some(&token)).await;
    assert_eq!((status, edited["video"]["visibility"].as_str()), (200, Some("unlisted")), "{edited}");
    let (_, watch) = api.call("GET", &format!("/api/videos/{id}/watch"), None, None).await;
    let hls = watch["hls"].as_str().unwrap();
    let master = reqwest::get(hls).await.unwrap().text().await.unwrap();
    let subs = master.lines().find(|l| l.contains("TYPE=SUBTITLES")).and_then(|l| l.split("URI=\"").nth(1)).expect("captions offered");
    let subs = subs.split('"').next().unwrap();
    let playlist = reqwest::get(format!("{}{subs}", hls.split("master.m3u8").next().unwrap())).await.unwrap().text().await.unwrap();
    let vtt_url = playlist.lines().find(|l| l.starts_with("https://")).expect("the captions file's URL");
    assert!(vtt_url.starts_with(&format!("{prefix}captions/en.vtt?")), "{vtt_url}");
    let vtt = cdn.get(vtt_url).await.unwrap_or_else(|e| panic!("{vtt_url}: {e:?}"));
    assert!(String::from_utf8_lossy(&vtt).contains("00:00:01.000 --> 00:00:03.000\nBikes at dusk"));

    // The policy: this video's folder until the link's expiry (an hour, the default).
    let query: BTreeMap<String, String> = url::Url::parse(segments[0]).unwrap().query_pairs().into_owned().collect();
    let policy = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        query["Policy"].replace('-', "+").replace('_', "=").replace('~', "/"),
    )
    .unwrap();
    let policy: serde_json::Value = serde_json::from_slice(&policy).unwrap();
    assert_eq!(policy["Statement"][0]["Resource"], format!("{prefix}*"));
    let expires = policy["Statement"][0]["Condition"]["DateLessThan"]["AWS:EpochTime"].as_i64().unwrap();
    let left = expires - time::OffsetDateTime::now_utc().unix_timestamp();
    assert!((3000..=3600).contains(&left), "expires in {left} s");

    // Another video's objects, a forged signature and a key outside the group are refused at the edge.
    let other = segments[0].replacen(&id, "01kother0000000000000000000", 1);
    assert!(cdn.get(&other).await.unwrap_err().0.contains("does not cover"), "{other}");
    let forged = segments[0].replace("Signature=", "Signature=AAAA");
    assert!(cdn.get(&forged).await.unwrap_err().0.contains("does not verify"));
    let stranger = segments[0].replace(&format!("Key-Pair-Id={}", cdn.key_pair_id), "Key-Pair-Id=KSTRANGER");
    assert!(cdn.get(&stranger).await.unwrap_err().0.contains("not in the trusted key group"));

    // The functions that sign read the key with their own roles; nobody read a segment from S3 with a function's URL.
    assert_eq!(world.refused_calls(), Vec::<String>::new());
    let calls = world.calls.all();
    let readers: BTreeSet<&str> =
        calls.iter().filter(|c| c.auth.action == "secretsmanager:GetSecretValue").map(|c| c.function.as_str()).collect();
    assert!(["WatchUrlFunction", "ListFunction", "EditFunction"].iter().all(|f| readers.contains(f)), "{readers:?}");
    assert!(calls.iter().all(|c| !(c.auth.action == "s3:GetObject" && c.auth.resource.ends_with(".ts"))), "segments read from S3 directly");
    println!(
        "staged CloudFront: {} segments ({} KiB) and the poster through the edge under one policy; the key read by {readers:?}",
        segments.len(),
        played.len() / 1024
    );
    std::fs::remove_dir_all(dir).unwrap();
}
