//! Property tests of the parsers that face the network: every route's request (method, path, query, headers, body)
//! through the route table, the event and its `Request` (as lambda_http makes it) and the handlers; paging cursors;
//! bearer tokens. Nothing may panic and nothing may be a 500 (the in-memory backends never fail); each test prints how
//! many cases it ran. `FRAMELIFT_FUZZ_CASES` raises the count (the default keeps `make test` quick).

use framelift_devserver::invoke;
use framelift_local::apigw::{self, RawRequest};
use framelift_shared::domain::{PageKey, VideoId};
use framelift_shared::routes::{Lookup, ROUTES, lookup};
use framelift_shared::signing::SigningKey;
use framelift_testkit::World;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use std::sync::atomic::{AtomicUsize, Ordering};

fn cases(default: u32) -> u32 {
    std::env::var("FRAMELIFT_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Paths near the real ones: a route's path with its parameters replaced by arbitrary text, or arbitrary text; in the
/// characters a request line can carry (hyper and API Gateway refuse the rest before any handler).
fn path() -> impl Strategy<Value = String> {
    const SEGMENT: &str = "[A-Za-z0-9._~%!$&'()*+,;=:@-]{0,40}";
    let route = (0..ROUTES.len(), SEGMENT, "[A-Za-z0-9._~%!$&'()*+,;=:@/-]{0,60}")
        .prop_map(|(i, id, rest)| ROUTES[i].path.replace("{id}", &id).replace("{path+}", &rest));
    prop_oneof![route, "/api/[A-Za-z0-9._~%!$&'()*+,;=:@/-]{0,80}"]
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    let json = prop_oneof![
        Just(serde_json::json!({})),
        any::<i64>().prop_map(|n| serde_json::json!({"size": n, "partNumbers": [n], "parts": [{"partNumber": n, "etag": "x"}]})),
        ("[ -~]{0,300}", "[ -~]{0,30}", any::<i64>()).prop_map(|(t, ct, n)| serde_json::json!(
            {"filename": t, "contentType": ct, "size": n, "title": t, "description": t}
        )),
        proptest::collection::vec(any::<u32>(), 0..120).prop_map(|v| serde_json::json!({"partNumbers": v})),
    ]
    .prop_map(|v| v.to_string().into_bytes());
    prop_oneof![json, proptest::collection::vec(any::<u8>(), 0..200)]
}

/// Panics anywhere in this process, caught or not (a caught one inside a parser still counts).
static PANICS: AtomicUsize = AtomicUsize::new(0);

fn count_panics() {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICS.fetch_add(1, Ordering::SeqCst);
            default(info);
        }));
    });
}

#[test]
fn no_request_panics_or_is_a_500() {
    count_panics();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let world = rt.block_on(async {
        let w = World::default();
        w.video("Alice", framelift_shared::domain::VideoStatus::Ready, time::OffsetDateTime::now_utc()).await;
        w
    });
    let token = world.token("Alice");
    let ran = AtomicUsize::new(0);
    let mut runner = TestRunner::new(Config { cases: cases(3_000), failure_persistence: None, ..Config::default() });
    let methods = prop::sample::select(vec!["GET", "POST", "DELETE", "PUT"]);
    let query = "[A-Za-z0-9._~%!$&'()*+,;=:@/?-]{0,80}";
    // Headers a client of the dev server controls (API Gateway sets its own).
    let host = prop_oneof![Just("api.test".to_owned()), "[ -~]{0,30}"];
    let proto = prop_oneof![Just(None), "[ -~]{0,12}".prop_map(Some)];
    runner
        .run(&(methods, path(), query, body(), any::<bool>(), (host, proto)), |(method, path, query, body, signed_in, (host, proto))| {
            ran.fetch_add(1, Ordering::Relaxed);
            let Lookup::Found(route, params) = lookup(&method.parse().unwrap(), &path) else { return Ok(()) };
            let mut headers = vec![("host".to_owned(), host), ("content-type".to_owned(), "application/json".to_owned())];
            if let Some(p) = proto {
                headers.push(("x-forwarded-proto".to_owned(), p));
            }
            if signed_in {
                headers.push(("authorization".to_owned(), format!("Bearer {token}")));
            }
            let raw = RawRequest { method: method.into(), path: path.clone(), query, headers, body, source_ip: "127.0.0.1".into() };
            // API Gateway would refuse what lambda_http cannot read; the dev server answers it with a 400.
            let Ok(req) = apigw::to_request(apigw::event(route, &params, &raw)) else { return Ok(()) };
            let res = rt.block_on(invoke(route.function, &world.state, req));
            let status = res.status().as_u16();
            prop_assert!(status < 500, "{} {} -> {status}: {}", raw.method, path, String::from_utf8_lossy(res.body().as_ref()));
            Ok(())
        })
        .unwrap();
    assert_eq!(PANICS.load(Ordering::SeqCst), 0, "a parser panicked (and was caught) on some request: see the output");
    println!("requests: {} cases, 0 panics, 0 server errors", ran.load(Ordering::Relaxed));
}

#[test]
fn cursors_that_were_not_issued_are_refused_without_panicking() {
    let key = SigningKey::generate();
    let page = PageKey { created_at: time::OffsetDateTime::now_utc(), id: VideoId::generate() };
    let issued = key.encode("ready", &page);
    let ran = AtomicUsize::new(0);
    let mut runner = TestRunner::new(Config { cases: cases(20_000), failure_persistence: None, ..Config::default() });
    let cursor = prop_oneof![
        "[ -~]{0,200}",
        (0..issued.len(), any::<u8>()).prop_map(move |(i, b)| {
            let mut c = issued.clone().into_bytes();
            c[i] = b'A' + b % 26;
            String::from_utf8_lossy(&c).into_owned()
        }),
    ];
    let issued = key.encode("ready", &page);
    runner
        .run(&cursor, |c| {
            ran.fetch_add(1, Ordering::Relaxed);
            if c != issued {
                prop_assert!(key.decode("ready", &c).is_err(), "accepted a cursor that was never issued: {c}");
            }
            Ok(())
        })
        .unwrap();
    println!("cursors: {} cases, 0 panics, 0 accepted", ran.load(Ordering::Relaxed));
}

#[test]
fn arbitrary_tokens_are_refused_without_panicking() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let world = World::default();
    let real = world.token("Alice");
    let ran = AtomicUsize::new(0);
    let mut runner = TestRunner::new(Config { cases: cases(5_000), failure_persistence: None, ..Config::default() });
    let parts = "[A-Za-z0-9_-]{0,300}";
    let token = prop_oneof![
        "[ -~]{0,400}",
        (parts, parts, parts).prop_map(|(a, b, c)| format!("{a}.{b}.{c}")),
        (0..real.len(), any::<u8>()).prop_map(move |(i, b)| {
            let mut t = real.clone().into_bytes();
            t[i] = if t[i] == b'.' { b'.' } else { b'A' + b % 26 };
            String::from_utf8_lossy(&t).into_owned()
        }),
    ];
    let real = world.token("Alice");
    runner
        .run(&token, |t| {
            ran.fetch_add(1, Ordering::Relaxed);
            let verdict = rt.block_on(world.state.auth.verify(&t));
            if t != real {
                prop_assert!(verdict.is_err(), "accepted a token that was never issued: {t}");
            }
            Ok(())
        })
        .unwrap();
    println!("tokens: {} cases, 0 panics, 0 accepted", ran.load(Ordering::Relaxed));
}
