//! Lead: a person not yet converted, synced into `conversion_contacts` by the person rules of
//! [`super::contact`]; a converted Lead is skipped (its Contact carries it on).

use crate::sync::mapping::SfRecord;

/// The Lead fields the engine reads beside the system ones and the contact table's.
pub const FIELDS: &str = "IsConverted, Conversion_Do_Not_Sync__c, Conversion_Id__c";

/// What the run page shows for a Lead: as for a Contact.
pub fn label(r: &SfRecord) -> Option<String> {
    super::contact::label(r)
}
