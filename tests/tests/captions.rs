//! Captions on the local stack: an SRT file uploaded by the owner becomes a subtitles rendition of the master playlist
//! that ffmpeg's HLS reader (as a player) finds and decodes at the right times; deleting the video deletes it.

use framelift_devserver::{DevConfig, RunningServer};
use framelift_tests::api::Api;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn srt_captions_play_as_a_subtitles_rendition_and_go_with_the_video() {
    let dir = framelift_tests::temp_dir("captions");
    let server = RunningServer::start(DevConfig::for_tests(&dir)).await.unwrap();
    let api = Api::new(&server.url);
    let alice = api.token("Alice").await;
    let tools = framelift_media::Tools::locate().unwrap();
    framelift_tests::clips::TestPattern::new(320, 180, 10, 20.0).write(&tools.ffmpeg, &dir.join("clip.mp4"));
    let id = api.upload(&std::fs::read(dir.join("clip.mp4")).unwrap(), "Captioned", &alice).await;
    assert_eq!(api.wait_settled(&id, &alice, Duration::from_secs(60)).await["status"], "ready");

    let srt = "1\r\n00:00:02,000 --> 00:00:04,000\r\nFirst words\r\n\r\n2\r\n00:00:12,500 --> 00:00:15,000\r\nLater words\r\n";
    let http = reqwest::Client::new();
    let put = http
        .put(format!("{}/api/videos/{id}/captions/de?label=Deutsch", server.url))
        .bearer_auth(&alice)
        .header("content-type", "application/x-subrip")
        .body(srt)
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
    let (_, detail) = api.call("GET", &format!("/api/videos/{id}"), None, None).await;
    assert_eq!(detail["video"]["captions"], serde_json::json!([{"language": "de", "label": "Deutsch"}]));

    // The master playlist offers it to every variant; its playlist leads to the WebVTT.
    let (_, watch) = api.call("GET", &format!("/api/videos/{id}/watch"), None, None).await;
    let hls = watch["hls"].as_str().unwrap();
    let master = reqwest::get(hls).await.unwrap().text().await.unwrap();
    assert!(master.contains(r#"TYPE=SUBTITLES,URI="captions/de.m3u8?"#) && master.contains(r#"LANGUAGE="de",NAME="Deutsch""#), "{master}");
    let variants = master.lines().filter(|l| l.starts_with("#EXT-X-STREAM-INF")).count();
    assert_eq!(master.matches(r#"SUBTITLES="subs""#).count(), variants, "{master}");

    // ffmpeg, reading the master playlist as a player does, lists the subtitles stream with its language and name.
    // (It does not apply WebVTT's X-TIMESTAMP-MAP, so the cues' timing is checked in Chromium with hls.js instead:
    // web/e2e/run.mjs.)
    let probe = std::process::Command::new(tools.ffmpeg.as_path())
        .args(["-hide_banner", "-protocol_whitelist", "http,tcp,file,crypto,data", "-i", hls])
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&probe.stderr);
    let stream = listing.lines().skip_while(|l| !l.contains("(de): Subtitle: webvtt")).take(4).collect::<Vec<_>>().join("\n");
    assert!(stream.contains("comment         : Deutsch"), "{listing}");
    // Deleting the video deletes its captions.
    let captions_playlist =
        reqwest::get(format!("{}captions/de.m3u8?{}", hls.split("master.m3u8").next().unwrap(), hls.split_once('?').unwrap().1))
            .await
            .unwrap();
    assert_eq!(captions_playlist.status(), 403, "a captions playlist is signed for its own path");
    let sub = master
        .lines()
        .filter(|l| l.contains("TYPE=SUBTITLES"))
        .find_map(|l| l.split("URI=\"").nth(1))
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let base = hls.split("master.m3u8").next().unwrap();
    let sub_playlist = reqwest::get(format!("{base}{sub}")).await.unwrap().text().await.unwrap();
    let vtt_url = sub_playlist.lines().find(|l| l.starts_with("http")).unwrap().to_owned();
    assert!(
        sub_playlist.contains("#EXTINF:20.000,") && sub_playlist.contains("#EXT-X-ENDLIST"),
        "one segment as long as the video: {sub_playlist}"
    );
    let vtt = reqwest::get(&vtt_url).await.unwrap();
    assert_eq!(vtt.status(), 200);
    let vtt = vtt.text().await.unwrap();
    assert!(vtt.starts_with("WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:1026000,LOCAL:00:00:00.000\n"), "{vtt}");
    assert!(vtt.contains("00:00:12.500 --> 00:00:15.000\nLater words"), "{vtt}");
    assert_eq!(api.call("DELETE", &format!("/api/videos/{id}"), None, Some(&alice)).await.0, 204);
    assert_eq!(reqwest::get(&vtt_url).await.unwrap().status(), 404, "the captions file went with the video");
    drop(server);
    let _ = std::fs::remove_dir_all(dir);
}
