"""The identity endpoints against Xero's official identity spec (xero-identity.yaml), using
the spec's own spelling of the path (``/Connections``, as xero-python sends it).

One known divergence is allowed, and only that one: the spec types ``createdDateUtc`` and
``updatedDateUtc`` as RFC 3339 ``date-time``, but its own example, and Xero's real
responses, carry 7 fractional digits and no offset (``2019-12-07T18:46:19.5165400``).
The sandbox sends what Xero sends (XERO_API_NOTES 1.8), and this test checks exactly that.
"""

from __future__ import annotations

import re
import warnings

import httpx
from fastapi.testclient import TestClient
from openapi_core.validation.schemas.exceptions import InvalidSchemaValue

from tests.sandbox.helpers import AU, NZ, api_headers, connect_with_secret, register_app
from tests.sandbox.payroll_au.contract import _Request, _Response, load_spec

XERO_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}$")


def _validate(response: httpx.Response) -> None:
    spec = load_spec("xero-identity.yaml")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Unsupported scheme type", UserWarning)
        spec.validate_request(_Request(response.request))
    try:
        spec.validate_response(_Request(response.request), _Response(response))
    except Exception as exc:
        cause = exc.__cause__ if isinstance(exc.__cause__, InvalidSchemaValue) else exc
        if not isinstance(cause, InvalidSchemaValue):
            raise
        for error in cause.schema_errors:
            assert error.validator == "format", error
            assert XERO_TIMESTAMP.match(str(error.instance)), error


def test_connections_list_filter_and_delete_match_the_spec(client: TestClient) -> None:
    app = register_app(client)
    tokens = connect_with_secret(client, app, tenant_ids=[AU, NZ])
    headers = api_headers(tokens, tenant_id=None)

    listed = client.get("/Connections", headers=headers)
    _validate(listed)
    assert sorted(c["tenantId"] for c in listed.json()) == sorted([AU, NZ])
    event = listed.json()[0]["authEventId"]
    filtered = client.get("/Connections", params={"authEventId": event}, headers=headers)
    _validate(filtered)
    assert len(filtered.json()) == 2

    gone = listed.json()[0]["id"]
    deleted = client.delete(f"/Connections/{gone}", headers=headers)
    assert deleted.status_code == 204
    _validate(deleted)
    assert gone not in [c["id"] for c in client.get("/Connections", headers=headers).json()]


def test_a_wrong_shape_would_fail(client: TestClient) -> None:
    """The check is real: a response missing the timestamp pattern fails it."""
    app = register_app(client)
    tokens = connect_with_secret(client, app, tenant_ids=[AU])
    real = client.get("/Connections", headers=api_headers(tokens, tenant_id=None))
    broken = httpx.Response(
        200, json=[{**real.json()[0], "createdDateUtc": "yesterday"}], request=real.request
    )
    try:
        _validate(broken)
    except AssertionError:
        return
    raise AssertionError("a malformed createdDateUtc passed the contract check")
