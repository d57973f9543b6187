"""simple-salesforce, unchanged, against the local org: query and query_all paging, COUNT(),
sObject create / read / update / delete, describe, limits, a documented error, and a Bulk API 2.0
query read in sets of `max_records`.

simple-salesforce builds https:// addresses only; the local org speaks http, so the session it
is given sends each request to the same address over http. Everything else is the library's own.
Run by end2end/clients/run with the org's credentials (the JSON `server fake-org` prints) as the
first argument.
"""
import csv
import io
import json
import sys

import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest


class OverHttp(requests.Session):
    def request(self, method, url, *args, **kwargs):
        return super().request(method, url.replace("https://", "http://", 1), *args, **kwargs)


def main(credentials_file):
    creds = json.load(open(credentials_file))
    token = requests.post(
        creds["login_url"] + "/services/oauth2/token",
        data={
            "grant_type": "refresh_token",
            "client_id": creds["client_id"],
            "client_secret": creds["client_secret"],
            "refresh_token": creds["refresh_token"],
        },
    ).json()
    sf = Salesforce(
        instance=token["instance_url"].split("://", 1)[1],
        session_id=token["access_token"],
        session=OverHttp(),
        version="59.0",
    )

    # One page, then every page through nextRecordsUrl.
    first = sf.query("SELECT Id, LastName FROM Contact")
    assert first["totalSize"] > 2000 and not first["done"], first["totalSize"]
    assert len(first["records"]) == 2000, len(first["records"])
    every = sf.query_all("SELECT Id FROM Contact")
    ids = [r["Id"] for r in every["records"]]
    assert len(ids) == first["totalSize"] == len(set(ids)), (len(ids), first["totalSize"])
    assert sf.query("SELECT COUNT() FROM Contact")["totalSize"] == len(ids)
    leads = sf.query("SELECT COUNT() FROM Lead WHERE IsConverted = false")["totalSize"]
    assert leads > 0, leads

    created = sf.Contact.create({"LastName": "Client", "Email": "simple.salesforce@example.com"})
    assert created["success"] and created["id"].startswith("003"), created
    read = sf.Contact.get(created["id"])
    assert (read["LastName"], read["Email"]) == ("Client", "simple.salesforce@example.com"), read
    assert sf.Contact.update(created["id"], {"Title": "CTO"}) == 204
    assert sf.Contact.get(created["id"])["Title"] == "CTO"
    assert sf.Contact.delete(created["id"]) == 204
    deleted = sf.query_all(
        f"SELECT Id, IsDeleted FROM Contact WHERE Id = '{created['id']}'", include_deleted=True
    )
    assert deleted["records"][0]["IsDeleted"] is True, deleted

    fields = {f["name"] for f in sf.Contact.describe()["fields"]}
    assert {"Id", "LastName", "Email", "AccountId"} <= fields, fields
    limits = sf.limits()["DailyApiRequests"]
    assert 0 < limits["Remaining"] < limits["Max"], limits

    try:
        sf.query("SELECT Nope FROM Contact")
        raise AssertionError("an unknown field is refused")
    except SalesforceMalformedRequest as e:
        assert e.content[0]["errorCode"] == "INVALID_FIELD", e.content
    # Bulk API 2.0: a query job, polled until complete, its results read in sets by locator.
    sets = list(
        sf.bulk2.Contact.query("SELECT Id, LastName, Account.Name FROM Contact", max_records=2000, wait=0.1)
    )
    rows = [row for s in sets for row in csv.DictReader(io.StringIO(s))]
    assert len(sets) == -(-len(rows) // 2000), (len(sets), len(rows))
    assert sorted(r["Id"] for r in rows) == sorted(r["Id"] for r in sf.query_all("SELECT Id FROM Contact")["records"])
    assert any(r["Account.Name"] for r in rows), "parent fields in the CSV"
    print(
        f"simple-salesforce: {len(ids)} contacts paged, CRUD, describe, limits, errors, "
        f"and a Bulk API 2.0 query in {len(sets)} sets, as documented"
    )


if __name__ == "__main__":
    main(sys.argv[1])
