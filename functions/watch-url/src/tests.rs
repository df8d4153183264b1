use super::*;
use framelift_shared::domain::VideoStatus;
use framelift_testkit::{World, parts, request};
use time::macros::datetime;

async fn get(w: &World, path: &str, token: Option<&str>) -> (u16, serde_json::Value) {
    parts(handle(&w.state, request("GET", path, None, token)).await)
}

#[tokio::test]
async fn watch_needs_a_ready_video() {
    let w = World::default();
    let processing = w.video("Alice", VideoStatus::Processing, datetime!(2026-11-01 10:00:00 UTC)).await;
    assert_eq!(get(&w, &format!("/api/videos/{}/watch", processing.id), Some(&w.token("Alice"))).await.0, 409);
    assert_eq!(get(&w, &format!("/api/videos/{}/watch", processing.id), None).await.0, 404, "others do not see it at all");
    let ready = w.video("Alice", VideoStatus::Ready, datetime!(2026-11-01 10:00:00 UTC)).await;
    let (status, body) = get(&w, &format!("/api/videos/{}/watch", ready.id), None).await;
    assert_eq!(status, 200);
    let hls = body["hls"].as_str().unwrap();
    assert!(hls.contains(&format!("/api/videos/{}/hls/master.m3u8?expires=", ready.id)) && hls.contains("&sig="), "{hls}");
    assert!(body["posterUrl"].as_str().unwrap().contains("poster.jpg"));
}

#[tokio::test]
async fn playlists_need_a_valid_signature() {
    let w = World::default();
    let ready = w.video("Alice", VideoStatus::Ready, datetime!(2026-11-01 10:00:00 UTC)).await;
    let base = format!("/api/videos/{}/hls", ready.id);
    for q in ["", "?expires=9999999999", "?expires=9999999999&sig=AAAAAAAAAAAAAAAAAAAAAA", "?expires=x&sig=y"] {
        let (status, body) = get(&w, &format!("{base}/master.m3u8{q}"), None).await;
        assert_eq!(status, 403, "{q}");
        assert!(body["error"]["message"].as_str().unwrap().contains("ask for a new one"));
    }
}

#[test]
fn only_the_transcoders_paths_are_served() {
    for ok in ["master.m3u8", "720p/index.m3u8", "90p/index.m3u8"] {
        assert!(is_safe_playlist_path(ok), "{ok}");
    }
    for bad in ["../x.m3u8", "a/../../b.m3u8", "seg_0000.ts", "/etc/x.m3u8", "a//b.m3u8", "a b.m3u8", "%2e%2e/x.m3u8"] {
        assert!(!is_safe_playlist_path(bad), "{bad}");
    }
    assert_eq!(join("720p", "seg_0000.ts").as_deref(), Some("720p/seg_0000.ts"));
    assert_eq!(join("", "720p/index.m3u8").as_deref(), Some("720p/index.m3u8"));
    for bad in ["http://evil/x.ts", "/abs.ts", "../x.ts", "a?b", "a//b"] {
        assert_eq!(join("720p", bad), None, "{bad}");
    }
}

#[tokio::test]
async fn a_video_made_private_stops_every_link_but_its_owner_s() {
    use framelift_shared::domain::{Edit, Visibility};
    use framelift_shared::ports::MetadataStore;
    let w = World::default();
    let v = w.video("Alice", VideoStatus::Ready, datetime!(2026-11-01 10:00:00 UTC)).await;
    let master = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-STREAM-INF:BANDWIDTH=2700000,RESOLUTION=1280x720\n720p/index.m3u8\n";
    w.blobs.put_object(&format!("{}master.m3u8", v.id.media_prefix()), master.as_bytes().to_vec());
    let link = |body: serde_json::Value| {
        let hls = body["hls"].as_str().unwrap().to_owned();
        hls[hls.find("/api/").unwrap()..].to_owned()
    };
    let stranger = link(get(&w, &format!("/api/videos/{}/watch", v.id), Some(&w.token("Bob"))).await.1);
    let owner = link(get(&w, &format!("/api/videos/{}/watch", v.id), Some(&w.token("Alice"))).await.1);
    assert!(stranger.contains("grant=viewer") && owner.contains("grant=owner"), "{stranger} {owner}");
    for path in [&stranger, &owner] {
        let res = handle(&w.state, request("GET", path, None, None)).await;
        assert_eq!(res.status(), 200, "{path}");
        assert!(String::from_utf8_lossy(res.body().as_ref()).contains("grant="), "the variants carry the same grant");
    }
    // A viewer cannot promote a link to the owner's.
    let forged = stranger.replace("grant=viewer", "grant=owner");
    assert_eq!(get(&w, &forged, None).await.0, 403);

    let current = w.meta.get(&v.id).await.unwrap().unwrap();
    w.meta.replace(&current.edited(Edit { visibility: Some(Visibility::Private), ..Default::default() })).await.unwrap();
    assert_eq!(get(&w, &stranger, None).await.0, 404, "the stranger's link stops at once");
    assert_eq!(handle(&w.state, request("GET", &owner, None, None)).await.status(), 200, "the owner's goes on");
    assert_eq!(get(&w, &format!("/api/videos/{}/watch", v.id), Some(&w.token("Bob"))).await.0, 404);
}
