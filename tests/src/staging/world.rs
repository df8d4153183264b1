//! One staged deployment: the stack's resources on moto, every function in its sandbox with its own endpoints, the
//! bucket's notifications and the schedules delivered asynchronously, and the API Gateway front.

use super::cdn::StagedCdn;
use super::endpoints::{self, CallLog, Identity, SearchCluster};
use super::lambda::{AsyncConfig, Delivery, LambdaFunction, invoke_async};
use super::{FunctionSpec, create_resources, functions_of, target_dir};
use framelift_dev_issuer::DevIssuer;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

/// What a test may change about the staged world. Everything else comes from `template.yaml`.
#[derive(Debug, Clone)]
pub struct Options {
    /// Lambda's delays between retries of an asynchronous event (about one and two minutes on AWS).
    pub retry_delay: Duration,
    /// Functions whose timeout is compressed (logical id, timeout): the failure tests cannot wait 15 minutes.
    pub timeouts: Vec<(String, Duration)>,
    /// Extra environment for one function (logical id, name, value), for fault injection.
    pub env: Vec<(String, String, String)>,
    /// Another template than the project's (a test's altered copy).
    pub template: Option<std::path::PathBuf>,
    /// Slow answers from the staged AWS services.
    pub stalls: Vec<endpoints::Stall>,
    /// The bucket's notifications are lost on their way to the function (only the sweep can find the uploads).
    pub lose_notifications: bool,
    /// Queues whose visibility timeout is compressed (logical id, timeout): a failed job comes back after it.
    pub visibility_timeouts: Vec<(String, Duration)>,
    /// Deployed as `scripts/deploy.sh` deploys by default: media through CloudFront, signed with a key the deploy
    /// keeps in Secrets Manager. Off, the template's default: presigned S3 URLs.
    pub media_cdn: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            retry_delay: Duration::from_millis(500),
            timeouts: vec![],
            env: vec![],
            template: None,
            stalls: vec![],
            lose_notifications: false,
            visibility_timeouts: vec![],
            media_cdn: false,
        }
    }
}

/// The staged issuer of sign-in tokens, standing in for Google.
pub const ISSUER: &str = "https://issuer.staged.test";
/// The OAuth client id the stack is deployed with (the `GoogleClientId` parameter).
pub const CLIENT_ID: &str = "staged-client.apps.googleusercontent.com";
/// The OpenSearch domain the functions are given (`ExistingOpenSearchDomainName`).
pub const SEARCH_DOMAIN: &str = "framelift-staged";

/// The names a stack's resources get, from which the template's values are resolved.
#[derive(Debug, Clone)]
pub struct Stack {
    /// The last part of the stack id (the bucket's name is made of it).
    pub guid: String,
    pub table: String,
    pub queue: String,
    /// The queue of encode jobs and its dead-letter queue, by name.
    pub encode_jobs: String,
    pub encode_dead_letters: String,
    pub secret_id: String,
}

impl Stack {
    /// Fresh names, unused on a shared moto.
    pub fn new() -> Self {
        let guid = ulid::Ulid::new().to_string().to_lowercase();
        Self::named(&guid, &crate::unique_name("staged-videos"), &crate::unique_name("staged-transcode-failures"))
    }

    pub fn named(guid: &str, table: &str, queue: &str) -> Self {
        let secret_id = format!("arn:aws:secretsmanager:{}:{}:secret:SigningSecret-{guid}", super::iam::REGION, super::iam::ACCOUNT);
        Self {
            guid: guid.to_owned(),
            table: table.to_owned(),
            queue: queue.to_owned(),
            encode_jobs: format!("{table}-EncodeJobs"),
            encode_dead_letters: format!("{table}-EncodeDeadLetters"),
            secret_id,
        }
    }

    /// A queue's URL, as its Ref gives it (moto finds a queue by the last part of its URL).
    pub fn queue_url(name: &str) -> String {
        format!("https://sqs.{}.amazonaws.com/{}/{name}", super::iam::REGION, super::iam::ACCOUNT)
    }

    /// The media bucket, named by the template from the stack id.
    pub fn bucket(&self) -> String {
        format!("framelift-media-{}", self.guid)
    }

    /// What `stage.py` resolves the template against, with `parameters` over the staged ones.
    pub fn values(&self, parameters: &Value) -> Value {
        let (region, account, table, queue) = (super::iam::REGION, super::iam::ACCOUNT, &self.table, &self.queue);
        let mut params = json!({
            "GoogleClientId": CLIENT_ID,
            "ExistingOpenSearchEndpoint": "http://127.0.0.1:9",
            "ExistingOpenSearchDomainName": SEARCH_DOMAIN,
        });
        for (k, v) in parameters.as_object().into_iter().flatten() {
            params[k] = v.clone();
        }
        json!({
            "StackId": format!("arn:aws:cloudformation:{region}:{account}:stack/framelift-staged/{}", self.guid),
            "Parameters": params,
            "Resources": {
                "VideosTable": table, "SigningSecret": self.secret_id, "MediaBucket": self.bucket(), "TranscodeFailures": queue,
                "EncodeJobs": Self::queue_url(&self.encode_jobs), "EncodeDeadLetters": Self::queue_url(&self.encode_dead_letters),
            },
            "Attributes": {
                "VideosTable.Arn": format!("arn:aws:dynamodb:{region}:{account}:table/{table}"),
                "TranscodeFailures.Arn": format!("arn:aws:sqs:{region}:{account}:{queue}"),
                "EncodeJobs.Arn": format!("arn:aws:sqs:{region}:{account}:{}", self.encode_jobs),
                "EncodeDeadLetters.Arn": format!("arn:aws:sqs:{region}:{account}:{}", self.encode_dead_letters),
            },
            // 64 characters, as the template's GenerateSecretString makes.
            "Secrets": {&self.secret_id: format!("staged{}{}", self.guid, self.guid).chars().take(64).collect::<String>()},
        })
    }
}

impl Default for Stack {
    fn default() -> Self {
        Self::new()
    }
}

/// One staged function.
pub struct Function {
    pub spec: FunctionSpec,
    pub lambda: Arc<LambdaFunction>,
    /// Lambda's event queue for this function's asynchronous invocations.
    events: Option<mpsc::UnboundedSender<Value>>,
}

/// The deployment.
pub struct StagedWorld {
    /// The API Gateway front: the stack's `ApiUrl`.
    pub api: String,
    /// The Lambda service's Invoke API (what `aws lambda invoke` and `make redrive` call).
    pub lambda_api: String,
    pub moto: String,
    pub functions: BTreeMap<String, Function>,
    pub calls: Arc<CallLog>,
    pub search: Arc<SearchCluster>,
    pub sqs: Sqs,
    /// Physical names: `MediaBucket`, `VideosTable`, `TranscodeFailures` (a queue URL).
    pub bucket: String,
    pub table: String,
    pub failure_queue: String,
    /// `EncodeDeadLetters`' URL.
    pub encode_dead_letters: String,
    pub issuer: DevIssuer,
    /// Every asynchronous event delivered, with what became of it.
    pub deliveries: Arc<Mutex<Vec<(String, Value, Delivery)>>>,
    /// Every queued message a poller handed a function, with what became of it.
    pub jobs: Arc<Mutex<Vec<JobDelivery>>>,
    /// The distribution viewers fetch media from, when deployed with one.
    pub cdn: Option<StagedCdn>,
}

/// One message of a queue handed to a function by its event source mapping.
#[derive(Debug, Clone)]
pub struct JobDelivery {
    pub function: String,
    pub body: String,
    /// SQS's `ApproximateReceiveCount` of this delivery.
    pub receive_count: u32,
    /// Deleted from the queue (done), or left to come back after the visibility timeout.
    pub deleted: bool,
}

impl StagedWorld {
    pub async fn start(options: Options) -> Self {
        let moto = crate::moto_endpoint().to_owned();
        let stack = Stack::new();
        let cdn = options.media_cdn.then(|| StagedCdn::deploy(&stack.guid, &moto, &stack.bucket()));
        let mut values = stack.values(&cdn.as_ref().map_or(json!({}), StagedCdn::parameters));
        if let Some(cdn) = &cdn {
            values["Resources"]["MediaPublicKeyEntry"] = json!(cdn.key_pair_id);
            values["Attributes"]["WebDistribution.DomainName"] = json!(cdn.domain);
        }
        for (queue, timeout) in &options.visibility_timeouts {
            values["QueueAttributes"][queue] = json!({"VisibilityTimeout": timeout.as_secs()});
        }
        let (bucket, table, queue) = (stack.bucket(), stack.table.clone(), stack.queue.clone());
        create_resources(&values, &moto);
        let sqs = Sqs { endpoint: moto.clone(), http: reqwest::Client::new() };
        let failure_queue = sqs.url_of(&queue).await;

        // Each function's endpoints, which know its statements; then its environment with its own search endpoint.
        let template = options.template.clone().unwrap_or_else(super::template);
        let calls = Arc::new(CallLog::default());
        let stalls = Arc::new(Mutex::new(options.stalls.clone()));
        let search = Arc::new(SearchCluster::default());
        let mut endpoints = BTreeMap::new();
        for (name, spec) in functions_of(&template, &values) {
            let who = Identity {
                function: name.clone(),
                statements: Arc::new(spec.statements.clone()),
                log: calls.clone(),
                stalls: stalls.clone(),
            };
            let aws = endpoints::aws_proxy(who.clone(), moto.clone()).await;
            let search_url = endpoints::search_endpoint(who, search.clone(), SEARCH_DOMAIN.to_owned()).await;
            values["Functions"][&name] = json!({"Parameters": {"ExistingOpenSearchEndpoint": search_url}});
            endpoints.insert(name, aws);
        }
        let specs = functions_of(&template, &values);

        // Google's keys and tokens, standing in: a staged issuer.
        let issuer = DevIssuer::generate().expect("an issuer key");
        let jwks = issuer.jwks().clone();
        let keys = crate::recorder::Recorder::start(move |_| (200, jwks.clone())).await;
        let ffmpeg = framelift_media::Tools::locate().expect("the bundled ffmpeg (make test fetches it)");
        let layer = ffmpeg.ffmpeg.as_path().parent().expect("a folder").display().to_string();

        let deliveries = Arc::new(Mutex::new(Vec::new()));
        let jobs = Arc::new(Mutex::new(Vec::new()));
        let mut functions = BTreeMap::new();
        for (name, spec) in specs {
            let binary = target_dir().join(&spec.binary);
            assert!(binary.is_file(), "{} is not built: run the whole suite (make test, or cargo test --workspace)", spec.binary);
            let aws = &endpoints[&name];
            let mut env: Vec<(String, String)> = spec.environment.clone().into_iter().collect();
            env.extend(
                [
                    // What stands in for AWS and Google: this function's endpoints, its role's credentials, the issuer.
                    ("FRAMELIFT_S3_ENDPOINT", aws.clone()),
                    ("FRAMELIFT_DYNAMODB_ENDPOINT", aws.clone()),
                    ("FRAMELIFT_SQS_ENDPOINT", aws.clone()),
                    ("FRAMELIFT_SECRETSMANAGER_ENDPOINT", aws.clone()),
                    ("AWS_ACCESS_KEY_ID", format!("ASIA{}", name.to_uppercase())),
                    ("AWS_SECRET_ACCESS_KEY", "staged-role-secret".to_owned()),
                    ("AWS_SESSION_TOKEN", "staged-role-session".to_owned()),
                    ("FRAMELIFT_AUTH_ISSUERS", ISSUER.to_owned()),
                    ("FRAMELIFT_JWKS_URL", format!("{}/jwks.json", keys.url)),
                    // The layer's /opt/bin, built for this machine.
                    ("FRAMELIFT_FFMPEG_DIR", layer.clone()),
                ]
                .map(|(k, v)| (k.to_owned(), v)),
            );
            env.extend(options.env.iter().filter(|(f, _, _)| *f == name).map(|(_, k, v)| (k.clone(), v.clone())));
            let timeout =
                options.timeouts.iter().find(|(f, _)| *f == name).map_or(Duration::from_secs(u64::from(spec.timeout)), |(_, t)| *t);
            let lambda = LambdaFunction::new(&name, binary, env, spec.memory_size, timeout).await;
            let events = (!spec.object_events.is_empty() || !spec.schedules.is_empty()).then(|| {
                let config = AsyncConfig {
                    retries: spec.retries,
                    retry_delay: options.retry_delay,
                    on_failure: spec.on_failure.as_ref().map(|q| {
                        assert_eq!(q, "TranscodeFailures", "{name}: an on-failure queue the staging does not make");
                        failure_queue.clone()
                    }),
                };
                event_queue(lambda.clone(), config, sqs.clone(), deliveries.clone())
            });
            // Lambda's pollers of the queues that invoke it, with the function's role.
            for source in &spec.queue_events {
                let url = values["Resources"][&source.queue].as_str().expect("a staged queue").to_owned();
                let role = Sqs { endpoint: aws.clone(), http: reqwest::Client::new() };
                poll_queue(lambda.clone(), role, url, source.clone(), jobs.clone());
            }
            functions.insert(name, Function { spec, lambda, events });
        }

        // The bucket's notifications: on AWS to Lambda's event queue for the function; staged, to an SQS queue that is
        // moved into the same event queue.
        let notified = sqs.create(&crate::unique_name("staged-lambda-events")).await;
        let mut configurations = Vec::new();
        for (name, f) in &functions {
            for event in &f.spec.object_events {
                assert_eq!(event.bucket, "MediaBucket", "{name}: a bucket the staging does not make");
                configurations.push(
                    aws_sdk_s3::types::QueueConfiguration::builder()
                        .id(name.as_str())
                        .queue_arn(format!(
                            "arn:aws:sqs:{}:{}:{}",
                            super::iam::REGION,
                            super::iam::ACCOUNT,
                            notified.rsplit('/').next().unwrap()
                        ))
                        .set_events(Some(event.events.iter().map(|e| e.as_str().into()).collect()))
                        .filter(
                            aws_sdk_s3::types::NotificationConfigurationFilter::builder()
                                .key(
                                    aws_sdk_s3::types::S3KeyFilter::builder()
                                        .set_filter_rules(Some(
                                            event
                                                .filter
                                                .iter()
                                                .map(|r| {
                                                    aws_sdk_s3::types::FilterRule::builder()
                                                        .name(r.name.as_str().into())
                                                        .value(&r.value)
                                                        .build()
                                                })
                                                .collect(),
                                        ))
                                        .build(),
                                )
                                .build(),
                        )
                        .build()
                        .expect("a queue configuration"),
                );
            }
        }
        let s3 = framelift_aws::s3_client(&crate::moto_sdk(), Some(&moto));
        s3.put_bucket_notification_configuration()
            .bucket(&bucket)
            .notification_configuration(
                aws_sdk_s3::types::NotificationConfiguration::builder().set_queue_configurations(Some(configurations)).build(),
            )
            .send()
            .await
            .expect("moto takes the bucket's notification configuration");
        let transcoder = functions.iter().find(|(_, f)| !f.spec.object_events.is_empty()).and_then(|(_, f)| f.events.clone());
        if let Some(events) = transcoder.filter(|_| !options.lose_notifications) {
            let sqs = sqs.clone();
            tokio::spawn(async move {
                loop {
                    for (receipt, body) in sqs.receive(&notified, 1).await {
                        sqs.delete(&notified, &receipt).await;
                        let event: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
                        if event.get("Event").and_then(Value::as_str) == Some("s3:TestEvent") {
                            continue;
                        }
                        if events.send(event).is_err() {
                            return;
                        }
                    }
                }
            });
        }

        let functions_arc: super::front::Functions =
            functions.iter().map(|(n, f)| (n.clone(), (f.lambda.clone(), f.spec.routes.clone(), f.events.clone()))).collect();
        let api = super::front::api_gateway(functions_arc.clone()).await;
        let lambda_api = super::front::lambda_api(functions_arc).await;
        let encode_dead_letters = Stack::queue_url(&stack.encode_dead_letters);
        Self {
            api,
            lambda_api,
            moto,
            functions,
            calls,
            search,
            sqs,
            bucket,
            table,
            failure_queue,
            encode_dead_letters,
            issuer,
            deliveries,
            jobs,
            cdn,
        }
    }

    /// A signed-in user's token, as Google would issue it for the stack's client id.
    pub fn token_for(&self, name: &str) -> String {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let sub = format!("staged-{}", name.to_lowercase().replace(' ', "-"));
        let claims = json!({"iss": ISSUER, "aud": CLIENT_ID, "sub": sub, "name": name, "iat": now, "nbf": now, "exp": now + 3600});
        self.issuer.sign(&claims).expect("a token")
    }

    /// Fires a schedule of the template (`Sweep`) as EventBridge does: an asynchronous invocation with a scheduled event.
    pub fn fire_schedule(&self, schedule: &str) {
        let (name, f) = self
            .functions
            .iter()
            .find(|(_, f)| f.spec.schedules.iter().any(|s| s.name == schedule))
            .unwrap_or_else(|| panic!("no function has the schedule {schedule}"));
        let event = json!({
            "version": "0", "id": ulid::Ulid::new().to_string().to_lowercase(), "detail-type": "Scheduled Event",
            "source": "aws.events", "account": super::iam::ACCOUNT,
            "time": time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
            "region": super::iam::REGION,
            "resources": [format!("arn:aws:events:{}:{}:rule/framelift-staged-{name}{schedule}", super::iam::REGION, super::iam::ACCOUNT)],
            "detail": {}
        });
        f.events.as_ref().expect("a scheduled function has an event queue").send(event).expect("the event queue runs");
    }

    /// Delivers `event` to `function` asynchronously, as S3 or `aws lambda invoke --invocation-type Event` would.
    pub fn deliver(&self, function: &str, event: Value) {
        let f = &self.functions[function];
        f.events.as_ref().expect("the function takes asynchronous events").send(event).expect("the event queue runs");
    }

    /// Waits until `n` asynchronous events have been dealt with (succeeded or sent to the failure queue).
    pub async fn wait_for_deliveries(&self, n: usize, within: Duration) -> Vec<(String, Value, Delivery)> {
        wait_for(&self.deliveries, n, within, "events delivered").await
    }

    /// Waits until the queues' pollers have handed out `n` messages and dealt with each (the worker's answer comes
    /// back, and its message is deleted, a moment after the video it made ready is seen ready).
    pub async fn wait_for_jobs(&self, n: usize, within: Duration) -> Vec<JobDelivery> {
        wait_for(&self.jobs, n, within, "job deliveries").await
    }

    /// The keys in the media bucket under `prefix`.
    pub async fn objects(&self, prefix: &str) -> Vec<String> {
        let s3 = framelift_aws::s3_client(&crate::moto_sdk(), Some(&self.moto));
        let listed = s3.list_objects_v2().bucket(&self.bucket).prefix(prefix).send().await.expect("moto lists");
        listed.contents().iter().filter_map(|o| o.key().map(str::to_owned)).collect()
    }

    /// The video's record in the table, as DynamoDB holds it (`None` once deleted).
    pub async fn record(&self, id: &str) -> Option<Value> {
        let res = reqwest::Client::new()
            .post(&self.moto)
            .header("x-amz-target", "DynamoDB_20120810.GetItem")
            .header("content-type", "application/x-amz-json-1.0")
            .header(
                "authorization",
                "AWS4-HMAC-SHA256 Credential=staging/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0",
            )
            .body(json!({"TableName": self.table, "Key": {"id": {"S": id}}, "ConsistentRead": true}).to_string())
            .send()
            .await
            .expect("moto answers");
        let item: Value = res.json().await.expect("JSON");
        item.get("Item").cloned()
    }

    /// Calls no function was allowed to make.
    pub fn refused_calls(&self) -> Vec<String> {
        self.calls.all().into_iter().filter(|c| !c.allowed).map(|c| format!("{}: {}", c.function, c.auth)).collect()
    }
}

/// What `log` holds once it holds `n` entries; fails the test if that takes longer than `within`.
async fn wait_for<T: Clone + std::fmt::Debug>(log: &Mutex<Vec<T>>, n: usize, within: Duration, what: &str) -> Vec<T> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let done = log.lock().unwrap().clone();
        if done.len() >= n {
            return done;
        }
        assert!(tokio::time::Instant::now() < deadline, "{} of {n} {what} after {within:?}: {done:?}", done.len());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Lambda's poller of one event source mapping: receives up to the batch size, invokes the function with SQS's event,
/// and deletes what succeeded: with `ReportBatchItemFailures`, every message but those the answer lists; without, all
/// of them or (on an error) none. What is not deleted comes back after the queue's visibility timeout, and the queue's
/// redrive policy moves it to the dead-letter queue after its last receive. One sandbox: invocations are serial.
fn poll_queue(lambda: Arc<LambdaFunction>, sqs: Sqs, url: String, source: super::QueueEventSpec, jobs: Arc<Mutex<Vec<JobDelivery>>>) {
    let name = url.rsplit('/').next().unwrap_or("").to_owned();
    let arn = format!("arn:aws:sqs:{}:{}:{name}", super::iam::REGION, super::iam::ACCOUNT);
    tokio::spawn(async move {
        loop {
            let answer = sqs
                .call(
                    "ReceiveMessage",
                    json!({"QueueUrl": url, "MaxNumberOfMessages": source.batch_size, "WaitTimeSeconds": 1, "AttributeNames": ["All"]}),
                )
                .await;
            let messages = answer["Messages"].as_array().cloned().unwrap_or_default();
            if messages.is_empty() {
                continue;
            }
            let records: Vec<Value> = messages
                .iter()
                .map(|m| {
                    json!({
                        "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
                        "attributes": m["Attributes"], "messageAttributes": {}, "md5OfBody": m["MD5OfBody"],
                        "eventSource": "aws:sqs", "eventSourceARN": arn, "awsRegion": super::iam::REGION,
                    })
                })
                .collect();
            let failed: Vec<String> = match lambda.invoke(&json!({"Records": records})).await {
                Ok(answer) if source.report_batch_item_failures => answer["batchItemFailures"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|f| f["itemIdentifier"].as_str().map(str::to_owned))
                    .collect(),
                Ok(_) => vec![],
                Err(_) => messages.iter().filter_map(|m| m["MessageId"].as_str().map(str::to_owned)).collect(),
            };
            for m in &messages {
                let deleted = !failed.iter().any(|f| Some(f.as_str()) == m["MessageId"].as_str());
                if deleted {
                    sqs.call("DeleteMessage", json!({"QueueUrl": url, "ReceiptHandle": m["ReceiptHandle"]})).await;
                }
                jobs.lock().unwrap().push(JobDelivery {
                    function: lambda.name.clone(),
                    body: m["Body"].as_str().unwrap_or("").to_owned(),
                    receive_count: m["Attributes"]["ApproximateReceiveCount"].as_str().and_then(|c| c.parse().ok()).unwrap_or(0),
                    deleted,
                });
            }
        }
    });
}

/// Lambda's event queue of one function: events are invoked one after another, each with its retries.
fn event_queue(
    lambda: Arc<LambdaFunction>,
    config: AsyncConfig,
    sqs: Sqs,
    deliveries: Arc<Mutex<Vec<(String, Value, Delivery)>>>,
) -> mpsc::UnboundedSender<Value> {
    let (send, mut receive) = mpsc::unbounded_channel::<Value>();
    tokio::spawn(async move {
        while let Some(event) = receive.recv().await {
            let delivery = invoke_async(&lambda, &event, &config, &sqs).await;
            deliveries.lock().unwrap().push((lambda.name.clone(), event, delivery));
        }
    });
    send
}

/// SQS on moto through its JSON protocol.
#[derive(Clone)]
pub struct Sqs {
    endpoint: String,
    http: reqwest::Client,
}

impl Sqs {
    async fn call(&self, action: &str, body: Value) -> Value {
        let res = self
            .http
            .post(&self.endpoint)
            .header("x-amz-target", format!("AmazonSQS.{action}"))
            .header("content-type", "application/x-amz-json-1.0")
            .header(
                "authorization",
                "AWS4-HMAC-SHA256 Credential=staging/20260101/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=0",
            )
            .body(body.to_string())
            .send()
            .await
            .expect("moto answers");
        let status = res.status();
        let value: Value = res.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "SQS {action}: {status} {value}");
        value
    }

    pub async fn create(&self, name: &str) -> String {
        self.call("CreateQueue", json!({"QueueName": name})).await.get("QueueUrl").and_then(Value::as_str).expect("a queue URL").to_owned()
    }

    pub async fn url_of(&self, name: &str) -> String {
        self.call("GetQueueUrl", json!({"QueueName": name})).await["QueueUrl"].as_str().expect("a queue URL").to_owned()
    }

    pub async fn send(&self, queue: &str, body: &str) {
        self.call("SendMessage", json!({"QueueUrl": queue, "MessageBody": body})).await;
    }

    /// Up to ten messages (receipt handle, body), waiting up to `wait_seconds` for the first.
    pub async fn receive(&self, queue: &str, wait_seconds: u32) -> Vec<(String, String)> {
        let answer =
            self.call("ReceiveMessage", json!({"QueueUrl": queue, "MaxNumberOfMessages": 10, "WaitTimeSeconds": wait_seconds})).await;
        answer["Messages"]
            .as_array()
            .map(|m| {
                m.iter()
                    .map(|m| (m["ReceiptHandle"].as_str().unwrap_or("").to_owned(), m["Body"].as_str().unwrap_or("").to_owned()))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub async fn delete(&self, queue: &str, receipt: &str) {
        self.call("DeleteMessage", json!({"QueueUrl": queue, "ReceiptHandle": receipt})).await;
    }

    /// How many messages the queue holds (visible and in flight).
    pub async fn depth(&self, queue: &str) -> u64 {
        let a = self
            .call(
                "GetQueueAttributes",
                json!({"QueueUrl": queue, "AttributeNames": ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]}),
            )
            .await;
        ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
            .iter()
            .map(|k| a["Attributes"][k].as_str().and_then(|v| v.parse::<u64>().ok()).unwrap_or(0))
            .sum()
    }
}
