//! The search index on OpenSearch, through the `opensearch` crate: Amazon OpenSearch Service (requests signed with
//! SigV4) or any cluster by URL. The index and its mapping are created on first use.
//!
//! The query is the original design's, a `simple_query_string` over title, author and description or-ed with fuzzy
//! matches at `AUTO` fuzziness, plus a `bool_prefix` clause so the last word matches as a prefix while someone types.
//! [`OpenSearchIndex::mapping`] and [`OpenSearchIndex::query`] are pinned by tests against a recording server.

use async_trait::async_trait;
use framelift_shared::config::AwsResources;
use framelift_shared::domain::{SEARCH_FIELDS, SearchDocument, SearchHits, SearchText, VideoId};
use framelift_shared::ports::{SearchIndex, StoreError};
use opensearch::http::StatusCode;
use opensearch::http::response::Response;
use opensearch::http::transport::{SingleNodeConnectionPool, TransportBuilder};
use opensearch::indices::{IndicesCreateParts, IndicesExistsParts};
use opensearch::params::Refresh;
use opensearch::{DeleteParts, IndexParts, OpenSearch, SearchParts};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// A deployed function's search index (a `framelift_aws::lambda::SearchFactory`): Amazon OpenSearch Service, signed
/// with the function's credentials, when the endpoint is AWS's; any other cluster by its URL.
pub fn search_index(sdk: &aws_config::SdkConfig, aws: &AwsResources) -> Result<Arc<dyn SearchIndex>, lambda_http::Error> {
    let signing = match (Signing::aws_service_of(&aws.opensearch_url), sdk.credentials_provider(), sdk.region()) {
        (Some(service), Some(credentials), Some(region)) => Signing::Aws { credentials, region: region.clone(), service },
        (Some(_), _, _) => return Err("an AWS OpenSearch endpoint needs AWS credentials and a region".into()),
        (None, _, _) => Signing::None,
    };
    Ok(Arc::new(OpenSearchIndex::connect(&aws.opensearch_url, &aws.search_index, signing)?))
}

/// How a deployment reaches its cluster.
pub enum Signing {
    /// Plain HTTP(S), for a cluster on loopback or behind its own proxy.
    None,
    /// SigV4 for Amazon OpenSearch Service (`es`) or OpenSearch Serverless (`aoss`).
    Aws { credentials: aws_credential_types::provider::SharedCredentialsProvider, region: aws_config::Region, service: &'static str },
}

impl Signing {
    /// The AWS service an endpoint's host name belongs to, if it is an AWS endpoint.
    pub fn aws_service_of(url: &str) -> Option<&'static str> {
        let host = url::Url::parse(url).ok()?.host_str()?.to_owned();
        if host.ends_with(".aoss.amazonaws.com") {
            Some("aoss")
        } else if host.ends_with(".es.amazonaws.com") {
            Some("es")
        } else {
            None
        }
    }
}

pub struct OpenSearchIndex {
    client: OpenSearch,
    index: String,
    created: tokio::sync::OnceCell<()>,
}

impl OpenSearchIndex {
    pub fn connect(url: &str, index: &str, signing: Signing) -> Result<Self, StoreError> {
        let url = url::Url::parse(url).map_err(StoreError::unavailable)?;
        let mut builder = TransportBuilder::new(SingleNodeConnectionPool::new(url)).timeout(Duration::from_secs(10));
        if let Signing::Aws { credentials, region, service } = signing {
            builder = builder.auth(opensearch::auth::Credentials::AwsSigV4(credentials, region)).service_name(service);
        }
        let transport = builder.build().map_err(StoreError::unavailable)?;
        Ok(Self { client: OpenSearch::new(transport), index: index.to_owned(), created: tokio::sync::OnceCell::new() })
    }

    /// The index's settings and mapping: one analyzer that folds case and accents for every searched field, no
    /// fields but ours.
    pub fn mapping() -> Value {
        let text = json!({"type": "text", "analyzer": "folded"});
        json!({
            "settings": {
                "index": {"number_of_shards": 1},
                "analysis": {"analyzer": {"folded": {"type": "custom", "tokenizer": "standard", "filter": ["lowercase", "asciifolding"]}}}
            },
            "mappings": {
                "dynamic": "strict",
                "properties": {"title": text, "author": text, "description": text, "createdAt": {"type": "date"}}
            }
        })
    }

    /// The search request's body.
    pub fn query(text: &SearchText, limit: usize) -> Value {
        let fields: Vec<String> = SEARCH_FIELDS.iter().map(|(f, boost)| format!("{f}^{boost}")).collect();
        let q = text.as_str();
        json!({
            "size": limit,
            "track_total_hits": true,
            "_source": false,
            "query": {"bool": {
                "should": [
                    {"simple_query_string": {"query": q, "fields": fields, "default_operator": "or"}},
                    {"multi_match": {"query": q, "fields": fields, "fuzziness": "AUTO", "fuzzy_transpositions": true}},
                    {"multi_match": {"query": q, "fields": fields, "type": "bool_prefix"}}
                ],
                "minimum_should_match": 1
            }},
            "sort": ["_score", {"createdAt": "desc"}]
        })
    }

    async fn ensure_index(&self) -> Result<(), StoreError> {
        self.created
            .get_or_try_init(|| async {
                let exists = self.client.indices().exists(IndicesExistsParts::Index(&[&self.index])).send().await.map_err(unavailable)?;
                if exists.status_code() == StatusCode::OK {
                    return Ok(());
                }
                let res = self
                    .client
                    .indices()
                    .create(IndicesCreateParts::Index(&self.index))
                    .body(Self::mapping())
                    .send()
                    .await
                    .map_err(unavailable)?;
                match body_of(res).await {
                    Ok(_) => Ok(()),
                    // Another function created it between our two requests.
                    Err((StatusCode::BAD_REQUEST, body)) if body.contains("resource_already_exists_exception") => Ok(()),
                    Err((status, body)) => Err(refused("creating the index", status, &body)),
                }
            })
            .await
            .map(|_| ())
    }
}

fn unavailable(e: opensearch::Error) -> StoreError {
    StoreError::unavailable(e)
}

fn refused(what: &str, status: StatusCode, body: &str) -> StoreError {
    let body: String = body.chars().take(500).collect();
    StoreError::Unavailable(format!("OpenSearch refused {what}: {status} {body}").into())
}

/// The JSON body of a 2xx response, or the status and text of another.
async fn body_of(res: Response) -> Result<Value, (StatusCode, String)> {
    let status = res.status_code();
    let text = res.text().await.map_err(|e| (status, e.to_string()))?;
    if status.is_success() { Ok(serde_json::from_str(&text).unwrap_or(Value::Null)) } else { Err((status, text)) }
}

#[async_trait]
impl SearchIndex for OpenSearchIndex {
    async fn put(&self, doc: &SearchDocument) -> Result<(), StoreError> {
        self.ensure_index().await?;
        let id = doc.id.to_string();
        let res = self
            .client
            .index(IndexParts::IndexId(&self.index, &id))
            .refresh(Refresh::WaitFor)
            .body(doc)
            .send()
            .await
            .map_err(unavailable)?;
        body_of(res).await.map(|_| ()).map_err(|(status, body)| refused("a document", status, &body))
    }

    async fn remove(&self, id: &VideoId) -> Result<(), StoreError> {
        self.ensure_index().await?;
        let id = id.to_string();
        let res = self.client.delete(DeleteParts::IndexId(&self.index, &id)).refresh(Refresh::WaitFor).send().await.map_err(unavailable)?;
        match body_of(res).await {
            Ok(_) | Err((StatusCode::NOT_FOUND, _)) => Ok(()),
            Err((status, body)) => Err(refused("a removal", status, &body)),
        }
    }

    async fn search(&self, text: &SearchText, limit: usize) -> Result<SearchHits, StoreError> {
        self.ensure_index().await?;
        let res =
            self.client.search(SearchParts::Index(&[&self.index])).body(Self::query(text, limit)).send().await.map_err(unavailable)?;
        let body = body_of(res).await.map_err(|(status, body)| refused("a search", status, &body))?;
        parse_hits(&body).ok_or_else(|| StoreError::Unavailable("OpenSearch answered a search with an unexpected body".into()))
    }
}

/// The ids and total of a search response; ids that are not ours are skipped.
pub fn parse_hits(body: &Value) -> Option<SearchHits> {
    let hits = body.get("hits")?;
    let total = hits.get("total").and_then(|t| t.get("value").or(Some(t))).and_then(Value::as_u64)?;
    let ids = hits.get("hits")?.as_array()?.iter().filter_map(|h| h.get("_id")?.as_str()?.parse().ok()).collect();
    Some(SearchHits { ids, total })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_endpoints_are_signed_for_their_service() {
        assert_eq!(Signing::aws_service_of("https://search-framelift-abc.eu-west-1.es.amazonaws.com"), Some("es"));
        assert_eq!(Signing::aws_service_of("https://abc123.us-east-1.aoss.amazonaws.com"), Some("aoss"));
        assert_eq!(Signing::aws_service_of("http://127.0.0.1:9200"), None);
        assert_eq!(Signing::aws_service_of("https://es.amazonaws.com.evil.example"), None);
    }

    #[test]
    fn hits_are_read_from_either_total_shape() {
        let id = VideoId::generate();
        let body = json!({"hits": {"total": {"value": 7, "relation": "eq"}, "hits": [{"_id": id.to_string()}, {"_id": "not-ours"}]}});
        assert_eq!(parse_hits(&body), Some(SearchHits { ids: vec![id], total: 7 }));
        assert_eq!(parse_hits(&json!({"hits": {"total": 0, "hits": []}})), Some(SearchHits::default()));
        assert_eq!(parse_hits(&json!({"error": "x"})), None);
    }
}
