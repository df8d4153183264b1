//! The OpenAPI document against the code: it names exactly the routes of the route table, `docs/openapi.json` is the
//! document the dev server serves (`FRAMELIFT_WRITE_OPENAPI=1 cargo test -p framelift-tests --test openapi` rewrites
//! it), and schemathesis, run against the dev server with data in it, finds no server error and no answer outside it.

use framelift_devserver::{DevConfig, RunningServer};
use framelift_shared::routes::ROUTES;
use framelift_tests::api::Api;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

fn document() -> &'static Value {
    framelift_devserver::openapi::document()
}

/// `(METHOD, path)` of every operation in the document.
fn operations(doc: &Value) -> BTreeSet<(String, String)> {
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().unwrap().keys() {
            ops.insert((method.to_uppercase(), path.clone()));
        }
    }
    ops
}

#[test]
fn the_document_has_one_operation_per_route_of_the_route_table() {
    let doc = document();
    assert_eq!(doc["openapi"], "3.1.0");
    // OpenAPI has no `{path+}` (the rest of the path); the document names it as one segment.
    let routes: BTreeSet<(String, String)> = ROUTES.iter().map(|r| (r.method.to_owned(), r.path.replace("+}", "}"))).collect();
    assert_eq!(routes.len(), ROUTES.len());
    assert_eq!(operations(doc), routes);
}

#[test]
fn every_operation_says_who_may_call_it_and_how_it_fails() {
    let doc = document();
    let scheme = &doc["components"]["securitySchemes"]["bearer"];
    assert_eq!((scheme["type"].as_str(), scheme["scheme"].as_str()), (Some("http"), Some("bearer")), "{scheme}");
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let name = format!("{} {path}", method.to_uppercase());
            let responses = op["responses"].as_object().unwrap_or_else(|| panic!("{name} has no responses"));
            assert!(responses.keys().any(|s| s.starts_with('2')), "{name} documents no success");
            // Every path parameter is declared, and an id that cannot exist is a 404.
            for param in path.split('/').filter_map(|s| s.strip_prefix('{')?.strip_suffix('}')) {
                let declared = op["parameters"].as_array().is_some_and(|ps| ps.iter().any(|p| p["name"] == param && p["in"] == "path"));
                assert!(declared, "{name} does not declare its path parameter {param}");
                assert!(responses.contains_key("404"), "{name} does not document 404");
            }
            // The reading routes take a token or none; the others need one, and say so with a 401.
            let security = op["security"].as_array().unwrap_or_else(|| panic!("{name} names no security"));
            let anonymous = security.iter().any(|s| s.as_object().is_some_and(|o| o.is_empty()));
            let by_token = security.iter().any(|s| s.get("bearer").is_some());
            // Playlists are reached by signed links, which carry no token.
            let signed_link = path.contains("/hls/");
            assert_eq!(by_token, !signed_link, "{name}: a token is for every route but the signed links");
            let reading = method == "get" && !path.starts_with("/api/uploads");
            assert_eq!(anonymous, reading, "{name}: only the reading routes may be called without a token");
            if by_token {
                assert!(responses.contains_key("401"), "{name} does not document 401");
            }
            for (status, response) in responses.iter().filter(|(s, _)| s.starts_with('4')) {
                let reference = response["$ref"].as_str().unwrap_or_else(|| panic!("{name} {status} is not the shared error shape"));
                assert!(doc.pointer(&reference[1..]).is_some(), "{name} {status}: {reference} is not in the document");
            }
        }
    }
}

/// Every `$ref` in `value`.
fn references(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            found.extend(map.get("$ref").and_then(Value::as_str).map(str::to_owned));
            map.values().for_each(|v| references(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| references(v, found)),
        _ => {}
    }
}

#[test]
fn every_reference_leads_somewhere() {
    let mut found = Vec::new();
    references(document(), &mut found);
    assert!(found.len() > 50, "{found:?}");
    for reference in found {
        assert!(document().pointer(&reference[1..]).is_some(), "{reference} is not in the document");
    }
}

#[test]
fn docs_openapi_json_is_the_document_the_dev_server_serves() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/openapi.json");
    let text = serde_json::to_string_pretty(document()).unwrap() + "\n";
    if std::env::var_os("FRAMELIFT_WRITE_OPENAPI").is_some() {
        std::fs::write(&path, &text).unwrap();
    }
    let on_disk =
        std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("{} is missing: run with FRAMELIFT_WRITE_OPENAPI=1", path.display()));
    assert_eq!(
        serde_json::from_str::<Value>(&on_disk).unwrap(),
        *document(),
        "docs/openapi.json drifted from the code: run with FRAMELIFT_WRITE_OPENAPI=1 and read the diff"
    );
}

/// Every check, and where the API's answers differ from schemathesis's defaults, and why.
const RULES: &str = r#"
[checks]
enabled = true

# A body or size over a limit is refused with 413 (API.md), which is a rejection too; and the configured upload
# limit is the deployment's, not the document's, so a valid size above it is a 413 as well.
[checks.negative_data_rejection]
expected-statuses = ["400", "401", "403", "404", "405", "409", "413", "415"]
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "401", "403", "404", "409", "413"]

# Where what is valid depends on what is stored, which a schema cannot hold: a part number must be within the
# upload's partCount, a cursor must be one this listing signed. Their 400s are tested in the functions' own tests.
[[operations]]
include-name = "POST /api/uploads/{id}/part-urls"
checks.positive_data_acceptance.enabled = false
[[operations]]
include-name = "POST /api/uploads/{id}/complete"
checks.positive_data_acceptance.enabled = false
[[operations]]
include-name = "GET /api/videos"
checks.positive_data_acceptance.enabled = false

# A captions file must be WebVTT or SRT, a grammar JSON Schema cannot state (tests/tests/captions.rs checks its 400s);
# and "at least one letter or digit" means Unicode's letters, which a pattern without Unicode classes only
# approximates (it lets every non-ASCII character count).
[[operations]]
include-name = "PUT /api/videos/{id}/captions/{language}"
checks.positive_data_acceptance.enabled = false
[[operations]]
include-name = "GET /api/search"
checks.positive_data_acceptance.enabled = false

# An upload is also gone once its video is deleted (DELETE /api/videos/{id}); the check that a created resource stays
# reachable counts only deletions under the same path, so it would call that 404 a fault.
[[operations]]
include-path-regex = "^/api/uploads/"
checks.ensure_resource_availability.enabled = false
"#;

/// What one schemathesis run did, from its JSON report and its HAR log of every exchange.
#[derive(Debug)]
struct Run {
    operations: u64,
    cases: u64,
    /// Responses by status code.
    statuses: std::collections::BTreeMap<u16, u64>,
    failures: Vec<String>,
}

impl Run {
    fn read(report: &Path, har: &Path) -> Self {
        let report: Value = serde_json::from_str(&std::fs::read_to_string(report).expect("the JSON report")).unwrap();
        let har: Value = serde_json::from_str(&std::fs::read_to_string(har).expect("the HAR log")).unwrap();
        let mut statuses = std::collections::BTreeMap::new();
        for entry in har["log"]["entries"].as_array().expect("HAR entries") {
            *statuses.entry(entry["response"]["status"].as_u64().unwrap() as u16).or_default() += 1;
        }
        let failures =
            report["failures"].as_array().unwrap().iter().chain(report["errors"].as_array().unwrap()).map(Value::to_string).collect();
        Run {
            operations: report["operations"]["tested"].as_u64().unwrap(),
            cases: report["test_cases"]["generated"].as_u64().unwrap(),
            statuses,
            failures,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_server_error_and_no_answer_outside_the_document() {
    let dir = framelift_tests::temp_dir("openapi");
    let server = RunningServer::start(DevConfig::for_tests(&dir)).await.unwrap();
    let api = Api::new(&server.url);

    // Served as the document, from the dev server's own route.
    let served: Value = reqwest::get(format!("{}/api/openapi.json", server.url)).await.unwrap().json().await.unwrap();
    assert_eq!(&served, document());

    // Data for it to find: a ready video with chapters and captions, an unlisted one (still processing as the run
    // starts), and an open upload.
    let alice = api.token("Alice").await;
    let tools = framelift_media::Tools::locate().unwrap();
    framelift_tests::clips::TestPattern::new(320, 180, 10, 12.0).write(&tools.ffmpeg, &dir.join("clip.mp4"));
    let clip = std::fs::read(dir.join("clip.mp4")).unwrap();
    let description = "0:00 Welcome\n0:04 Middle\n0:08 End";
    let ready = api.upload_with(&clip, json!({"title": "Schemathesis ready", "description": description}), &alice).await;
    assert_eq!(api.wait_settled(&ready, &alice, Duration::from_secs(60)).await["status"], "ready");
    let vtt = "WEBVTT\n\n00:00:01.000 --> 00:00:03.000\nHello\n";
    let res = reqwest::Client::new()
        .put(format!("{}/api/videos/{ready}/captions/en?label=English", server.url))
        .bearer_auth(&alice)
        .body(vtt)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let unlisted = api.upload_with(&clip, json!({"title": "Schemathesis unlisted", "visibility": "unlisted"}), &alice).await;
    let (status, open) = api
        .call(
            "POST",
            "/api/uploads",
            Some(json!({"filename": "a.mp4", "contentType": "video/mp4", "size": 1000, "title": "Open"})),
            Some(&alice),
        )
        .await;
    assert_eq!(status, 201, "{open}");
    let open = open["video"]["id"].as_str().unwrap().to_owned();

    // Half the generated ids (and languages) are these, so the cases reach past the 404 of one that does not exist.
    let config = dir.join("schemathesis.toml");
    let ids = format!(
        "[dictionaries.videos]\nvalues = [\"{ready}\", \"{unlisted}\", \"{open}\"]\n\
         [dictionaries.languages]\nvalues = [\"en\", \"de\"]\n\n\
         [parameters]\n\"path.id\" = {{ dictionary = \"videos\", probability = 0.5 }}\n\
         \"path.language\" = {{ dictionary = \"languages\", probability = 0.5 }}\n\n"
    );
    std::fs::write(&config, ids + RULES).unwrap();
    let (report, har) = (dir.join("schemathesis.json"), dir.join("schemathesis.har"));
    let st = PathBuf::from(std::env::var("FRAMELIFT_PYTHON").unwrap_or_else(|_| "python3".into())).with_file_name("schemathesis");
    let output = Command::new(&st)
        // Its caches go in the test's folder, not the checkout.
        .current_dir(&dir)
        .arg("--config-file")
        .arg(&config)
        .args(["run", &format!("{}/api/openapi.json", server.url), "--max-examples", "30", "--seed", "1"])
        .args(["--header", &format!("Authorization: Bearer {alice}")])
        // One worker: Python 3.11's parser is not thread-safe, and hypothesis parses its own source as it draws
        // ("AST constructor recursion depth mismatch" with two).
        .args(["--workers", "1", "--no-color", "--report", "json,har", "--report-json-path"])
        .arg(&report)
        .arg("--report-har-path")
        .arg(&har)
        .output()
        .unwrap_or_else(|e| panic!("{} does not start ({e}): `make test` installs schemathesis", st.display()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}");
    let run = Run::read(&report, &har);
    println!("schemathesis: {run:?}");
    assert!(run.failures.is_empty(), "schemathesis found failures: {:#?}\n{stdout}", run.failures);
    assert!(output.status.success(), "schemathesis failed:\n{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(run.operations, ROUTES.len() as u64, "operations tested");
    assert!(!run.statuses.keys().any(|s| *s >= 500), "server errors: {:?}", run.statuses);
    // The cases reach past authentication and missing ids to the handlers' own answers.
    let count = |f: fn(u16) -> bool| run.statuses.iter().filter(|(s, _)| f(**s)).map(|(_, n)| n).sum::<u64>();
    assert!(count(|s| (200..300).contains(&s)) >= 100, "few successes: {:?}", run.statuses);
    assert!(count(|s| s == 400) >= 100, "few refusals of bad input: {:?}", run.statuses);
    assert!(run.cases >= 500, "only {} cases ran", run.cases);
}
