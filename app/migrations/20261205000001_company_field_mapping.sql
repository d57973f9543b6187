-- Field mapping for companies: the Conversion company fields pushed to Salesforce accounts
-- (JSON array of codes; every field by default, as outbound wrote them before this setting).
ALTER TABLE sync_settings ADD COLUMN company_fields TEXT NOT NULL DEFAULT '["name","website","industry"]';
