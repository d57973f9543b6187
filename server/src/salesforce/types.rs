//! Wire types of the REST API, shared by the client and the local org so that both speak exactly
//! the same JSON. Field names follow Salesforce's casing.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A record as Salesforce sends it: `attributes` plus the selected fields.
pub type Record = serde_json::Map<String, serde_json::Value>;

/// Successful token response of `/services/oauth2/token`.
/// Doc: <https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_web_server_flow.htm>
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TokenResponse {
    pub access_token: String,
    /// Only sent by the authorization-code grant; the refresh grant keeps the old one valid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    pub instance_url: String,
    /// Identity URL: `https://login.salesforce.com/id/<org id>/<user id>`.
    pub id: String,
    pub token_type: String,
    /// Milliseconds since the epoch, as a string.
    pub issued_at: String,
    /// Base64 HMAC-SHA256 of `id + issued_at`, keyed with the client secret.
    pub signature: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// `GET /services/oauth2/userinfo`: who the access token belongs to (OpenID Connect claims).
/// Doc: <https://help.salesforce.com/s/articleView?id=sf.remoteaccess_using_userinfo_endpoint.htm>
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct UserInfo {
    /// The identity URL, as in the token response's `id`.
    pub sub: String,
    pub user_id: String,
    pub organization_id: String,
    /// The Salesforce username of the integration user.
    pub preferred_username: String,
    #[serde(default)]
    pub nickname: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub email_verified: bool,
    #[serde(default)]
    pub given_name: String,
    #[serde(default)]
    pub family_name: String,
    #[serde(default)]
    pub zoneinfo: String,
    #[serde(default)]
    pub active: bool,
    #[serde(default)]
    pub user_type: String,
    #[serde(default)]
    pub language: String,
    #[serde(default)]
    pub locale: String,
    #[serde(rename = "utcOffset", default)]
    pub utc_offset: i64,
    #[serde(default)]
    pub updated_at: String,
}

/// Error body of the OAuth endpoints: `{"error":"invalid_grant","error_description":"..."}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OAuthErrorBody {
    pub error: String,
    #[serde(default)]
    pub error_description: String,
}

/// One element of a whole-request error body, which is always a JSON array.
/// Doc: <https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm>
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ApiErrorBody {
    pub message: String,
    #[serde(rename = "errorCode")]
    pub error_code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<Vec<String>>,
}

/// A per-record error inside a SaveResult: note `statusCode`, not `errorCode`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RecordError {
    #[serde(rename = "statusCode")]
    pub status_code: String,
    pub message: String,
    #[serde(default)]
    pub fields: Vec<String>,
    /// Only with `DUPLICATES_DETECTED`: which duplicate rule fired and on which records.
    #[serde(rename = "duplicateResult", default, skip_serializing_if = "Option::is_none")]
    pub duplicate_result: Option<Box<DuplicateResult>>,
}

impl RecordError {
    pub fn new(status_code: &str, message: impl Into<String>, fields: &[&str]) -> Self {
        Self {
            status_code: status_code.to_string(),
            message: message.into(),
            fields: fields.iter().map(|f| f.to_string()).collect(),
            duplicate_result: None,
        }
    }
}

/// What a duplicate rule found: the `duplicateResult` of a `DUPLICATES_DETECTED` error.
/// Doc: <https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_objects_duplicateresult.htm>
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DuplicateResult {
    pub allow_save: bool,
    pub duplicate_rule: String,
    pub duplicate_rule_entity_type: String,
    pub error_message: String,
    #[serde(default)]
    pub match_results: Vec<MatchResult>,
}

/// The duplicates one matching rule found.
/// Doc: <https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_objects_matchresult.htm>
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MatchResult {
    pub entity_type: String,
    #[serde(default)]
    pub errors: Vec<RecordError>,
    pub match_engine: String,
    #[serde(default)]
    pub match_records: Vec<MatchRecord>,
    pub rule: String,
    pub size: u32,
    pub success: bool,
}

/// One existing record a matching rule matched.
/// Doc: <https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_objects_matchrecord.htm>
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MatchRecord {
    #[serde(default)]
    pub additional_information: Vec<serde_json::Value>,
    #[serde(default)]
    pub field_diffs: Vec<serde_json::Value>,
    pub match_confidence: f64,
    /// `attributes` and `Id` of the matched record.
    pub record: Record,
}

/// The result of one record in an sObject Collections request, in request order.
/// Doc: <https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_sobjects_collections_create.htm>
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SaveResult {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub success: bool,
    #[serde(default)]
    pub errors: Vec<RecordError>,
    /// Only in upsert results: whether the record was created rather than updated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<bool>,
}

/// Body of an sObject Collections POST/PATCH.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CollectionRequest<R> {
    #[serde(rename = "allOrNone")]
    pub all_or_none: bool,
    pub records: Vec<R>,
}

/// One page of a query result.
/// Doc: <https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_query.htm>
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct QueryPage<T> {
    #[serde(rename = "totalSize")]
    pub total_size: u64,
    pub done: bool,
    #[serde(rename = "nextRecordsUrl", default, skip_serializing_if = "Option::is_none")]
    pub next_records_url: Option<String>,
    pub records: Vec<T>,
}

/// `attributes` of a record.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Attributes {
    #[serde(rename = "type")]
    pub sobject_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// Successful single-record create: `201 {"id": "...", "success": true, "errors": []}`.
pub type CreateResponse = SaveResult;

/// One entry of `/limits`: `{"Max": 15000, "Remaining": 14998}`.
/// Doc: <https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_limits.htm>
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct LimitValue {
    #[serde(rename = "Max")]
    pub max: i64,
    #[serde(rename = "Remaining")]
    pub remaining: i64,
}

/// The `/limits` body: limit name to values (other keys Salesforce nests are ignored).
pub type Limits = BTreeMap<String, LimitValue>;

/// API usage as reported by `Sforce-Limit-Info: api-usage=18/5000`.
/// Doc: <https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_api_usage.htm>
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiUsage {
    pub used: u64,
    pub max: u64,
}

impl ApiUsage {
    /// Name of the response header that carries the usage.
    pub const HEADER: &'static str = "sforce-limit-info";

    /// Parses the header value; it may list several entries, of which only `api-usage` is read.
    /// The guide separates entries with "; " (`api-usage=25/5000;
    /// per-app-api-usage=17/250(appName=sample-connected-app)`); commas are accepted too, as
    /// some proxies join repeated headers with them. Returns `None` for anything unreadable
    /// (the header is informative).
    pub fn parse_header(value: &str) -> Option<Self> {
        value.split([';', ',']).find_map(|part| {
            let (key, rest) = part.trim().split_once('=')?;
            if key.trim() != "api-usage" {
                return None;
            }
            let (used, max) = rest.trim().split_once('/')?;
            Some(Self { used: used.trim().parse().ok()?, max: max.trim().parse().ok()? })
        })
    }

    /// The value the local org sends: the guide's single-entry form, `api-usage=18/5000`.
    pub fn header_value(&self) -> String {
        format!("api-usage={}/{}", self.used, self.max)
    }
}

/// `/sobjects/{type}/describe`: the keys every describe carries (a real org sends more, which
/// are ignored). Keys added after the first version default, so an older body still reads.
/// Doc: <https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_sobject_describe.htm>
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Describe {
    pub name: String,
    pub label: String,
    #[serde(default)]
    pub label_plural: String,
    pub custom: bool,
    pub key_prefix: Option<String>,
    pub createable: bool,
    pub updateable: bool,
    #[serde(default)]
    pub deletable: bool,
    pub queryable: bool,
    #[serde(default)]
    pub retrieveable: bool,
    #[serde(default)]
    pub searchable: bool,
    /// `sobject`, `describe`, `rowTemplate`: resource name to URL.
    #[serde(default)]
    pub urls: BTreeMap<String, String>,
    pub fields: Vec<FieldDescribe>,
}

/// One field of a describe.
/// Doc: <https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_describesobjects_describesobjectresult.htm#field>
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldDescribe {
    pub name: String,
    pub label: String,
    #[serde(rename = "type")]
    pub field_type: String,
    /// `xsd:string`, `tns:ID`, `xsd:boolean`, ...
    #[serde(default)]
    pub soap_type: String,
    pub length: u32,
    #[serde(default)]
    pub byte_length: u32,
    #[serde(default)]
    pub precision: u32,
    #[serde(default)]
    pub scale: u32,
    #[serde(default)]
    pub digits: u32,
    pub nillable: bool,
    pub createable: bool,
    pub updateable: bool,
    #[serde(default)]
    pub defaulted_on_create: bool,
    /// `false` for checkboxes, otherwise usually `null`.
    #[serde(default)]
    pub default_value: serde_json::Value,
    pub custom: bool,
    #[serde(default)]
    pub calculated: bool,
    #[serde(default)]
    pub auto_number: bool,
    pub external_id: bool,
    #[serde(default)]
    pub id_lookup: bool,
    pub unique: bool,
    #[serde(default)]
    pub case_sensitive: bool,
    #[serde(default)]
    pub filterable: bool,
    #[serde(default)]
    pub sortable: bool,
    #[serde(default)]
    pub groupable: bool,
    #[serde(default)]
    pub name_field: bool,
    pub restricted_picklist: bool,
    pub picklist_values: Vec<PicklistValue>,
    pub reference_to: Vec<String>,
    /// `Account` for `AccountId`, `Contact__r` for `Contact__c`; `null` for non-lookups.
    #[serde(default)]
    pub relationship_name: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PicklistValue {
    pub active: bool,
    #[serde(rename = "defaultValue")]
    pub default_value: bool,
    pub label: String,
    pub value: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_limit_header() {
        assert_eq!(
            ApiUsage::parse_header("api-usage=18/5000"),
            Some(ApiUsage { used: 18, max: 5000 })
        );
        assert_eq!(
            ApiUsage::parse_header("per-app-api-usage=17/250(appName=sample), api-usage=25/5000"),
            Some(ApiUsage { used: 25, max: 5000 })
        );
        assert_eq!(ApiUsage::parse_header("api-usage=x/5000"), None);
        assert_eq!(ApiUsage::parse_header("per-app-api-usage=17/250(appName=sample)"), None);
    }

    /// The examples of the REST API Developer Guide's "Limit Info Header" page, verbatim.
    #[test]
    fn parses_the_documented_limit_headers() {
        assert_eq!(
            ApiUsage::parse_header(
                "api-usage=25/5000; per-app-api-usage=17/250(appName=sample-connected-app)"
            ),
            Some(ApiUsage { used: 25, max: 5000 })
        );
        assert_eq!(
            ApiUsage::parse_header("api-usage=10018/100000; api-bursts=1/750"),
            Some(ApiUsage { used: 10018, max: 100_000 })
        );
        assert_eq!(
            ApiUsage::parse_header(
                "per-app-api-usage=17/250(appName=sample-connected-app); api-usage=26/5000"
            ),
            Some(ApiUsage { used: 26, max: 5000 }),
            "api-usage need not come first"
        );
        assert_eq!(
            ApiUsage::parse_header("api-usage=10018/100000"),
            Some(ApiUsage { used: 10018, max: 100_000 })
        );
        let emitted = ApiUsage { used: 18, max: 5000 }.header_value();
        assert_eq!(emitted, "api-usage=18/5000");
        assert_eq!(ApiUsage::parse_header(&emitted), Some(ApiUsage { used: 18, max: 5000 }));
        assert_eq!(ApiUsage { used: 1, max: 2 }.header_value(), "api-usage=1/2");
    }

    #[test]
    fn save_results_read_the_documented_shape() {
        let body = r#"[{"id":"001RM000003oLnnYAE","success":true,"errors":[]},
            {"success":false,"errors":[{"statusCode":"REQUIRED_FIELD_MISSING",
            "message":"Required fields are missing: [Name]","fields":["Name"]}]}]"#;
        let results: Vec<SaveResult> = serde_json::from_str(body).unwrap();
        assert!(results[0].success);
        assert_eq!(results[1].errors[0].status_code, "REQUIRED_FIELD_MISSING");
        assert_eq!(results[1].errors[0].fields, vec!["Name"]);
    }

    #[test]
    fn limits_read_the_documented_shape() {
        let body = r#"{"DailyApiRequests":{"Max":15000,"Remaining":14998},
            "DataStorageMB":{"Max":5,"Remaining":5}}"#;
        let limits: Limits = serde_json::from_str(body).unwrap();
        assert_eq!(limits["DailyApiRequests"], LimitValue { max: 15000, remaining: 14998 });
    }
}
