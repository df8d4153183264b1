//! A plain HTTP client of the API, as any outside client would use it.

use serde_json::Value;

pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
}

impl Api {
    pub fn new(base: &str) -> Self {
        Self { http: reqwest::Client::new(), base: base.trim_end_matches('/').to_owned() }
    }

    /// A dev token for `name`.
    pub async fn token(&self, name: &str) -> String {
        let res = self.http.post(format!("{}/dev/token", self.base)).json(&serde_json::json!({"name": name})).send().await.unwrap();
        assert_eq!(res.status(), 200);
        res.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned()
    }

    /// Calls the API and returns the status and JSON body (`null` when empty).
    pub async fn call(&self, method: &str, path: &str, body: Option<Value>, token: Option<&str>) -> (u16, Value) {
        let mut req = self.http.request(method.parse().unwrap(), format!("{}{}", self.base, path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("the server answers");
        let status = res.status().as_u16();
        let bytes = res.bytes().await.unwrap();
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&bytes)))
        };
        if status >= 400 {
            let message = value["error"]["message"].as_str().unwrap_or("");
            assert!(
                !message.is_empty() && value["error"]["code"].is_string(),
                "{method} {path}: {status} without the error shape: {value}"
            );
        }
        (status, value)
    }

    /// Presigned URLs for `parts` of upload `id`.
    pub async fn part_urls(&self, id: &str, parts: &[u32], token: &str) -> Vec<String> {
        let (status, res) =
            self.call("POST", &format!("/api/uploads/{id}/part-urls"), Some(serde_json::json!({"partNumbers": parts})), Some(token)).await;
        assert_eq!(status, 200, "{res}");
        parts.iter().map(|n| res["urls"][n.to_string()].as_str().unwrap().to_owned()).collect()
    }

    /// PUTs a part's bytes to its URL; returns the status and the ETag header. The status is 0 when storage closed the
    /// connection without an answer the client could read: it refuses a body before reading it, and a client still
    /// sending megabytes may see the close before the 403.
    pub async fn put_part(&self, url: &str, bytes: Vec<u8>) -> (u16, Option<String>) {
        let Ok(res) = self.http.put(url).body(bytes).send().await else { return (0, None) };
        let etag = res.headers().get("etag").map(|v| v.to_str().unwrap().to_owned());
        (res.status().as_u16(), etag)
    }
}

/// `len` bytes that differ from part to part and file to file.
pub fn test_bytes(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[1] ^ seed).collect()
}

impl Api {
    /// Uploads `bytes` as a video through the whole multipart flow and completes it; returns the video id.
    pub async fn upload(&self, bytes: &[u8], title: &str, token: &str) -> String {
        self.upload_with(bytes, serde_json::json!({"title": title}), token).await
    }

    /// [`Api::upload`] with `fields` (title, description, visibility) in the initialize request.
    pub async fn upload_with(&self, bytes: &[u8], fields: Value, token: &str) -> String {
        let mut body = serde_json::json!({"filename": "clip.mp4", "contentType": "video/mp4", "size": bytes.len()});
        for (k, v) in fields.as_object().into_iter().flatten() {
            body[k] = v.clone();
        }
        let (status, init) = self.call("POST", "/api/uploads", Some(body), Some(token)).await;
        assert_eq!(status, 201, "{init}");
        let id = init["video"]["id"].as_str().unwrap().to_owned();
        let part_size = init["partSize"].as_u64().unwrap() as usize;
        let count = init["partCount"].as_u64().unwrap() as u32;
        let numbers: Vec<u32> = (1..=count).collect();
        let urls = self.part_urls(&id, &numbers, token).await;
        for (url, chunk) in urls.iter().zip(bytes.chunks(part_size)) {
            assert_eq!(self.put_part(url, chunk.to_vec()).await.0, 200);
        }
        let (status, done) = self.call("POST", &format!("/api/uploads/{id}/complete"), Some(serde_json::json!({})), Some(token)).await;
        assert_eq!(status, 200, "{done}");
        id
    }
}

impl Api {
    /// Polls the video's detail as `token`'s owner until it is `ready` or `failed` (at most `within`); returns it.
    pub async fn wait_settled(&self, id: &str, token: &str, within: std::time::Duration) -> Value {
        let deadline = std::time::Instant::now() + within;
        loop {
            let (status, detail) = self.call("GET", &format!("/api/videos/{id}"), None, Some(token)).await;
            assert_eq!(status, 200, "{detail}");
            let video = &detail["video"];
            if video["status"] == "ready" || video["status"] == "failed" {
                return video.clone();
            }
            assert!(std::time::Instant::now() < deadline, "still {} after {within:?}: {video}", video["status"]);
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
    }
}
