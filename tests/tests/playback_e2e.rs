//! Playback from the private bucket, end to end on the local stack: the signed `hls` URL alone plays in ffmpeg; nothing
//! is reachable unsigned, tampered or expired; the ready video is found by search; delete removes it from everywhere.

use framelift_devserver::{DevConfig, RunningServer};
use framelift_shared::domain::{VideoId, VideoStatus};
use framelift_shared::signing::SigningKey;
use framelift_testkit::test_clip;
use framelift_tests::api::Api;
use framelift_tests::{temp_dir, wait_until_settled};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_signed_url_plays_and_nothing_plays_without_it() {
    let dir = temp_dir("playback");
    let server = RunningServer::start(DevConfig::for_tests(&dir)).await.unwrap();
    let api = Api::new(&server.url);
    let alice = api.token("Alice").await;
    let id: VideoId = api.upload(&std::fs::read(test_clip("one-second.mp4")).unwrap(), "Playground tour", &alice).await.parse().unwrap();
    let search = |q: &'static str| {
        let api = &api;
        async move {
            let (status, body) = api.call("GET", &format!("/api/search?q={q}"), None, None).await;
            assert_eq!(status, 200, "{body}");
            body["videos"].as_array().unwrap().iter().map(|v| v["id"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
        }
    };
    assert_eq!(search("playground").await, Vec::<String>::new(), "not searchable before it is ready");

    // Before it is ready: 409 for the owner, 404 for anyone else.
    let early = api.call("GET", &format!("/api/videos/{id}/watch"), None, Some(&alice)).await.0;
    assert!(early == 409 || early == 200, "{early}");
    assert_eq!(wait_until_settled(&server, &id).await.status, VideoStatus::Ready);
    assert_eq!(search("playgruond").await, [id.to_string()], "found with a typo once ready");
    assert_eq!(search("alcie").await, [id.to_string()], "and by its author");
    assert_eq!(search("tou").await, [id.to_string()], "and by a word being typed");

    let (status, watch) = api.call("GET", &format!("/api/videos/{id}/watch"), None, None).await;
    assert_eq!(status, 200, "{watch}");
    let hls = watch["hls"].as_str().unwrap().to_owned();
    assert!(hls.starts_with(&format!("{}/api/videos/{id}/hls/master.m3u8?expires=", server.url)), "{hls}");
    assert!(watch["posterUrl"].is_string() && watch["expiresAt"].is_string());

    // ffmpeg, given nothing but the URL, plays every rendition it leads to.
    let tools = framelift_media::Tools::locate().unwrap();
    let played = std::process::Command::new(&tools.ffmpeg)
        .args(["-hide_banner", "-loglevel", "error", "-i", &hls, "-map", "0", "-f", "null", "-"])
        .status()
        .unwrap();
    assert!(played.success(), "ffmpeg could not play {hls}");

    // The master names signed variant playlists; a variant names presigned segments.
    let master = api.http.get(&hls).send().await.unwrap();
    assert_eq!(master.headers()["content-type"], "application/vnd.apple.mpegurl");
    let master = master.text().await.unwrap();
    let variant_uri = master.lines().find(|l| l.starts_with("720p/index.m3u8?")).expect("a signed variant").to_owned();
    let base = hls.split("master.m3u8").next().unwrap();
    let variant = api.http.get(format!("{base}{variant_uri}")).send().await.unwrap().text().await.unwrap();
    let segment = variant.lines().find(|l| l.contains("seg_0000.ts")).expect("a segment").to_owned();
    assert!(segment.contains("X-Amz-Signature="), "{segment}");
    assert_eq!(api.http.get(&segment).send().await.unwrap().status(), 200);

    // Unsigned, tampered, borrowed for another path, or expired: refused.
    let status = |url: String| {
        let http = api.http.clone();
        async move { http.get(url).send().await.unwrap().status().as_u16() }
    };
    assert_eq!(status(segment.split('?').next().unwrap().to_owned()).await, 403, "an unsigned segment");
    assert_eq!(status(format!("{base}master.m3u8")).await, 403, "an unsigned playlist");
    let expires: i64 = hls.split("expires=").nth(1).unwrap().split('&').next().unwrap().parse().unwrap();
    assert_eq!(status(hls.replace(&format!("expires={expires}"), &format!("expires={}", expires + 3600))).await, 403, "a longer expiry");
    let sig = hls.split("sig=").nth(1).unwrap();
    assert_eq!(status(format!("{base}720p/index.m3u8?expires={expires}&sig={sig}")).await, 403, "the master's signature on a variant");
    let secret = std::fs::read_to_string(dir.join("signing-secret")).unwrap();
    let key = SigningKey::from_secret(secret.trim()).unwrap();
    let past = time::OffsetDateTime::now_utc().unix_timestamp() - 10;
    let old_sig = key.tag("playlist", &format!("{id}/master.m3u8|{past}"));
    assert_eq!(status(format!("{base}master.m3u8?expires={past}&sig={old_sig}")).await, 403, "an expired link");
    assert_eq!(status(format!("{base}../../x.m3u8?expires={expires}&sig={sig}")).await, 404);

    // Delete: only the owner; then the links issued before stop, and the video is gone from everywhere.
    assert_eq!(api.call("DELETE", &format!("/api/videos/{id}"), None, Some(&api.token("Bob").await)).await.0, 403);
    assert_eq!(api.call("DELETE", &format!("/api/videos/{id}"), None, Some(&alice)).await.0, 204);
    assert_eq!(status(hls.clone()).await, 404, "a watch link issued before stops working");
    assert_eq!(status(segment.clone()).await, 404, "the segments are gone");
    assert_eq!(api.call("GET", &format!("/api/videos/{id}"), None, Some(&alice)).await.0, 404);
    let (_, list) = api.call("GET", "/api/videos", None, None).await;
    assert!(list["videos"].as_array().unwrap().iter().all(|v| v["id"] != id.to_string()));
    let source = server.stack.s3_client().head_object().bucket(framelift_devserver::BUCKET).key(id.source_key().as_str()).send().await;
    assert!(source.is_err(), "the source is gone");
    assert_eq!(search("playground").await, Vec::<String>::new(), "the search entry is gone");
    assert_eq!(api.call("DELETE", &format!("/api/videos/{id}"), None, Some(&alice)).await.0, 404, "a repeat is harmless");

    server.stop().await.unwrap();
    std::fs::remove_dir_all(dir).unwrap();
}
