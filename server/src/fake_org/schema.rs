//! The objects the local org knows: standard sales objects plus one custom event object, with
//! their field types, lengths, picklists and which fields are required — what `describe` reports
//! and what writes are validated against.
//!
//! Doc: <https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_lead.htm>
//! (and the Contact, Account, Opportunity, OpportunityContactRole pages beside it).

use crate::salesforce::types::{Describe, FieldDescribe, PicklistValue};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    Id,
    Boolean,
    DateTime,
    Date,
    String,
    TextArea,
    Email,
    Phone,
    Url,
    Picklist,
    Currency,
    Reference,
}

impl FieldType {
    /// The name `describe` uses.
    pub fn wire_name(self) -> &'static str {
        match self {
            FieldType::Id => "id",
            FieldType::Boolean => "boolean",
            FieldType::DateTime => "datetime",
            FieldType::Date => "date",
            FieldType::String => "string",
            FieldType::TextArea => "textarea",
            FieldType::Email => "email",
            FieldType::Phone => "phone",
            FieldType::Url => "url",
            FieldType::Picklist => "picklist",
            FieldType::Currency => "currency",
            FieldType::Reference => "reference",
        }
    }

    pub fn is_text(self) -> bool {
        matches!(
            self,
            FieldType::String
                | FieldType::TextArea
                | FieldType::Email
                | FieldType::Phone
                | FieldType::Url
                | FieldType::Picklist
                | FieldType::Id
                | FieldType::Reference
        )
    }
}

#[derive(Debug, Clone)]
pub struct FieldDef {
    pub name: &'static str,
    pub label: &'static str,
    pub ty: FieldType,
    pub length: u32,
    /// Must have a value on insert (and may not be cleared on update).
    pub required: bool,
    /// Writable through the API (system and formula-like fields are not).
    pub writable: bool,
    pub external_id: bool,
    pub picklist: &'static [&'static str],
    /// Only the listed picklist values are accepted.
    pub restricted: bool,
    /// Default set on insert when the field is absent.
    pub default: Option<&'static str>,
    pub reference_to: &'static [&'static str],
}

const fn field(name: &'static str, label: &'static str, ty: FieldType, length: u32) -> FieldDef {
    FieldDef {
        name,
        label,
        ty,
        length,
        required: false,
        writable: true,
        external_id: false,
        picklist: &[],
        restricted: false,
        default: None,
        reference_to: &[],
    }
}

impl FieldDef {
    const fn required(mut self) -> Self {
        self.required = true;
        self
    }
    const fn read_only(mut self) -> Self {
        self.writable = false;
        self
    }
    const fn external_id(mut self) -> Self {
        self.external_id = true;
        self
    }
    const fn picklist(mut self, values: &'static [&'static str], restricted: bool) -> Self {
        self.picklist = values;
        self.restricted = restricted;
        self
    }
    const fn default(mut self, value: &'static str) -> Self {
        self.default = Some(value);
        self
    }
    const fn references(mut self, to: &'static [&'static str]) -> Self {
        self.reference_to = to;
        self
    }
    pub fn custom(&self) -> bool {
        self.name.ends_with("__c")
    }
}

#[derive(Debug)]
pub struct ObjectDef {
    pub name: &'static str,
    pub label: &'static str,
    pub key_prefix: &'static str,
    /// System fields first (see [`SYSTEM_FIELDS`]), then the object's own.
    pub fields: Vec<FieldDef>,
    /// A duplicate rule matches records of this object on `Email`.
    pub duplicate_rule_on_email: bool,
}

/// Index of the system fields every object starts with; the store keeps them outside `values`.
pub const ID: usize = 0;
pub const IS_DELETED: usize = 1;
pub const CREATED_DATE: usize = 2;
pub const LAST_MODIFIED_DATE: usize = 3;
pub const SYSTEM_MODSTAMP: usize = 4;
pub const SYSTEM_FIELDS: usize = 5;

fn system_fields() -> Vec<FieldDef> {
    vec![
        field("Id", "Record ID", FieldType::Id, 18).read_only(),
        field("IsDeleted", "Deleted", FieldType::Boolean, 0).read_only(),
        field("CreatedDate", "Created Date", FieldType::DateTime, 0).read_only(),
        field("LastModifiedDate", "Last Modified Date", FieldType::DateTime, 0).read_only(),
        field("SystemModstamp", "System Modstamp", FieldType::DateTime, 0).read_only(),
    ]
}

pub const LEAD_STATUS: &[&str] = &[
    "Open - Not Contacted",
    "Working - Contacted",
    "Closed - Converted",
    "Closed - Not Converted",
];
pub const LEAD_SOURCE: &[&str] =
    &["Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other"];
pub const STAGES: &[&str] = &[
    "Prospecting",
    "Qualification",
    "Needs Analysis",
    "Value Proposition",
    "Proposal/Price Quote",
    "Negotiation/Review",
    "Closed Won",
    "Closed Lost",
];
pub const INDUSTRIES: &[&str] =
    &["Agriculture", "Banking", "Education", "Healthcare", "Retail", "Technology"];
pub const ROLES: &[&str] =
    &["Business User", "Decision Maker", "Economic Buyer", "Evaluator", "Influencer", "Other"];

/// The custom object that carries product events.
pub const EVENT_OBJECT: &str = "Conversion_Event__c";

fn conversion_fields() -> [FieldDef; 2] {
    [
        field("Conversion_Id__c", "Conversion ID", FieldType::String, 64).external_id(),
        field("Conversion_Do_Not_Sync__c", "Do Not Sync to Conversion", FieldType::Boolean, 0),
    ]
}

fn object(
    name: &'static str,
    label: &'static str,
    key_prefix: &'static str,
    own: Vec<FieldDef>,
) -> ObjectDef {
    let mut fields = system_fields();
    fields.extend(own);
    ObjectDef { name, label, key_prefix, fields, duplicate_rule_on_email: false }
}

/// Every object of the local org, in a fixed order (the store indexes tables by position).
pub fn objects() -> Vec<ObjectDef> {
    use FieldType::*;
    let mut lead = object("Lead", "Lead", "00Q", {
        let mut f = vec![
            field("FirstName", "First Name", String, 40),
            field("LastName", "Last Name", String, 80).required(),
            field("Company", "Company", String, 255).required(),
            field("Email", "Email", Email, 80),
            field("Phone", "Phone", Phone, 40),
            field("Title", "Title", String, 128),
            field("Status", "Lead Status", Picklist, 255)
                .required()
                .picklist(LEAD_STATUS, true)
                .default("Open - Not Contacted"),
            field("LeadSource", "Lead Source", Picklist, 255).picklist(LEAD_SOURCE, false),
            field("IsConverted", "Converted", Boolean, 0).read_only(),
            field("ConvertedContactId", "Converted Contact ID", Reference, 18)
                .read_only()
                .references(&["Contact"]),
            field("ConvertedAccountId", "Converted Account ID", Reference, 18)
                .read_only()
                .references(&["Account"]),
        ];
        f.extend(conversion_fields());
        f
    });
    lead.duplicate_rule_on_email = true;
    let mut contact = object("Contact", "Contact", "003", {
        let mut f = vec![
            field("FirstName", "First Name", String, 40),
            field("LastName", "Last Name", String, 80).required(),
            field("Email", "Email", Email, 80),
            field("Phone", "Business Phone", Phone, 40),
            field("Title", "Title", String, 128),
            field("AccountId", "Account ID", Reference, 18).references(&["Account"]),
            field("LeadSource", "Lead Source", Picklist, 255).picklist(LEAD_SOURCE, false),
        ];
        f.extend(conversion_fields());
        f
    });
    contact.duplicate_rule_on_email = true;
    let account = object("Account", "Account", "001", {
        let mut f = vec![
            field("Name", "Account Name", String, 255).required(),
            field("Website", "Website", Url, 255),
            field("Industry", "Industry", Picklist, 255).picklist(INDUSTRIES, false),
            field("Phone", "Account Phone", Phone, 40),
        ];
        f.extend(conversion_fields());
        f
    });
    let opportunity = object("Opportunity", "Opportunity", "006", {
        let mut f = vec![
            field("Name", "Name", String, 120).required(),
            field("AccountId", "Account ID", Reference, 18).references(&["Account"]),
            field("StageName", "Stage", Picklist, 255).required().picklist(STAGES, true),
            field("CloseDate", "Close Date", Date, 0).required(),
            field("Amount", "Amount", Currency, 0),
        ];
        f.extend(conversion_fields());
        f
    });
    let role = object(
        "OpportunityContactRole",
        "Opportunity Contact Role",
        "00K",
        vec![
            field("OpportunityId", "Opportunity ID", Reference, 18)
                .required()
                .references(&["Opportunity"]),
            field("ContactId", "Contact ID", Reference, 18).required().references(&["Contact"]),
            field("Role", "Role", Picklist, 40).picklist(ROLES, false),
            field("IsPrimary", "Primary", Boolean, 0),
        ],
    );
    let event = object(
        EVENT_OBJECT,
        "Conversion Event",
        "a0X",
        vec![
            field("Name", "Conversion Event Name", String, 80).required(),
            field("Event_Name__c", "Event Name", String, 255),
            field("Email__c", "Email", Email, 80),
            field("User_Id__c", "User ID", String, 64),
            field("Contact__c", "Contact", Reference, 18).references(&["Contact"]),
            // Text, not datetime: events are imported from other tools as they came.
            field("Occurred_At__c", "Occurred At", String, 40),
            field("Properties__c", "Properties (JSON)", TextArea, 32768),
            field("Conversion_Id__c", "Conversion ID", String, 64).external_id(),
        ],
    );
    vec![lead, contact, account, opportunity, role, event]
}

impl ObjectDef {
    /// Field index by name, case-insensitively as SOQL and the REST API match names.
    pub fn field_index(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name.eq_ignore_ascii_case(name))
    }

    pub fn custom(&self) -> bool {
        self.name.ends_with("__c")
    }

    /// The describe of this object as served under `version` (`v62.0`), which its URLs carry.
    pub fn describe(&self, version: &str) -> Describe {
        let base = format!("/services/data/{version}/sobjects/{}", self.name);
        let urls = [
            ("sobject", base.clone()),
            ("describe", format!("{base}/describe")),
            ("rowTemplate", format!("{base}/{{ID}}")),
        ];
        Describe {
            name: self.name.to_string(),
            label: self.label.to_string(),
            label_plural: format!("{}s", self.label),
            custom: self.custom(),
            key_prefix: Some(self.key_prefix.to_string()),
            createable: true,
            updateable: true,
            deletable: true,
            queryable: true,
            retrieveable: true,
            searchable: true,
            urls: urls.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
            fields: self.fields.iter().map(describe_field).collect(),
        }
    }
}

impl FieldType {
    /// The SOAP type `describe` reports beside the field type.
    fn soap_type(self) -> &'static str {
        match self {
            FieldType::Id | FieldType::Reference => "tns:ID",
            FieldType::Boolean => "xsd:boolean",
            FieldType::DateTime => "xsd:dateTime",
            FieldType::Date => "xsd:date",
            FieldType::Currency => "xsd:double",
            _ => "xsd:string",
        }
    }
}

/// `AccountId` -> `Account`, `Contact__c` -> `Contact__r`: how SOQL names the related record.
pub(crate) fn relationship_name(f: &FieldDef) -> Option<String> {
    if f.ty != FieldType::Reference {
        return None;
    }
    match f.name.strip_suffix("__c") {
        Some(stem) => Some(format!("{stem}__r")),
        None => Some(f.name.strip_suffix("Id").unwrap_or(f.name).to_string()),
    }
}

fn describe_field(f: &FieldDef) -> FieldDescribe {
    let length = match f.ty {
        FieldType::Boolean | FieldType::DateTime | FieldType::Date | FieldType::Currency => 0,
        _ => f.length,
    };
    // Long text cannot be filtered, sorted or grouped on in SOQL.
    let long_text = f.ty == FieldType::TextArea && f.length > 255;
    let is_id = f.name == "Id";
    FieldDescribe {
        name: f.name.to_string(),
        label: f.label.to_string(),
        field_type: f.ty.wire_name().to_string(),
        soap_type: f.ty.soap_type().to_string(),
        length,
        // Salesforce counts three bytes a character for text.
        byte_length: if f.ty.is_text() { length * 3 } else { 0 },
        precision: if f.ty == FieldType::Currency { 18 } else { 0 },
        scale: if f.ty == FieldType::Currency { 2 } else { 0 },
        digits: 0,
        // Booleans are never null in Salesforce; required fields are not nillable.
        nillable: !f.required && f.ty != FieldType::Boolean && !is_id,
        createable: f.writable,
        updateable: f.writable,
        defaulted_on_create: f.default.is_some() || f.ty == FieldType::Boolean || !f.writable,
        default_value: if f.ty == FieldType::Boolean {
            serde_json::Value::Bool(false)
        } else {
            serde_json::Value::Null
        },
        custom: f.custom(),
        calculated: false,
        auto_number: false,
        external_id: f.external_id,
        id_lookup: is_id || f.external_id || f.ty == FieldType::Email,
        unique: f.external_id,
        case_sensitive: false,
        filterable: !long_text,
        sortable: !long_text,
        groupable: !long_text && !matches!(f.ty, FieldType::DateTime | FieldType::Currency),
        name_field: f.name == "Name" || f.name == "LastName",
        restricted_picklist: f.restricted,
        picklist_values: f
            .picklist
            .iter()
            .map(|v| PicklistValue {
                active: true,
                default_value: f.default == Some(*v),
                label: v.to_string(),
                value: v.to_string(),
            })
            .collect(),
        reference_to: f.reference_to.iter().map(|s| s.to_string()).collect(),
        relationship_name: relationship_name(f),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_object_starts_with_the_system_fields() {
        for o in objects() {
            assert_eq!(o.fields[ID].name, "Id");
            assert_eq!(o.fields[SYSTEM_MODSTAMP].name, "SystemModstamp");
            assert_eq!(o.key_prefix.len(), 3);
        }
    }

    #[test]
    fn describe_reports_lengths_picklists_and_required_fields() {
        let lead = objects().into_iter().find(|o| o.name == "Lead").unwrap();
        let d = lead.describe("v62.0");
        assert_eq!(d.urls["rowTemplate"], "/services/data/v62.0/sobjects/Lead/{ID}");
        let converted = d.fields.iter().find(|f| f.name == "ConvertedContactId").unwrap();
        assert_eq!(
            (converted.relationship_name.as_deref(), converted.soap_type.as_str()),
            (Some("ConvertedContact"), "tns:ID")
        );
        let flag = d.fields.iter().find(|f| f.name == "IsConverted").unwrap();
        assert_eq!(flag.default_value, serde_json::json!(false));
        let last = d.fields.iter().find(|f| f.name == "LastName").unwrap();
        assert_eq!((last.length, last.nillable, last.field_type.as_str()), (80, false, "string"));
        let status = d.fields.iter().find(|f| f.name == "Status").unwrap();
        assert!(status.restricted_picklist);
        assert!(status
            .picklist_values
            .iter()
            .any(|p| p.value == "Open - Not Contacted" && p.default_value));
        assert_eq!(lead.field_index("email"), lead.field_index("Email"));
    }
}
