//! The SAM template against the code: its HTTP routes are exactly the route table the dev server mounts (both ways),
//! no `/dev` route is deployed, every function crate is built by it, and each sample event in `events/` names a real
//! route.

use framelift_shared::routes::ROUTES;
use std::collections::BTreeSet;
use std::path::Path;
use yaml_rust2::{Yaml, YamlLoader};

fn repo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn template() -> Yaml {
    let text = std::fs::read_to_string(repo().join("template.yaml")).unwrap();
    YamlLoader::load_from_str(&text).unwrap().remove(0)
}

/// (method, path, binary) of every HttpApi event in the template.
fn template_routes(t: &Yaml) -> BTreeSet<(String, String, String)> {
    let mut routes = BTreeSet::new();
    for (_, resource) in t["Resources"].as_hash().unwrap() {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let binary = resource["Metadata"]["BuildProperties"]["Binary"].as_str().unwrap().to_owned();
        let Some(events) = resource["Properties"]["Events"].as_hash() else { continue };
        for (_, event) in events {
            if event["Type"].as_str() == Some("HttpApi") {
                let p = &event["Properties"];
                routes.insert((p["Method"].as_str().unwrap().to_owned(), p["Path"].as_str().unwrap().to_owned(), binary.clone()));
            }
        }
    }
    routes
}

#[test]
fn the_templates_routes_are_the_route_table_both_ways() {
    let deployed = template_routes(&template());
    let mounted: BTreeSet<_> =
        ROUTES.iter().map(|r| (r.method.to_owned(), r.path.to_owned(), format!("framelift-{}", r.function.name()))).collect();
    let missing: Vec<_> = mounted.difference(&deployed).collect();
    let extra: Vec<_> = deployed.difference(&mounted).collect();
    assert!(missing.is_empty(), "routes the dev server serves but the template does not deploy: {missing:?}");
    assert!(extra.is_empty(), "routes the template deploys that the route table lacks: {extra:?}");
    assert!(deployed.iter().all(|(_, path, _)| path.starts_with("/api/")), "only /api routes are deployed");
    assert!(!deployed.iter().any(|(_, path, _)| path.starts_with("/dev")), "no /dev route is deployed");
}

#[test]
fn every_function_crate_is_built_by_the_template() {
    let t = template();
    let built: BTreeSet<String> = t["Resources"]
        .as_hash()
        .unwrap()
        .values()
        .filter(|r| r["Type"].as_str() == Some("AWS::Serverless::Function"))
        .map(|r| {
            assert_eq!(r["Metadata"]["BuildMethod"].as_str(), Some("rust-cargolambda"));
            r["Metadata"]["BuildProperties"]["Binary"].as_str().unwrap().to_owned()
        })
        .collect();
    let crates: BTreeSet<String> = std::fs::read_dir(repo().join("functions"))
        .unwrap()
        .map(|e| format!("framelift-{}", e.unwrap().file_name().to_string_lossy()))
        .collect();
    assert_eq!(built, crates);
    let globals = &t["Globals"]["Function"];
    assert_eq!(globals["Runtime"].as_str(), Some("provided.al2023"));
    assert_eq!(globals["Architectures"][0].as_str(), Some("arm64"));
}

/// The deploy workflow and DEPLOY.md agree: the OIDC subject the documented trust policy accepts is the one GitHub
/// gives the workflow's job (its environment's, when it names one), and the workflow deploys as `make deploy` does.
#[test]
fn the_documented_trust_policy_matches_the_deploy_job() {
    let text = std::fs::read_to_string(repo().join(".github/workflows/deploy.yml")).unwrap();
    let workflow = YamlLoader::load_from_str(&text).unwrap().remove(0);
    let job = &workflow["jobs"]["deploy"];
    let subject = match job["environment"].as_str() {
        Some(env) => format!("repo:<OWNER>/<REPO>:environment:{env}"),
        None => "repo:<OWNER>/<REPO>:ref:refs/heads/main".to_owned(),
    };
    let doc = std::fs::read_to_string(repo().join("docs/DEPLOY.md")).unwrap();
    assert!(
        doc.contains(&format!("\"token.actions.githubusercontent.com:sub\": \"{subject}\"")),
        "DEPLOY.md's trust policy must accept {subject}"
    );
    let runs: Vec<&str> = job["steps"].as_vec().unwrap().iter().filter_map(|s| s["run"].as_str()).collect();
    assert!(runs.iter().any(|r| r.trim() == "make deploy"), "the workflow deploys with make deploy: {runs:?}");
    assert!(!text.contains(".tools/venv-sam"), "the workflow calls a tool only make test installs");
}

/// `scripts/deploy.sh` passes a stack parameter only when its variable is set (sam deploy refuses `Name=`), asks
/// nothing in CI, and switches SAM's Rust builds on.
#[test]
fn deploy_passes_only_the_parameters_that_are_set() {
    let print = |vars: &[(&str, &str)]| {
        let mut cmd = std::process::Command::new("bash");
        cmd.arg(repo().join("scripts/deploy.sh")).arg("--print").current_dir(repo());
        for k in ["CI", "MEDIA_CDN", "GOOGLE_CLIENT_ID", "OPENSEARCH_ENDPOINT", "OPENSEARCH_DOMAIN_NAME", "STACK_NAME", "AWS_REGION"] {
            cmd.env_remove(k);
        }
        cmd.envs(vars.iter().copied());
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let ci = print(&[("CI", "true"), ("GOOGLE_CLIENT_ID", "1234-abc.apps.googleusercontent.com"), ("OPENSEARCH_ENDPOINT", "")]);
    assert!(ci.contains("sam build --template template.yaml --beta-features"), "{ci}");
    assert!(ci.contains("--parameter-overrides GoogleClientId=1234-abc.apps.googleusercontent.com MediaKeySecretName="), "{ci}");
    assert_eq!(ci.matches("--parameter-overrides").count(), 1, "sam deploy reads one list of overrides: {ci}");
    assert!(ci.contains("MediaPublicKey=") && ci.contains("--no-confirm-changeset"), "media through CloudFront by default: {ci}");
    assert!(!ci.contains("OpenSearch") && !ci.contains("--guided"), "{ci}");
    let with_search = print(&[("CI", "true"), ("OPENSEARCH_ENDPOINT", "https://x.es.amazonaws.com"), ("OPENSEARCH_DOMAIN_NAME", "x")]);
    assert!(with_search.contains("ExistingOpenSearchEndpoint=https://x.es.amazonaws.com ExistingOpenSearchDomainName=x"), "{with_search}");
    let first = print(&[("MEDIA_CDN", "no")]);
    if !repo().join("samconfig.toml").exists() {
        assert!(first.contains("--guided") && !first.contains("--parameter-overrides"), "{first}");
    }
}

/// With a media key, the web distribution serves `media/*` from the media bucket only to URLs signed under the stack's
/// own key group, over HTTPS, with a cache key without the signature (so a segment is cached once, however many
/// viewers' links name it); the bucket lets that distribution alone read `media/*`, and nothing else.
#[test]
fn media_reaches_viewers_only_through_the_distribution_and_only_signed() {
    let t = template();
    let config = &t["Resources"]["WebDistribution"]["Properties"]["DistributionConfig"];
    // `!If [MediaThroughCdn, <behaviours>, !Ref AWS::NoValue]`: the tag goes, the list stays.
    let behaviours = &config["CacheBehaviors"];
    assert_eq!(behaviours[0].as_str(), Some("MediaThroughCdn"), "{behaviours:?}");
    let media = &behaviours[1][0];
    assert_eq!(media["PathPattern"].as_str(), Some("media/*"));
    assert_eq!(media["TargetOriginId"].as_str(), Some("media"));
    assert_eq!(media["ViewerProtocolPolicy"].as_str(), Some("https-only"));
    assert_eq!(media["TrustedKeyGroups"][0]["Ref"].as_str().or(media["TrustedKeyGroups"][0].as_str()), Some("MediaKeyGroup"), "{media:?}");
    // AWS's managed CachingOptimized policy: query strings are not part of the cache key.
    assert_eq!(media["CachePolicyId"].as_str(), Some("658327ea-f89d-4fab-a63d-7e88639e58f6"));
    let origins = config["Origins"].as_vec().unwrap();
    let origin = origins.iter().find(|o| o[0].as_str() == Some("MediaThroughCdn")).map(|o| &o[1]).expect("the media origin");
    assert_eq!(origin["Id"].as_str(), Some("media"));
    assert!(!origin["OriginAccessControlId"].is_badvalue(), "origin access control: {origin:?}");
    let policy = t["Resources"]
        .as_hash()
        .unwrap()
        .values()
        .find(|r| r["Type"].as_str() == Some("AWS::S3::BucketPolicy") && r["Properties"]["Bucket"].as_str() == Some("MediaBucket"))
        .expect("the media bucket's policy");
    let statements = policy["Properties"]["PolicyDocument"]["Statement"].as_vec().unwrap();
    let cloudfront = statements.iter().find(|s| s[0].as_str() == Some("MediaThroughCdn")).map(|s| &s[1]).expect("CloudFront's read");
    assert_eq!(cloudfront["Principal"]["Service"].as_str(), Some("cloudfront.amazonaws.com"));
    assert_eq!(cloudfront["Action"].as_str(), Some("s3:GetObject"));
    assert!(cloudfront["Resource"].as_str().unwrap().ends_with("/media/*"), "{cloudfront:?}");
    assert!(cloudfront["Condition"]["StringEquals"]["AWS:SourceArn"].as_str().unwrap().contains("distribution/${WebDistribution}"));
    let text = std::fs::read_to_string(repo().join("template.yaml")).unwrap();
    assert!(!text.contains("BEGIN RSA PRIVATE KEY") && !text.contains("BEGIN PRIVATE KEY"), "no private key in the template");
}

/// Browsers may send every method the API's routes use: the HTTP API's CORS settings allow each of them.
#[test]
fn cors_allows_every_method_of_the_route_table() {
    let t = template();
    let allowed: BTreeSet<&str> = t["Resources"]["HttpApi"]["Properties"]["CorsConfiguration"]["AllowMethods"]
        .as_vec()
        .unwrap()
        .iter()
        .filter_map(Yaml::as_str)
        .collect();
    for route in ROUTES {
        assert!(allowed.contains(route.method), "{} {} is not allowed by CORS: {allowed:?}", route.method, route.path);
    }
}
