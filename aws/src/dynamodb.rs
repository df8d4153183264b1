//! [`MetadataStore`] on DynamoDB: one item per video, keyed by `id`, every write conditional on the version read.

use async_trait::async_trait;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, KeysAndAttributes, Projection,
    ProjectionType, ScalarAttributeType,
};
use framelift_shared::domain::{ListQuery, Page, PageKey, VideoId, VideoRecord};
use framelift_shared::ports::{MetadataStore, StoreError};
use std::collections::HashMap;

pub struct DynamoMetadata {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

/// The partition key of the table (the template declares the same).
pub const KEY: &str = "id";
/// The index of videos by status, newest first: partition `status`, sort `sortKey`.
pub const BY_STATUS: &str = "by-status";
/// The index of one owner's videos, newest first: partition `ownerId`, sort `sortKey`.
pub const BY_OWNER: &str = "by-owner";
/// Attributes derived from the record for the indexes: `createdAt#id` (text order is time order, ties by id), and the
/// author's id at the top level where an index can key on it.
pub const SORT_KEY: &str = "sortKey";
pub const OWNER_ID: &str = "ownerId";

impl DynamoMetadata {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }

    /// Creates the table as the template does, for tests against a local DynamoDB.
    pub async fn create_table(&self) -> Result<(), StoreError> {
        let attr = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(StoreError::unavailable)
        };
        let key = |name: &str, kind: KeyType| {
            KeySchemaElement::builder().attribute_name(name).key_type(kind).build().map_err(StoreError::unavailable)
        };
        let index = |name: &str, partition: &str| {
            GlobalSecondaryIndex::builder()
                .index_name(name)
                .key_schema(key(partition, KeyType::Hash)?)
                .key_schema(key(SORT_KEY, KeyType::Range)?)
                .projection(Projection::builder().projection_type(ProjectionType::All).build())
                .build()
                .map_err(StoreError::unavailable)
        };
        self.client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attr(KEY)?)
            .attribute_definitions(attr("status")?)
            .attribute_definitions(attr(OWNER_ID)?)
            .attribute_definitions(attr(SORT_KEY)?)
            .key_schema(key(KEY, KeyType::Hash)?)
            .global_secondary_indexes(index(BY_STATUS, "status")?)
            .global_secondary_indexes(index(BY_OWNER, OWNER_ID)?)
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    fn key(id: &VideoId) -> (String, AttributeValue) {
        (KEY.to_owned(), AttributeValue::S(id.to_string()))
    }

    /// After a lost conditional write: was there no record, or a different one?
    async fn explain_lost_condition(&self, id: &VideoId) -> StoreError {
        match self.get(id).await {
            Ok(None) => StoreError::NotFound,
            Ok(Some(_)) => StoreError::Conflict,
            Err(e) => e,
        }
    }
}

fn classify<E, R>(e: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match e.code() {
        Some("ConditionalCheckFailedException") => StoreError::Conflict,
        _ => StoreError::unavailable(e),
    }
}

fn to_item(record: &VideoRecord) -> Result<HashMap<String, AttributeValue>, StoreError> {
    let mut item: HashMap<String, AttributeValue> = serde_dynamo::to_item(record).map_err(StoreError::unavailable)?;
    item.insert(SORT_KEY.to_owned(), AttributeValue::S(PageKey::of(record).sort_value()));
    item.insert(OWNER_ID.to_owned(), AttributeValue::S(record.author.id.to_string()));
    Ok(item)
}

#[async_trait]
impl MetadataStore for DynamoMetadata {
    async fn insert(&self, record: &VideoRecord) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(record)?))
            .condition_expression("attribute_not_exists(#k)")
            .expression_attribute_names("#k", KEY)
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn get(&self, id: &VideoId) -> Result<Option<VideoRecord>, StoreError> {
        let (k, v) = Self::key(id);
        let out = self.client.get_item().table_name(&self.table).key(k, v).consistent_read(true).send().await.map_err(classify)?;
        out.item.map(|item| serde_dynamo::from_item(item).map_err(StoreError::unavailable)).transpose()
    }

    /// BatchGetItem, 100 keys a call, strongly consistent like `get`; keys DynamoDB leaves unprocessed (throttling)
    /// are asked again after a pause.
    async fn get_many(&self, ids: &[VideoId]) -> Result<Vec<Option<VideoRecord>>, StoreError> {
        let mut found: HashMap<VideoId, VideoRecord> = HashMap::with_capacity(ids.len());
        let mut unique: Vec<VideoId> = ids.to_vec();
        unique.sort();
        unique.dedup();
        for chunk in unique.chunks(100) {
            let keys = chunk.iter().map(|id| HashMap::from([Self::key(id)])).collect();
            let mut pending =
                Some(KeysAndAttributes::builder().set_keys(Some(keys)).consistent_read(true).build().map_err(StoreError::unavailable)?);
            let mut pauses = 0;
            while let Some(request) = pending.take() {
                let out = self.client.batch_get_item().request_items(&self.table, request).send().await.map_err(classify)?;
                for item in out.responses.and_then(|mut r| r.remove(&self.table)).unwrap_or_default() {
                    let record: VideoRecord = serde_dynamo::from_item(item).map_err(StoreError::unavailable)?;
                    found.insert(record.id, record);
                }
                pending = out.unprocessed_keys.and_then(|mut u| u.remove(&self.table)).filter(|k| !k.keys.is_empty());
                if pending.is_some() {
                    pauses += 1;
                    if pauses > 8 {
                        return Err(StoreError::Unavailable("DynamoDB left keys unprocessed 8 times in a row".into()));
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(25 << pauses.min(5))).await;
                }
            }
        }
        Ok(ids.iter().map(|id| found.get(id).cloned()).collect())
    }

    async fn replace(&self, next: &VideoRecord) -> Result<(), StoreError> {
        let expected = next.version.checked_sub(1).ok_or(StoreError::Conflict)?;
        let res = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(next)?))
            .condition_expression("#v = :expected")
            .expression_attribute_names("#v", "version")
            .expression_attribute_values(":expected", AttributeValue::N(expected.to_string()))
            .send()
            .await;
        match res.map_err(classify) {
            Ok(_) => Ok(()),
            Err(StoreError::Conflict) => Err(self.explain_lost_condition(&next.id).await),
            Err(e) => Err(e),
        }
    }

    async fn list(&self, query: &ListQuery, limit: usize, after: Option<&PageKey>) -> Result<Page, StoreError> {
        let (index, partition, value) = match query {
            ListQuery::Status(s) => (BY_STATUS, "status", s.as_str().to_owned()),
            ListQuery::Owner(o) => (BY_OWNER, OWNER_ID, o.to_string()),
        };
        let mut request = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(index)
            .key_condition_expression("#p = :p")
            .expression_attribute_names("#p", partition)
            .expression_attribute_values(":p", AttributeValue::S(value.clone()))
            .scan_index_forward(false)
            // One more than asked: it tells whether another page follows.
            .limit((limit + 1).min(1000) as i32);
        if let Some(k) = after {
            request = request
                .exclusive_start_key(KEY, AttributeValue::S(k.id.to_string()))
                .exclusive_start_key(partition, AttributeValue::S(value))
                .exclusive_start_key(SORT_KEY, AttributeValue::S(k.sort_value()));
        }
        let out = request.send().await.map_err(classify)?;
        let records = out
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|i| serde_dynamo::from_item(i).map_err(StoreError::unavailable))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_overfetch(records, limit))
    }

    async fn delete(&self, id: &VideoId, version: u64) -> Result<(), StoreError> {
        let (k, v) = Self::key(id);
        let res = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(k, v)
            .condition_expression("#v = :expected")
            .expression_attribute_names("#v", "version")
            .expression_attribute_values(":expected", AttributeValue::N(version.to_string()))
            .send()
            .await;
        match res.map_err(classify) {
            Ok(_) => Ok(()),
            Err(StoreError::Conflict) => Err(self.explain_lost_condition(id).await),
            Err(e) => Err(e),
        }
    }
}
