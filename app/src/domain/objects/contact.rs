//! Conversion's contacts (`conversion_contacts`), Salesforce's Contacts and Leads: the fields both
//! keep. The email is required and lower-cased on the way in (the server's person rules); the
//! others are copied as they are.

use super::Field;

/// Add a row here (and a migration for its column) to sync one more contact field both ways.
pub const FIELDS: &[Field] = &[
    Field { column: "email", salesforce: "Email", label: "Email" },
    Field { column: "first_name", salesforce: "FirstName", label: "First name" },
    Field { column: "last_name", salesforce: "LastName", label: "Last name" },
    Field { column: "title", salesforce: "Title", label: "Job title" },
];
