"""Users and roles: the list, adding someone (a first password shown once that really
signs in), changing a role, removing; and the rules of ``work.users`` behind them: the
last owner stays, an admin never makes, changes or removes an owner."""

from __future__ import annotations

import html
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from ledgerbridge.db import Database
from ledgerbridge.errors import Conflict, NotFound, PermissionDenied
from ledgerbridge.work import users as user_service
from ledgerbridge.work.models import Role, User, WorkspaceUser
from tests.factories import PASSWORD, Seeded, seed_workspace
from tests.web.pages.conftest import post_form, sign_in


def _role_of(database: Database, workspace_id: str, email: str) -> Role | None:
    with database.session() as session:
        return session.scalar(
            select(WorkspaceUser.role)
            .join(User, User.id == WorkspaceUser.user_id)
            .where(WorkspaceUser.workspace_id == workspace_id, User.email == email)
        )


def _user_id(database: Database, email: str) -> str:
    with database.session() as session:
        user: User = session.scalars(select(User).where(User.email == email)).one()
        return str(user.id)


def _page(client: TestClient) -> str:
    text: str = client.get("/users").text
    return html.unescape(text)


# -- the rules, in work.users -------------------------------------------------------------


def test_rules_admin_never_touches_owners_and_the_last_owner_stays(
    database: Database, seeded: Seeded
) -> None:
    with database.session() as session:
        ws = seeded.workspace_id
        owner = _user_id(database, seeded.owner_email)
        admin = _user_id(database, "admin@harbour.example.com")
        member = _user_id(database, "member@harbour.example.com")
        with pytest.raises(PermissionDenied, match="only an owner may make someone an owner"):
            user_service.change_role(session, ws, member, Role.OWNER, by=Role.ADMIN)
        with pytest.raises(PermissionDenied, match="only an owner may change or remove an owner"):
            user_service.change_role(session, ws, owner, Role.MEMBER, by=Role.ADMIN)
        with pytest.raises(PermissionDenied, match="only an owner may change or remove an owner"):
            user_service.remove_from_workspace(session, ws, owner, by=Role.ADMIN)
        with pytest.raises(PermissionDenied, match="only an owner may make someone an owner"):
            user_service.add_to_workspace(
                session, ws, "new@x.example.com", "New", Role.OWNER, None, by=Role.ADMIN
            )
        with pytest.raises(Conflict, match="at least one owner"):
            user_service.change_role(session, ws, owner, Role.ADMIN, by=Role.OWNER)
        with pytest.raises(Conflict, match="at least one owner"):
            user_service.remove_from_workspace(session, ws, owner, by=Role.OWNER)
        # an admin manages admins and members
        user_service.change_role(session, ws, member, Role.ADMIN, by=Role.ADMIN)
        user_service.remove_from_workspace(session, ws, admin, by=Role.ADMIN)
        # with a second owner, the first may step down
        user_service.change_role(session, ws, member, Role.OWNER, by=Role.OWNER)
        user_service.change_role(session, ws, owner, Role.MEMBER, by=Role.OWNER)
        with pytest.raises(NotFound):
            user_service.remove_from_workspace(session, ws, admin, by=Role.OWNER)


# -- the page -----------------------------------------------------------------------------


def test_members_are_refused(service: TestClient, seeded: Seeded) -> None:
    sign_in(service, "member@harbour.example.com")
    page = service.get("/users")
    assert page.status_code == 403
    assert "Only owners and admins manage users" in page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    refused = service.post(
        "/users",
        data={"email": "x@y.example.com", "name": "X", "role": "member", "csrf_token": token.group(1)},
    )
    assert refused.status_code == 403


def test_owner_lists_users_with_roles(owner_page: TestClient) -> None:
    text = _page(owner_page)
    for role in ("owner", "admin", "member"):
        assert f'data-user="{role}@harbour.example.com"' in text
    assert 'data-role="owner"' in text and 'data-role="admin"' in text and 'data-role="member"' in text


def test_adding_a_user_shows_a_first_password_once_that_signs_in(
    owner_page: TestClient, database: Database, seeded: Seeded, service: TestClient
) -> None:
    response = post_form(
        owner_page,
        "/users",
        "/users",
        {"email": "Noor@Harbour.example.com", "name": "Noor Haddad", "role": "admin"},
    )
    assert response.status_code == 200, response.text
    found = re.search(r'value="([^"]+)" data-initial-password', response.text)
    assert found, response.text
    password = html.unescape(found.group(1))
    assert _role_of(database, seeded.workspace_id, "noor@harbour.example.com") is Role.ADMIN
    assert "data-initial-password" not in owner_page.get("/users").text  # shown once only
    with database.session() as session:  # stored hashed, never in plain
        stored = session.scalars(select(User).where(User.email == "noor@harbour.example.com")).one()
        assert stored.password_hash and password not in stored.password_hash
    service.cookies.clear()
    sign_in(service, "noor@harbour.example.com", password)
    assert service.get("/users").status_code == 200


def test_bad_input_is_shown_beside_the_field_with_values_kept(
    owner_page: TestClient, database: Database
) -> None:
    response = post_form(
        owner_page, "/users", "/users", {"email": "not-an-email", "name": "Kept Name", "role": "member"}
    )
    assert response.status_code == 422
    assert "Email: enter an address like name@example.com." in response.text
    assert 'value="Kept Name"' in response.text and 'value="not-an-email"' in response.text
    again = post_form(
        owner_page, "/users", "/users", {"email": "admin@harbour.example.com", "name": "A", "role": "member"}
    )
    assert again.status_code == 422
    assert "already a user of this workspace" in again.text


def test_admin_cannot_create_or_change_owners(
    service: TestClient, database: Database, seeded: Seeded
) -> None:
    sign_in(service, "admin@harbour.example.com")
    page = service.get("/users").text
    assert '<option value="owner"' not in page  # no owner choice offered
    forged = post_form(
        service, "/users", "/users", {"email": "boss@harbour.example.com", "name": "Boss", "role": "owner"}
    )
    assert forged.status_code == 422
    assert "only an owner may make someone an owner" in html.unescape(forged.text)
    assert _role_of(database, seeded.workspace_id, "boss@harbour.example.com") is None
    owner_id = _user_id(database, seeded.owner_email)
    post_form(service, "/users", f"/users/{owner_id}/role", {"role": "member"})
    assert "only an owner may change or remove an owner" in _page(service)
    assert _role_of(database, seeded.workspace_id, seeded.owner_email) is Role.OWNER
    post_form(service, "/users", f"/users/{owner_id}/remove")
    assert _role_of(database, seeded.workspace_id, seeded.owner_email) is Role.OWNER
    member_id = _user_id(database, "member@harbour.example.com")
    post_form(service, "/users", f"/users/{member_id}/role", {"role": "owner"})
    assert _role_of(database, seeded.workspace_id, "member@harbour.example.com") is Role.MEMBER
    post_form(service, "/users", f"/users/{member_id}/role", {"role": "admin"})
    assert _role_of(database, seeded.workspace_id, "member@harbour.example.com") is Role.ADMIN


def test_last_owner_can_be_neither_demoted_nor_removed(
    owner_page: TestClient, database: Database, seeded: Seeded
) -> None:
    owner_id = _user_id(database, seeded.owner_email)
    post_form(owner_page, "/users", f"/users/{owner_id}/role", {"role": "admin"})
    assert "at least one owner" in _page(owner_page)
    post_form(owner_page, "/users", f"/users/{owner_id}/remove")
    assert "at least one owner" in _page(owner_page)
    assert _role_of(database, seeded.workspace_id, seeded.owner_email) is Role.OWNER
    admin_id = _user_id(database, "admin@harbour.example.com")
    post_form(owner_page, "/users", f"/users/{admin_id}/role", {"role": "owner"})
    assert _role_of(database, seeded.workspace_id, "admin@harbour.example.com") is Role.OWNER
    post_form(owner_page, "/users", f"/users/{owner_id}/role", {"role": "member"})
    assert _role_of(database, seeded.workspace_id, seeded.owner_email) is Role.MEMBER


def test_removing_someone_ends_their_access(
    owner_page: TestClient, database: Database, seeded: Seeded
) -> None:
    member_id = _user_id(database, "member@harbour.example.com")
    confirm = owner_page.get(f"/users/{member_id}/remove")
    assert confirm.status_code == 200 and "Remove Member Person from this workspace?" in confirm.text
    done = post_form(owner_page, f"/users/{member_id}/remove", f"/users/{member_id}/remove")
    assert done.status_code == 303
    assert "Member Person no longer has access to this workspace." in _page(owner_page)
    assert _role_of(database, seeded.workspace_id, "member@harbour.example.com") is None
    with database.session() as session:
        assert session.scalars(select(User).where(User.email == "member@harbour.example.com")).one()
    refused = owner_page.post(
        "/api/v1/auth/login", json={"email": "member@harbour.example.com", "password": PASSWORD}
    )
    assert refused.status_code == 401


def test_another_workspaces_user_is_not_found(owner_page: TestClient, database: Database) -> None:
    with database.session() as session:
        other = seed_workspace(session, "Elsewhere", slug="elsewhere")
    stranger = _user_id(database, "member@elsewhere.example.com")
    assert owner_page.get(f"/users/{stranger}/remove").status_code == 404
    post_form(owner_page, "/users", f"/users/{stranger}/remove")
    post_form(owner_page, "/users", f"/users/{stranger}/role", {"role": "admin"})
    assert _role_of(database, other.workspace_id, "member@elsewhere.example.com") is Role.MEMBER
