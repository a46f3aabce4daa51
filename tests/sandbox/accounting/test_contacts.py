"""Contacts and ContactGroups over HTTP, every call checked against the spec."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.sandbox.accounting.conftest import ContractError, Sandbox

BASE = "/api.xro/2.0"


def _names(response: Any) -> list[str]:
    return [c["Name"] for c in response.json()["Contacts"]]


def test_paging_walks_every_active_contact_once(sandbox: Sandbox) -> None:
    active = [c for c in sandbox.collection("Contacts") if c["ContactStatus"] == "ACTIVE"]
    seen: list[str] = []
    page = 1
    while True:
        body = sandbox.api.get(f"{BASE}/Contacts", params={"page": page, "pageSize": 7}).json()
        seen += [c["ContactID"] for c in body["Contacts"]]
        assert body["pagination"]["itemCount"] == len(active)
        if len(body["Contacts"]) < 7:
            break
        page += 1
    assert sorted(seen) == sorted(c["ContactID"] for c in active)
    assert body["pagination"]["pageCount"] == -(-len(active) // 7)


def test_page_size_is_capped_at_1000(sandbox: Sandbox) -> None:
    body = sandbox.api.get(f"{BASE}/Contacts", params={"page": 1, "pageSize": 5000}).json()
    assert body["pagination"]["pageSize"] == 1000


def test_envelope_and_formats(sandbox: Sandbox) -> None:
    response = sandbox.api.get(f"{BASE}/Contacts")
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    body = response.json()
    assert body["Status"] == "OK"
    assert body["ProviderName"] == "Accounting tests"
    assert body["DateTimeUTC"] == "/Date(1772442000000)/"
    assert "pagination" not in body
    contact = body["Contacts"][0]
    assert contact["UpdatedDateUTC"].startswith("/Date(") and contact["UpdatedDateUTC"].endswith(
        "+0000)/")
    assert contact["IsCustomer"] in (True, False)


def test_create_with_put_and_read_back_by_id_and_number(sandbox: Sandbox) -> None:
    body = {"Contacts": [{"Name": "Wombat Web Works", "ContactNumber": "WWW-1",
                          "EmailAddress": "hi@wombat.example",
                          "Addresses": [{"AddressType": "STREET", "City": "Hobart"}]}]}
    created = sandbox.api.put(f"{BASE}/Contacts", json=body)
    assert created.status_code == 200, created.text
    contact = created.json()["Contacts"][0]
    assert contact["StatusAttributeString"] == "OK"
    assert contact["IsCustomer"] is False
    by_id = sandbox.api.get(f"{BASE}/Contacts/{contact['ContactID']}").json()["Contacts"]
    by_number = sandbox.api.get(f"{BASE}/Contacts/WWW-1").json()["Contacts"]
    assert by_id[0]["ContactID"] == by_number[0]["ContactID"] == contact["ContactID"]


def test_duplicate_name_is_xeros_validation_error(sandbox: Sandbox) -> None:
    taken = next(c["Name"] for c in sandbox.collection("Contacts")
                 if c["ContactStatus"] == "ACTIVE")
    response = sandbox.api.put(f"{BASE}/Contacts", json={"Contacts": [{"Name": taken}]})
    assert response.status_code == 400
    error = response.json()
    assert error["ErrorNumber"] == 10 and error["Type"] == "ValidationException"
    assert error["Elements"][0]["ValidationErrors"][0]["Message"] == (
        f"The contact name {taken} is already assigned to another contact. The contact name must "
        "be unique across all active contacts.")


def test_batch_summarize_errors_false_returns_each_element(sandbox: Sandbox) -> None:
    taken = next(c["Name"] for c in sandbox.collection("Contacts")
                 if c["ContactStatus"] == "ACTIVE")
    body = {"Contacts": [{"Name": "First New"}, {"Name": taken}, {"Name": "Second New"}]}
    response = sandbox.api.put(f"{BASE}/Contacts", params={"summarizeErrors": "false"}, json=body)
    assert response.status_code == 200
    elements = response.json()["Contacts"]
    assert [e["StatusAttributeString"] for e in elements] == ["OK", "ERROR", "OK"]
    assert elements[1]["HasValidationErrors"] is True
    assert "already assigned" in elements[1]["ValidationErrors"][0]["Message"]
    assert elements[0]["ContactID"] and elements[2]["ContactID"]


def test_default_batch_commits_valid_elements_and_answers_400(sandbox: Sandbox) -> None:
    body = {"Contacts": [{"Name": "Kept Contact"}, {"FirstName": "No name"}]}
    response = sandbox.api.put(f"{BASE}/Contacts", json=body)
    assert response.status_code == 400
    assert len(response.json()["Elements"]) == 1
    assert any(c["Name"] == "Kept Contact" for c in sandbox.collection("Contacts"))


def test_post_updates_by_id_and_bumps_updated_date(sandbox: Sandbox) -> None:
    contact = sandbox.api.put(f"{BASE}/Contacts", json={"Name": "Update Me"}).json()["Contacts"][0]
    sandbox.advance(60)
    response = sandbox.api.post(f"{BASE}/Contacts/{contact['ContactID']}",
                                json={"Contacts": [{"EmailAddress": "new@x.example"}]})
    updated = response.json()["Contacts"][0]
    assert updated["EmailAddress"] == "new@x.example"
    assert updated["UpdatedDateUTC"] != contact["UpdatedDateUTC"]


def test_where_order_ids_and_if_modified_since(sandbox: Sandbox) -> None:
    sandbox.advance(3600)
    fresh = sandbox.api.put(f"{BASE}/Contacts", json={"Contacts": [
        {"Name": "Zebra Zone"}, {"Name": "Aardvark Alley"}]}).json()["Contacts"]
    # A naive timestamp, as Xero's docs describe it; the spec's date-time wants an offset,
    # so this request goes through the raw client (the response is still checked).
    since = sandbox.raw.get(f"{BASE}/Contacts", params={"order": "Name DESC"},
                            headers={"If-Modified-Since": "2026-03-02T09:30:00"})
    assert _names(since) == ["Zebra Zone", "Aardvark Alley"]
    where = sandbox.api.get(f"{BASE}/Contacts", params={"where": 'Name.StartsWith("Aardvark")'})
    assert _names(where) == ["Aardvark Alley"]
    guid = sandbox.api.get(f"{BASE}/Contacts", params={
        "where": f'ContactID==Guid("{fresh[0]["ContactID"].upper()}")'})
    assert _names(guid) == ["Zebra Zone"]
    ids = sandbox.api.get(f"{BASE}/Contacts", params={"IDs": ",".join(c["ContactID"] for c in fresh)})
    assert sorted(_names(ids)) == ["Aardvark Alley", "Zebra Zone"]


def test_bad_where_is_query_parse_exception(sandbox: Sandbox) -> None:
    response = sandbox.api.get(f"{BASE}/Contacts", params={"where": 'Hi=="there"'})
    assert response.status_code == 400
    assert response.json()["ErrorNumber"] == 16
    assert response.json()["Type"] == "QueryParseException"


def test_archived_contacts_hidden_and_not_editable(sandbox: Sandbox) -> None:
    archived = [c for c in sandbox.collection("Contacts") if c["ContactStatus"] == "ARCHIVED"]
    contact = sandbox.api.put(f"{BASE}/Contacts", json={"Name": "Soon Gone"}).json()["Contacts"][0]
    sandbox.api.post(f"{BASE}/Contacts", json={"Contacts": [
        {"ContactID": contact["ContactID"], "ContactStatus": "ARCHIVED"}]})
    names = _names(sandbox.api.get(f"{BASE}/Contacts"))
    assert "Soon Gone" not in names
    with_archived = _names(sandbox.api.get(f"{BASE}/Contacts", params={"includeArchived": "True"}))
    assert "Soon Gone" in with_archived
    assert len(with_archived) == len(names) + len(archived) + 1
    edit = sandbox.api.post(f"{BASE}/Contacts/{contact['ContactID']}",
                            json={"Contacts": [{"Name": "Back Again"}]})
    assert edit.status_code == 400
    assert "archived contact" in edit.json()["Elements"][0]["ValidationErrors"][0]["Message"]
    reuse = sandbox.api.put(f"{BASE}/Contacts", json={"Name": "Soon Gone"})
    assert reuse.status_code == 200, "names only need to be unique among active contacts"


def test_idempotency_key_replays_and_rejects_a_different_body(sandbox: Sandbox) -> None:
    headers = {"Idempotency-Key": "k" * 64}
    before = len(sandbox.collection("Contacts"))
    first = sandbox.api.put(f"{BASE}/Contacts", json={"Name": "Once Only"}, headers=headers)
    again = sandbox.api.put(f"{BASE}/Contacts", json={"Name": "Once Only"}, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.content == first.content
    assert len(sandbox.collection("Contacts")) == before + 1
    other = sandbox.api.put(f"{BASE}/Contacts", json={"Name": "Something Else"}, headers=headers)
    assert other.status_code == 400
    assert other.json()["Message"] == f"Idempotency Key: {'k' * 64} is used with a different request."
    assert len(sandbox.collection("Contacts")) == before + 1


def test_idempotency_replays_a_failure_too(sandbox: Sandbox) -> None:
    taken = sandbox.collection("Contacts")[0]["Name"]
    headers = {"Idempotency-Key": "dup-1"}
    first = sandbox.api.put(f"{BASE}/Contacts", json={"Name": taken, "ContactStatus": "ACTIVE"},
                            headers=headers)
    again = sandbox.api.put(f"{BASE}/Contacts", json={"Name": taken, "ContactStatus": "ACTIVE"},
                            headers=headers)
    assert (first.status_code, first.content) == (again.status_code, again.content)


def test_contact_webhooks_are_emitted(sandbox: Sandbox) -> None:
    app = next(iter(sandbox.state.apps.values()))
    app.webhook.url, app.webhook.status = "https://receiver.example/hook", "ACTIVE"
    created = sandbox.api.put(f"{BASE}/Contacts", json={"Name": "Hooked"}).json()["Contacts"][0]
    sandbox.api.post(f"{BASE}/Contacts/{created['ContactID']}", json={"Phones": []})
    events = [(p["event"]["eventCategory"], p["event"]["eventType"], p["event"]["resourceId"])
              for p in app.webhook.pending]
    assert events == [("CONTACT", "CREATE", created["ContactID"]),
                      ("CONTACT", "UPDATE", created["ContactID"])]


def test_unknown_contact_is_plain_text_404(sandbox: Sandbox) -> None:
    response = sandbox.api.get(f"{BASE}/Contacts/00000000-0000-4000-8000-000000000000")
    assert response.status_code == 404
    assert response.text == "The resource you're looking for cannot be found"


def test_contact_groups(sandbox: Sandbox) -> None:
    group = sandbox.api.put(f"{BASE}/ContactGroups", json={"ContactGroups": [
        {"Name": "VIP"}]}).json()["ContactGroups"][0]
    contact = sandbox.collection("Contacts")[0]
    added = sandbox.api.put(f"{BASE}/ContactGroups/{group['ContactGroupID']}/Contacts",
                            json={"Contacts": [{"ContactID": contact["ContactID"]}]})
    assert added.status_code == 200
    detail = sandbox.api.get(f"{BASE}/ContactGroups/{group['ContactGroupID']}").json()
    assert detail["ContactGroups"][0]["Contacts"][0]["ContactID"] == contact["ContactID"]
    on_contact = sandbox.api.get(f"{BASE}/Contacts/{contact['ContactID']}").json()["Contacts"][0]
    assert on_contact["ContactGroups"][0]["Name"] == "VIP"
    removed = sandbox.api.delete(
        f"{BASE}/ContactGroups/{group['ContactGroupID']}/Contacts/{contact['ContactID']}")
    assert removed.status_code == 204
    sandbox.api.post(f"{BASE}/ContactGroups/{group['ContactGroupID']}",
                     json={"ContactGroups": [{"Status": "DELETED"}]})
    assert sandbox.api.get(f"{BASE}/ContactGroups").json()["ContactGroups"] == []


def test_the_contract_check_catches_a_mismatch(sandbox: Sandbox) -> None:
    """A response that breaks the spec must fail: a boolean sent as a string (the
    mistake that makes xero-python raise), an unknown enum value, a number for a date."""
    good = sandbox.api.get(f"{BASE}/Contacts")
    for old, new in ((b'"IsSupplier":false', b'"IsSupplier":"false"'),
                     (b'"ContactStatus":"ACTIVE"', b'"ContactStatus":"Active"'),
                     (b'"UpdatedDateUTC":"', b'"UpdatedDateUTC":1,"Spare":"')):
        broken = good.content.replace(old, new, 1)
        assert broken != good.content
        tampered = httpx.Response(200, headers=good.headers, content=broken,
                                  request=good.request)
        with pytest.raises(ContractError):
            sandbox.contract.check(tampered, request_too=False)


def test_summary_only_and_search_term(sandbox: Sandbox) -> None:
    sandbox.api.put(f"{BASE}/Contacts", json={"Name": "Searchable Name", "EmailAddress":
                                              "find.me@example.com", "Phones": []})
    summary = sandbox.api.get(f"{BASE}/Contacts", params={"summaryOnly": "True"}).json()
    assert all("Addresses" not in c and "Phones" not in c for c in summary["Contacts"])
    found = sandbox.api.get(f"{BASE}/Contacts", params={"searchTerm": "FIND.ME"}).json()
    assert [c["Name"] for c in found["Contacts"]] == ["Searchable Name"]


def test_idempotency_key_longer_than_128_is_refused(sandbox: Sandbox) -> None:
    response = sandbox.api.put(f"{BASE}/Contacts", json={"Name": "Long Key"},
                               headers={"Idempotency-Key": "x" * 129})
    assert response.status_code == 400
    assert not any(c["Name"] == "Long Key" for c in sandbox.collection("Contacts"))


def test_malformed_json_is_post_data_invalid(sandbox: Sandbox) -> None:
    response = sandbox.raw.put(f"{BASE}/Contacts", content=b"{not json",
                               headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["Type"] == "PostDataInvalidException"


def test_duplicate_names_inside_one_batch(sandbox: Sandbox) -> None:
    body = {"Contacts": [{"Name": "Twin Co"}, {"Name": "twin co"}]}
    response = sandbox.api.put(f"{BASE}/Contacts", params={"summarizeErrors": "false"}, json=body)
    assert [e["StatusAttributeString"] for e in response.json()["Contacts"]] == ["OK", "ERROR"]
    renamed = sandbox.api.post(f"{BASE}/Contacts", json={"Contacts": [
        {"ContactID": response.json()["Contacts"][0]["ContactID"], "Name": "Twin Two"},
        {"Name": "Twin Co"}]})
    assert renamed.status_code == 200, "a rename frees the old name within the batch"
