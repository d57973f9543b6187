//! Conversion's companies (`conversion_companies`), Salesforce's Accounts: the fields both keep.
//! An Account needs a Name (the server's Account rules); the others are copied as they are.

use super::Field;

/// Add a row here (and a migration for its column) to sync one more company field both ways.
pub const FIELDS: &[Field] = &[
    Field { column: "name", salesforce: "Name", label: "Name" },
    Field { column: "website", salesforce: "Website", label: "Website" },
    Field { column: "industry", salesforce: "Industry", label: "Industry" },
];
