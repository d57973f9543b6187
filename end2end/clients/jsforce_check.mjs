// jsforce, unchanged, against the local org: the refresh-token grant, query paging with
// autoFetch, COUNT(), queryAll (scanAll), sObject CRUD, a collection with a per-record error,
// describe, limits, a documented error, and a Bulk API 2.0 query. Run by end2end/clients/run with the org's credentials
// (the JSON `server fake-org` prints) as the first argument.
import assert from "node:assert/strict";
import fs from "node:fs";
import jsforce from "jsforce";

const creds = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const conn = new jsforce.Connection({
  oauth2: { loginUrl: creds.login_url, clientId: creds.client_id, clientSecret: creds.client_secret },
  instanceUrl: creds.instance_url,
  refreshToken: creds.refresh_token,
  version: "59.0",
});
const token = await conn.oauth2.refreshToken(creds.refresh_token);
conn.accessToken = token.access_token;

const first = await conn.query("SELECT Id, LastName FROM Contact");
assert.ok(first.totalSize > 2000 && !first.done && first.records.length === 2000, `${first.totalSize}`);
const every = [];
await new Promise((resolve, reject) =>
  conn
    .query("SELECT Id FROM Contact")
    .on("record", (r) => every.push(r.Id))
    .on("end", resolve)
    .on("error", reject)
    .run({ autoFetch: true, maxFetch: 1_000_000 }),
);
assert.equal(every.length, first.totalSize);
assert.equal(new Set(every).size, every.length);
assert.equal((await conn.query("SELECT COUNT() FROM Contact")).totalSize, every.length);

const contacts = conn.sobject("Contact");
const created = await contacts.create({ LastName: "Client", Email: "jsforce@example.com" });
assert.ok(created.success && created.id.startsWith("003"), JSON.stringify(created));
assert.equal((await contacts.retrieve(created.id)).Email, "jsforce@example.com");
assert.ok((await contacts.update({ Id: created.id, Title: "CTO" })).success);
assert.equal((await contacts.retrieve(created.id)).Title, "CTO");
assert.ok((await contacts.destroy(created.id)).success);
const scanned = await conn.query(`SELECT Id, IsDeleted FROM Contact WHERE Id = '${created.id}'`, { scanAll: true });
assert.equal(scanned.records[0].IsDeleted, true);

// A collection, not all or none: each record's own result.
const both = await contacts.create([{ LastName: "Kept" }, { Email: "no.last.name@example.com" }], { allOrNone: false });
assert.equal(both[0].success, true);
assert.equal(both[1].success, false);
assert.equal(both[1].errors[0].statusCode, "REQUIRED_FIELD_MISSING");

const fields = new Set((await contacts.describe()).fields.map((f) => f.name));
for (const f of ["Id", "LastName", "Email", "AccountId"]) assert.ok(fields.has(f), f);
const limits = (await conn.limits()).DailyApiRequests;
assert.ok(limits.Remaining > 0 && limits.Remaining < limits.Max, JSON.stringify(limits));

await assert.rejects(conn.query("SELECT Nope FROM Contact"), (e) => e.errorCode === "INVALID_FIELD");
// Bulk API 2.0: the job polled until complete and its CSV parsed into records.
conn.bulk2.pollInterval = 100;
const bulk = await conn.bulk2.query("SELECT Id, LastName, Account.Name FROM Contact");
const bulkRecords = typeof bulk.toArray === "function" ? await bulk.toArray() : bulk;
const live = (await conn.query("SELECT COUNT() FROM Contact")).totalSize;
assert.equal(bulkRecords.length, live);
assert.ok(bulkRecords.some((r) => r["Account.Name"]), "parent fields in the CSV");
console.log(`jsforce: ${every.length} contacts paged, CRUD, a collection, describe, limits, errors, and a Bulk API 2.0 query, as documented`);
