//! [`MetadataStore`] on DynamoDB: one item per video, keyed by `id`, every write conditional on the version read.

use crate::domain::{VideoId, VideoRecord};
use crate::ports::{MetadataStore, StoreError};
use async_trait::async_trait;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType};

pub struct DynamoMetadata {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

/// The partition key of the table (the template declares the same).
pub const KEY: &str = "id";

impl DynamoMetadata {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }

    /// Creates the table as the template does, for tests against a local DynamoDB.
    pub async fn create_table(&self) -> Result<(), StoreError> {
        self.client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(KEY)
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .map_err(StoreError::unavailable)?,
            )
            .key_schema(KeySchemaElement::builder().attribute_name(KEY).key_type(KeyType::Hash).build().map_err(StoreError::unavailable)?)
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

fn to_item(record: &VideoRecord) -> Result<std::collections::HashMap<String, AttributeValue>, StoreError> {
    serde_dynamo::to_item(record).map_err(StoreError::unavailable)
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
