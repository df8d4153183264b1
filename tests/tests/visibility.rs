//! Privacy on the local stack, route by route: for a public, an unlisted and a private video, what its owner, a
//! stranger and an anonymous viewer get from every route that names or lists videos, and how an edit changes the
//! catalogue, search and playback links at once.

use framelift_devserver::{DevConfig, RunningServer};
use framelift_tests::api::Api;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;

/// The ids in a list or search answer.
fn ids(answer: &Value) -> Vec<String> {
    answer["videos"].as_array().map_or(vec![], |v| v.iter().filter_map(|v| v["id"].as_str().map(str::to_owned)).collect())
}

/// The status of a GET of `url` (a playlist: not JSON).
async fn status_of(url: &str) -> u16 {
    reqwest::get(url).await.expect("the server answers").status().as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_shows_each_visibility_to_whom_it_should() {
    let dir = framelift_tests::temp_dir("visibility");
    let server = RunningServer::start(DevConfig::for_tests(&dir)).await.unwrap();
    let api = Api::new(&server.url);
    let (alice, bob) = (api.token("Alice").await, api.token("Bob").await);
    let tools = framelift_media::Tools::locate().unwrap();
    framelift_tests::clips::TestPattern::new(320, 180, 10, 3.0).write(&tools.ffmpeg, &dir.join("clip.mp4"));
    let clip = std::fs::read(dir.join("clip.mp4")).unwrap();

    // Three videos: public by default, unlisted from the upload on, and one made private by an edit once ready.
    let public = api.upload(&clip, "Quokka public", &alice).await;
    let unlisted = api.upload_with(&clip, json!({"title": "Quokka unlisted", "visibility": "unlisted"}), &alice).await;
    let private = api.upload(&clip, "Quokka private", &alice).await;
    for id in [&public, &unlisted, &private] {
        assert_eq!(api.wait_settled(id, &alice, Duration::from_secs(60)).await["status"], "ready");
    }
    // Before the edit the third is public: listed, found, and a stranger holds a playback link to it.
    let (_, list) = api.call("GET", "/api/videos", None, None).await;
    assert!(ids(&list).contains(&private), "{list}");
    let (_, found) = api.call("GET", "/api/search?q=quokka", None, None).await;
    assert!(ids(&found).contains(&private), "{found}");
    let (_, strangers_watch) = api.call("GET", &format!("/api/videos/{private}/watch"), None, Some(&bob)).await;
    let strangers_link = strangers_watch["hls"].as_str().unwrap().to_owned();
    let (status, edited) = api.call("PATCH", &format!("/api/videos/{private}"), Some(json!({"visibility": "private"})), Some(&alice)).await;
    assert_eq!((status, edited["video"]["visibility"].as_str()), (200, Some("private")), "{edited}");
    // At once: gone from the catalogue's first page (served from the page cache a moment ago), from search, and the
    // stranger's link stops.
    let (_, list) = api.call("GET", "/api/videos", None, None).await;
    assert!(!ids(&list).contains(&private), "{list}");
    let (_, found) = api.call("GET", "/api/search?q=quokka", None, None).await;
    assert_eq!(ids(&found), std::slice::from_ref(&public), "{found}");
    assert_eq!(status_of(&strangers_link).await, 404, "a stranger's link to a video made private");

    // The matrix: (video, viewer) → what each route answers.
    let videos = [("public", &public), ("unlisted", &unlisted), ("private", &private)];
    let viewers = [("owner", Some(alice.as_str())), ("stranger", Some(bob.as_str())), ("anonymous", None)];
    let mut checked = 0;
    let mut table: BTreeMap<String, String> = BTreeMap::new();
    for (level, id) in videos {
        for (viewer, token) in viewers {
            let sees = viewer == "owner" || level != "private";
            let what = format!("{level} video, {viewer}");
            let mut row = Vec::new();
            let mut expect = |route: &str, got: String, want: &str| {
                assert_eq!(got, want, "{what}: {route}");
                row.push(format!("{route} {got}"));
                checked += 1;
            };
            let has = |answer: &Value| if ids(answer).contains(id) { "listed" } else { "absent" }.to_owned();
            // Catalogue and search: public videos only, whoever asks.
            let (_, list) = api.call("GET", "/api/videos", None, token).await;
            expect("list", has(&list), if level == "public" { "listed" } else { "absent" });
            let (_, found) = api.call("GET", "/api/search?q=quokka", None, token).await;
            expect("search", has(&found), if level == "public" { "listed" } else { "absent" });
            // My videos: the owner's, in every visibility.
            let (status, mine) = api.call("GET", "/api/videos?mine=true", None, token).await;
            let got = if status == 200 { has(&mine) } else { status.to_string() };
            expect(
                "mine",
                got,
                match viewer {
                    "owner" => "listed",
                    "stranger" => "absent",
                    _ => "401",
                },
            );
            // Detail, watch, and the playlists behind the watch link.
            let (status, detail) = api.call("GET", &format!("/api/videos/{id}"), None, token).await;
            expect("detail", status.to_string(), if sees { "200" } else { "404" });
            if sees {
                assert_eq!(detail["video"]["visibility"], level, "{what}");
            }
            let (status, watch) = api.call("GET", &format!("/api/videos/{id}/watch"), None, token).await;
            expect("watch", status.to_string(), if sees { "200" } else { "404" });
            if sees {
                expect("playlist", status_of(watch["hls"].as_str().unwrap()).await.to_string(), "200");
            }
            // Editing and deleting: the owner's alone; someone else's visible video is a 403, an invisible one a 404.
            // (The owner's delete comes last, below.)
            let refusal = match (viewer, sees) {
                ("owner", _) => "200",
                ("anonymous", _) => "401",
                (_, true) => "403",
                (_, false) => "404",
            };
            let change = json!({"description": format!("seen by {viewer}")});
            expect("edit", api.call("PATCH", &format!("/api/videos/{id}"), Some(change), token).await.0.to_string(), refusal);
            if viewer != "owner" {
                expect("delete", api.call("DELETE", &format!("/api/videos/{id}"), None, token).await.0.to_string(), refusal);
            }
            table.insert(what, row.join(", "));
        }
    }
    for (what, row) in &table {
        println!("{what}: {row}");
    }
    // Last: the owner deletes each.
    for (level, id) in videos {
        assert_eq!(api.call("DELETE", &format!("/api/videos/{id}"), None, Some(&alice)).await.0, 204, "{level}");
    }
    println!("visibility: {checked} route answers checked for 3 levels and 3 viewers, plus the edit's immediate effect");
    drop(server);
    let _ = std::fs::remove_dir_all(dir);
}
