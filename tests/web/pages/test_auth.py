"""Sign in, sign out, CSRF on every form, cookies per settings, no secret rendered."""

from __future__ import annotations

import httpx
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from ledgerbridge.db import Database
from ledgerbridge.sandbox.seeding import DEMO_APP_CLIENT_SECRET
from ledgerbridge.settings import Settings
from ledgerbridge.web.app import create_app
from ledgerbridge.web.pages import auth, integrations, sync_log
from ledgerbridge.xero.services import XeroServices
from tests.factories import PASSWORD, Seeded
from tests.web.pages.conftest import csrf_of, sign_in


def _set_cookies(response: httpx.Response) -> dict[str, str]:
    return {h.split("=", 1)[0]: h for h in response.headers.get_list("set-cookie")}


def test_the_home_page_leads_a_person_to_sign_in(service: TestClient) -> None:
    home = service.get("/", follow_redirects=False)
    assert (home.status_code, home.headers["location"]) == (307, "/integrations")
    landed = service.get("/")
    assert landed.status_code == 200 and '<label for="email">' in landed.text


def test_sign_in_page_is_labelled_and_carries_a_token(service: TestClient) -> None:
    page = service.get("/sign-in")
    assert page.status_code == 200
    assert '<label for="email">' in page.text and '<label for="password">' in page.text
    assert '<main id="main"' in page.text and 'href="#main"' in page.text
    assert csrf_of(page.text)
    cookie = _set_cookies(page)["lb_csrf"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    assert page.headers["cache-control"] == "no-store"


def test_sign_in_sets_the_session_and_lands_on_integrations(service: TestClient, seeded: Seeded) -> None:
    form = service.get("/sign-in?next=/sync-log")
    response = service.post(
        "/sign-in",
        data={
            "email": seeded.owner_email,
            "password": PASSWORD,
            "csrf_token": csrf_of(form.text),
            "next": "/sync-log",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/sync-log"
    session_cookie = _set_cookies(response)["lb_session"]
    assert "HttpOnly" in session_cookie and "SameSite=lax" in session_cookie
    page = service.get("/sync-log")
    assert "Signed in as Owner Person." in page.text
    assert 'aria-current="page">Sync log' in page.text
    assert service.get("/api/v1/me").json()["email"] == seeded.owner_email


def test_wrong_password_shows_a_message_beside_the_field(service: TestClient, seeded: Seeded) -> None:
    form = service.get("/sign-in")
    response = service.post(
        "/sign-in",
        data={"email": seeded.owner_email, "password": "not it", "csrf_token": csrf_of(form.text)},
    )
    assert response.status_code == 401
    assert 'aria-describedby="password-error"' in response.text
    assert '<p class="field-error" id="password-error">Wrong email or password.' in response.text
    assert f'value="{seeded.owner_email}"' in response.text
    assert "lb_session" not in _set_cookies(response)


def test_empty_fields_are_named(service: TestClient) -> None:
    form = service.get("/sign-in")
    response = service.post("/sign-in", data={"csrf_token": csrf_of(form.text)})
    assert response.status_code == 400
    assert 'id="email-error"' in response.text and 'id="password-error"' in response.text


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil.example"])
def test_next_never_leaves_the_site(service: TestClient, seeded: Seeded, target: str) -> None:
    form = service.get("/sign-in")
    response = service.post(
        "/sign-in",
        data={
            "email": seeded.owner_email,
            "password": PASSWORD,
            "csrf_token": csrf_of(form.text),
            "next": target,
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/integrations"


def test_a_form_without_the_token_is_refused(service: TestClient, seeded: Seeded) -> None:
    service.get("/sign-in")  # the browser has its CSRF cookie, but the form lacks the token
    response = service.post("/sign-in", data={"email": seeded.owner_email, "password": PASSWORD})
    assert response.status_code == 403
    assert "This form expired" in response.text
    assert "lb_session" not in _set_cookies(response)


def test_a_token_for_another_browser_is_refused(service: TestClient, seeded: Seeded) -> None:
    token = csrf_of(service.get("/sign-in").text)
    service.cookies.clear()
    service.get("/sign-in")  # a new nonce
    response = service.post(
        "/sign-in", data={"email": seeded.owner_email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 403


def test_a_token_from_before_sign_in_is_worthless_after(service: TestClient, seeded: Seeded) -> None:
    before = csrf_of(service.get("/sign-in").text)
    sign_in(service, seeded.owner_email)
    response = service.post("/sign-out", data={"csrf_token": before}, follow_redirects=False)
    assert response.status_code == 403


def test_every_page_form_checks_the_token(owner_page: TestClient) -> None:
    posts = [
        route.path
        for area in (auth, integrations, sync_log)
        for route in area.router.routes
        if isinstance(route, APIRoute) and "POST" in route.methods
    ]
    assert len(posts) >= 7
    for path in posts:
        response = owner_page.post(path.replace("{connection_id}", "x").replace("{issue_id}", "x"), data={})
        assert response.status_code == 403, path


def test_sign_out_ends_this_sign_in(owner_page: TestClient) -> None:
    token = csrf_of(owner_page.get("/integrations").text)
    response = owner_page.post("/sign-out", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/sign-in"
    assert "You are signed out." in owner_page.get("/sign-in").text
    # even a replayed session cookie no longer signs anyone in
    page = owner_page.get("/integrations", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == "/sign-in?next=%2Fintegrations"


def test_secure_cookies_follow_the_settings(
    xero_settings: Settings, database: Database, xero_services: XeroServices, seeded: Seeded
) -> None:
    settings = xero_settings.model_copy(update={"cookie_secure": True})
    with TestClient(
        create_app(settings, database, xero=xero_services), base_url="https://testserver"
    ) as client:
        page = client.get("/sign-in")
        assert "Secure" in _set_cookies(page)["lb_csrf"]
        response = client.post(
            "/sign-in",
            data={"email": seeded.owner_email, "password": PASSWORD, "csrf_token": csrf_of(page.text)},
            follow_redirects=False,
        )
        assert "Secure" in _set_cookies(response)["lb_session"]
        assert "Secure" in _set_cookies(response)["lb_flash"]


def test_no_secret_is_rendered(owner_page: TestClient, xero_settings: Settings) -> None:
    key = xero_settings.resolved_secret_key_file.read_text().strip()
    for path in ("/integrations", "/sync-log", "/sign-in"):
        text = owner_page.get(path).text
        assert key not in text
        assert DEMO_APP_CLIENT_SECRET not in text
        assert owner_page.cookies.get("lb_session", "") not in text
        assert owner_page.cookies.get("lb_csrf", "") not in text


def test_flash_cannot_be_forged(service: TestClient) -> None:
    service.cookies.set("lb_flash", "WyJlcnJvciIsICJDYWxsIDA1NTUiXQ.bad-signature")
    assert "Call 0555" not in service.get("/sign-in").text
