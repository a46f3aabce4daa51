"""The official SDK meets the sandbox's rate limit and sees what Xero would tell it.

xero-python's urllib3 layer itself sleeps out a 429 that carries ``Retry-After`` for
idempotent methods (GET, PUT) before giving up, so the limit is met here with a POST,
which urllib3 never resends: the SDK raises at once with Xero's headers.
"""

from __future__ import annotations

import pytest
from xero_python.accounting import AccountingApi, Contact, Contacts
from xero_python.exceptions import RateLimitException

from tests.sandbox.accounting.conftest import Sandbox
from tests.sandbox.accounting.test_sdk import server, xero

__all__ = ["server", "xero"]  # the fixtures, imported to reuse the SDK set-up


def test_sdk_hits_the_minute_limit_and_sees_its_headers(
    sandbox: Sandbox, xero: tuple[AccountingApi, str]
) -> None:
    api, tenant = xero
    sandbox.org.limits.enabled = True  # the fixture turns limits off; this test is about them
    sandbox.org.limits.per_minute = 3
    for _ in range(3):
        api.get_organisations(tenant)
    with pytest.raises(RateLimitException) as refused:
        api.update_or_create_contacts(tenant, Contacts(contacts=[Contact(name="Rate Limited Pty Ltd")]))
    assert refused.value.status == 429
    assert refused.value.rate_limit == "minute"
    headers = {k.lower(): v for k, v in refused.value.headers.items()}
    assert 0 < int(headers["retry-after"]) <= 60
    assert headers["x-minlimit-remaining"] == "0"
    assert int(headers["x-daylimit-remaining"]) > 0
    assert int(headers["x-appminlimit-remaining"]) > 0
    assert not any(c["Name"] == "Rate Limited Pty Ltd" for c in sandbox.collection("Contacts"))

    sandbox.clock.advance(int(headers["retry-after"]))
    assert api.get_organisations(tenant).organisations[0].name == sandbox.org.name
