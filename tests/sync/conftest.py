"""The sync tests use the same sandbox-backed fixtures as the Xero tests."""

import pytest
from fastapi.testclient import TestClient

from tests.factories import Seeded
from tests.xero.conftest import *  # noqa: F403


@pytest.fixture
def owner_api(admin_browser: TestClient, seeded: Seeded) -> TestClient:
    """The owner's session, for changing local records through the public API."""
    return admin_browser
