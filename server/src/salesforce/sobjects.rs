//! Writes and single-record reads: sObject Collections (create, update, upsert by external ID,
//! at most 200 records, `allOrNone=false`), sObject rows, describe and limits.

use super::backoff::backoff_delay;
use super::client::{Call, SalesforceClient};
use super::error::{is_transient_record_error, SalesforceError};
use super::types::{CollectionRequest, Describe, Limits, Record, SaveResult};
use super::wire::decode;
use bytes::Bytes;
use reqwest::Method;
use serde::Serialize;

/// Salesforce's cap on records per sObject Collections request.
pub const MAX_COLLECTION_RECORDS: usize = 200;

fn to_json<T: Serialize + ?Sized>(value: &T) -> Result<Bytes, SalesforceError> {
    serde_json::to_vec(value)
        .map(Bytes::from)
        .map_err(|e| SalesforceError::Config(format!("record cannot be encoded as JSON: {e}")))
}

impl SalesforceClient {
    /// Creates records; each must carry `attributes.type`. Results are in request order.
    /// Doc: <https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_sobjects_collections_create.htm>
    pub async fn create<R: Serialize>(
        &self,
        records: &[R],
    ) -> Result<Vec<SaveResult>, SalesforceError> {
        let path = format!("{}/composite/sobjects", self.config().data_path());
        self.collection(Method::POST, &path, records).await
    }

    /// Updates records; each must carry `attributes.type` and `id`.
    /// Doc: <https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_sobjects_collections_update.htm>
    pub async fn update<R: Serialize>(
        &self,
        records: &[R],
    ) -> Result<Vec<SaveResult>, SalesforceError> {
        let path = format!("{}/composite/sobjects", self.config().data_path());
        self.collection(Method::PATCH, &path, records).await
    }

    /// Creates or updates records of `sobject` matched on `external_id_field`; each result says
    /// whether it `created` the record.
    /// Doc: <https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_sobjects_collections_upsert.htm>
    pub async fn upsert<R: Serialize>(
        &self,
        sobject: &str,
        external_id_field: &str,
        records: &[R],
    ) -> Result<Vec<SaveResult>, SalesforceError> {
        let path = format!(
            "{}/composite/sobjects/{sobject}/{external_id_field}",
            self.config().data_path()
        );
        self.collection(Method::PATCH, &path, records).await
    }

    /// Sends one collection; records that failed only with `UNABLE_TO_LOCK_ROW` are sent again
    /// (alone, with backoff) and their final result replaces the first one, keeping the order.
    async fn collection<R: Serialize>(
        &self,
        method: Method,
        path: &str,
        records: &[R],
    ) -> Result<Vec<SaveResult>, SalesforceError> {
        if records.len() > MAX_COLLECTION_RECORDS {
            return Err(SalesforceError::TooManyRecords(records.len()));
        }
        let policy = self.config().retry;
        let mut results: Vec<Option<SaveResult>> = vec![None; records.len()];
        let mut pending: Vec<usize> = (0..records.len()).collect();
        let mut retry = 0u32;
        while !pending.is_empty() {
            let batch: Vec<&R> = pending.iter().map(|&i| &records[i]).collect();
            let mut call = Call::new(method.clone(), path);
            call.json = Some(to_json(&CollectionRequest { all_or_none: false, records: batch })?);
            let (status, body) = self.execute(&call).await?;
            let answers: Vec<SaveResult> = decode(status, &body)?;
            if answers.len() != pending.len() {
                return Err(SalesforceError::UnexpectedResponse {
                    status: status.as_u16(),
                    detail: format!("{} results for {} records", answers.len(), pending.len()),
                });
            }
            let can_retry = retry + 1 < policy.max_attempts;
            let mut locked = Vec::new();
            for (index, answer) in pending.iter().zip(answers) {
                if can_retry
                    && !answer.success
                    && answer.errors.iter().any(is_transient_record_error)
                {
                    locked.push(*index);
                }
                results[*index] = Some(answer);
            }
            if !locked.is_empty() {
                tokio::time::sleep(backoff_delay(&policy, retry, rand::random::<f64>())).await;
                retry += 1;
            }
            pending = locked;
        }
        Ok(results.into_iter().flatten().collect())
    }

    /// `POST /sobjects/{type}`: creates one record and returns its ID.
    /// Doc: <https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_sobject_create.htm>
    pub async fn create_record<R: Serialize>(
        &self,
        sobject: &str,
        record: &R,
    ) -> Result<String, SalesforceError> {
        let path = format!("{}/sobjects/{sobject}", self.config().data_path());
        let mut call = Call::new(Method::POST, &path);
        call.json = Some(to_json(record)?);
        let (status, body) = self.execute(&call).await?;
        let result: SaveResult = decode(status, &body)?;
        result.id.ok_or_else(|| SalesforceError::UnexpectedResponse {
            status: status.as_u16(),
            detail: "created record has no id".into(),
        })
    }

    /// `GET /sobjects/{type}/{id}`, optionally limited to `fields`.
    /// Doc: <https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_get_field_values.htm>
    pub async fn get_record(
        &self,
        sobject: &str,
        id: &str,
        fields: &[&str],
    ) -> Result<Record, SalesforceError> {
        let path = format!("{}/sobjects/{sobject}/{id}", self.config().data_path());
        let joined = fields.join(",");
        let query = [("fields", joined.as_str())];
        let mut call = Call::new(Method::GET, &path);
        if !fields.is_empty() {
            call.query = &query;
        }
        let (status, body) = self.execute(&call).await?;
        decode(status, &body)
    }

    /// `PATCH /sobjects/{type}/{id}`: answers 204 No Content on success.
    /// Doc: <https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_update_fields.htm>
    pub async fn update_record<R: Serialize>(
        &self,
        sobject: &str,
        id: &str,
        record: &R,
    ) -> Result<(), SalesforceError> {
        let path = format!("{}/sobjects/{sobject}/{id}", self.config().data_path());
        let mut call = Call::new(Method::PATCH, &path);
        call.json = Some(to_json(record)?);
        self.execute(&call).await.map(|_| ())
    }

    /// `DELETE /sobjects/{type}/{id}`: moves the record to the recycle bin.
    /// Doc: <https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_delete_record.htm>
    pub async fn delete_record(&self, sobject: &str, id: &str) -> Result<(), SalesforceError> {
        let path = format!("{}/sobjects/{sobject}/{id}", self.config().data_path());
        self.execute(&Call::new(Method::DELETE, &path)).await.map(|_| ())
    }

    /// `GET /sobjects/{type}/describe`.
    /// Doc: <https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_sobject_describe.htm>
    pub async fn describe(&self, sobject: &str) -> Result<Describe, SalesforceError> {
        let path = format!("{}/sobjects/{sobject}/describe", self.config().data_path());
        let (status, body) = self.execute(&Call::new(Method::GET, &path)).await?;
        decode(status, &body)
    }

    /// `GET /limits`: the org's limits, `DailyApiRequests` among them.
    /// Doc: <https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_limits.htm>
    pub async fn limits(&self) -> Result<Limits, SalesforceError> {
        let path = format!("{}/limits", self.config().data_path());
        let (status, body) = self.execute(&Call::new(Method::GET, &path)).await?;
        decode(status, &body)
    }
}
