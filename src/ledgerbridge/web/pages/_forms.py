"""The create/edit/archive flow the work pages share (members, clients, projects and
tasks), and the small form helpers under it.

Every such page does the same few steps: find the workspace's record or show a 404, refuse
members (the role) plainly, turn the form's text into the API's input, write through the
API's own CRUD machinery (``web.api.crud.store``: the same checks, uniqueness and hooks),
then re-render the form with the user's values and a message beside each refused field
(422) or redirect with a flash. Those steps live here once, so a fix to one reaches all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Generic, TypeVar
from urllib.parse import urlencode

from fastapi import Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from ledgerbridge.errors import LedgerbridgeError, NotFound
from ledgerbridge.web.api import crud
from ledgerbridge.web.api.crud import ListQuery, Resource, _filtered
from ledgerbridge.web.pages._common import page_actor, redirect, refusal_page, render
from ledgerbridge.web.pages._security import CSRF_FIELD
from ledgerbridge.work.auth import Actor
from ledgerbridge.work.repository import Page, get_scoped, paginate

T = TypeVar("T")
R = TypeVar("R")
ACTIVE_FLAGS: dict[str, bool | None] = {"active": True, "archived": False, "all": None}
"""The list pages' status filter: its keys, and whether each means active records."""

Parse = Callable[[Mapping[str, str]], tuple[dict[str, Any], dict[str, str]]]
"""Form text -> (the values to store, {}) or ({}, the refusals by field)."""


@dataclass
class Form:
    """A form as the page shows it: the user's own text (kept on a refusal) and the
    message beside each field that was wrong (``form`` for the whole form)."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def form_text(raw: Mapping[str, Any], names: Iterable[str]) -> dict[str, str]:
    """The submitted text of ``names`` (a checkbox left unticked is absent: "")."""
    return {name: str(raw.get(name, "")).strip() for name in names if name != CSRF_FIELD}


def as_input(
    values: Mapping[str, str],
    schema: type[BaseModel],
    *,
    checkboxes: Sequence[str] = (),
    keep_blank: Sequence[str] = ("name",),
) -> dict[str, Any]:
    """The API input from form text: only the schema's fields, a blank optional field is
    None (cleared), a ticked checkbox True. A blank required field stays "" so the API's
    own rule ("at least 1 character") refuses it by name."""
    data: dict[str, Any] = {}
    for name in schema.model_fields:
        if name in checkboxes:
            data[name] = values.get(name, "") not in ("", "off", "false")
        elif name in values:
            text = values[name]
            data[name] = text if text or name in keep_blank else None
    return data


def _friendly(name: str, error: Mapping[str, Any], labels: Mapping[str, str]) -> str:
    """Pydantic's message in words an office manager reads, naming the field."""
    label = labels.get(name, name.replace("_", " ").capitalize())
    kind = str(error.get("type", ""))
    context = error.get("ctx") or {}
    if kind == "string_too_short" or kind == "missing":
        return f"{label}: enter a value."
    if kind == "string_too_long":
        return f"{label}: use at most {context.get('max_length')} characters."
    if kind == "string_pattern_mismatch":
        if "email" in name:
            return f"{label}: enter an email address like name@example.com."
        if name == "currency":
            return f"{label}: enter a three-letter currency code such as AUD."
        return f"{label}: this is not in the expected form."
    if kind.startswith("decimal") or kind in {"greater_than_equal", "finite_number"}:
        return f"{label}: enter an amount of zero or more, like 150 or 150.00 (at most 4 decimal places)."
    if kind.startswith("date"):
        return f"{label}: enter a real date as YYYY-MM-DD, for example 1990-04-25."
    if kind == "enum":
        return f"{label}: choose one of the options."
    if kind == "value_error":  # the API's own rule, in its own words
        return f"{label}: {context.get('error', error.get('msg'))}."
    return f"{label}: {error.get('msg', 'this value is not accepted')}."


def validated(
    schema: type[BaseModel], data: Mapping[str, Any], labels: Mapping[str, str], errors: dict[str, str]
) -> BaseModel | None:
    """``data`` checked by the API's schema; its refusals are added to ``errors``."""
    try:
        return schema.model_validate(dict(data))
    except ValidationError as exc:
        for error in exc.errors():
            name = str(error["loc"][0]) if error["loc"] else "form"
            errors.setdefault(name, _friendly(name, error, labels))
        return None


def check_lengths(
    model: type[Any], data: Mapping[str, Any], labels: Mapping[str, str], errors: dict[str, str]
) -> None:
    """Text longer than its column holds is named here, not left to the database (which
    on PostgreSQL refuses it with an error no one can read)."""
    columns = model.__table__.columns
    for name, value in data.items():
        length = getattr(columns[name].type, "length", None) if name in columns else None
        if isinstance(value, str) and length is not None and len(value) > length and name not in errors:
            label = labels.get(name, name.replace("_", " ").capitalize())
            errors[name] = f"{label}: use at most {length} characters."


def refusal(exc: LedgerbridgeError, labels: Mapping[str, str]) -> dict[str, str]:
    """A domain error as messages beside the fields it names (else for the whole form)."""
    found: dict[str, str] = {}
    for error in exc.errors:
        name = error.field.split(".")[0].split("[")[0]
        label = labels.get(name, name.replace("_", " ").capitalize())
        found.setdefault(name if name in labels else "form", f"{label}: {error.message}.")
    return found or {"form": exc.detail}


def store(
    session: Session,
    resource: Resource,
    actor: Actor,
    obj: Any,
    data: dict[str, Any],
    labels: Mapping[str, str],
) -> dict[str, str]:
    """Write through the API's CRUD machinery (checks, uniqueness, hooks); the refusals, or
    {} when stored. A refusal rolls the unit of work back so nothing half-made is kept."""
    try:
        crud.store(session, resource, actor, obj, data)
    except LedgerbridgeError as exc:
        session.rollback()
        return refusal(exc, labels)
    return {}


def rate_text(value: Decimal | None) -> str:
    """A rate for a form field: two decimals, or all four when it has them."""
    if value is None:
        return ""
    return f"{value:.2f}" if value == value.quantize(Decimal("0.01")) else f"{value.normalize():f}"


def money(value: Decimal | None) -> str:
    """A rate as a list shows it: always two decimals (never a float)."""
    return "—" if value is None else f"{value:,.2f}"


def page_links(path: str, filters: Mapping[str, str | None], found: Page[Any]) -> dict[str, str | None]:
    """Previous/next links that keep the search and filters."""
    kept = {k: v for k, v in filters.items() if v}

    def link(number: int) -> str:
        return path + "?" + urlencode({**kept, "page": number})

    last = max((found.total + found.page_size - 1) // found.page_size, 1)
    return {
        "previous": link(found.page - 1) if found.page > 1 else None,
        "next": link(found.page + 1) if found.page < last else None,
        "last_page": str(last),
        "first_row": str(min((found.page - 1) * found.page_size + 1, found.total)),
        "last_row": str(min(found.page * found.page_size, found.total)),
    }


def status_filter(status: str | None) -> tuple[str, bool | None]:
    """active (default), archived or all -> the chosen key and the flag it means."""
    chosen = status if status in ACTIVE_FLAGS else "active"
    return chosen, ACTIVE_FLAGS[chosen]


def search_text(q: str | None) -> str | None:
    """The search box's text, or None when it is blank (no filter at all)."""
    return (q or "").strip() or None


def refuse(request: Request, session: Session, actor: Actor, area: str) -> Response | None:
    """Members (the role) are told plainly that managing is for owners and admins; None
    when the actor may go ahead."""
    if actor.role.manages:
        return None
    return refusal_page(
        request,
        "Only owners and admins",
        f"Only workspace owners and admins can add or change {area}.",
        403,
        session=session,
        actor=actor,
    )


def lookup(session: Session, model: type[T], workspace_id: str, record_id: str) -> T | None:
    """The workspace's record, or None: another workspace's id does not exist here."""
    try:
        return get_scoped(session, model, workspace_id, record_id)
    except NotFound:
        return None


def missing(request: Request, session: Session, actor: Actor, what: str) -> HTMLResponse:
    """A 404 page that does not say whether the id exists in another workspace."""
    return refusal_page(
        request,
        f"No such {what}",
        f"This {what} does not exist in your workspace. "
        "It may have been removed, or the link is wrong.",
        404,
        session=session,
        actor=actor,
    )


# -- the flow ------------------------------------------------------------------------------------


def managed(
    request: Request, session: Session, actor: Actor, model: type[T], record_id: str, what: str, area: str
) -> T | Response:
    """The workspace's record to change, or the page that stops it: 404 when it is not
    here (checked first, so a member learns nothing about other workspaces' ids), 403 when
    the actor may not manage ``area``."""
    record = lookup(session, model, actor.workspace_id, record_id)
    if record is None:
        return missing(request, session, actor, what)
    refused = refuse(request, session, actor, area)
    return record if refused is None else refused


async def save(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    resource: Resource,
    record: T,
    fields: Iterable[str],
    parse: Parse,
    labels: Mapping[str, str],
    again: Callable[[Form], HTMLResponse],
    done: Callable[[T], tuple[str, str]],
) -> Response:
    """The posted form stored on ``record`` through the API's writer; on a refusal the
    form again (``again``, status 422) with the user's text and the messages; else a
    redirect to ``done(record)`` = (where, what the flash says)."""
    values = form_text(await request.form(), fields)
    data, errors = parse(values)
    if not errors:
        errors = store(session, resource, actor, record, data, labels)
    if errors:
        return again(Form(values, errors))
    where, message = done(record)
    return redirect(request, where, message, "success")


def switch(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    resource: Resource,
    record: Any,
    data: dict[str, Any],
    labels: Mapping[str, str],
    back: str,
    message: str,
) -> Response:
    """One flag (archived, active) set through the same writer as a full save, so the
    change goes to Xero like any other; back to ``back`` with ``message`` or the refusal."""
    errors = store(session, resource, actor, record, data, labels)
    if errors:
        return redirect(request, back, " ".join(errors.values()), "error")
    return redirect(request, back, message, "success")


@dataclass(frozen=True)
class Editor(Generic[R]):
    """One kind of record's add/edit/archive pages, described once: the model and the API
    resource it is written through, the form's fields and labels, the words for its 404
    and refusal pages, how form text becomes API input, how the form is shown, and where
    each success goes with what flash. The routes then stay one line each."""

    model: type[R]
    resource: Resource
    home: str
    """The list page: where archiving comes back to."""
    fields: Sequence[str]
    labels: Mapping[str, str]
    what: str
    """One record, for the 404 page: "member"."""
    area: str
    """What a refused member may not change: "members"."""
    parse: Callable[
        [Session, Actor, Mapping[str, str], type[BaseModel]], tuple[dict[str, Any], dict[str, str]]
    ]
    form_page: Callable[[Request, Session, Actor, Form, R | None, int], HTMLResponse]
    added: Callable[[R], tuple[str, str]]
    """After adding: (where to, the flash)."""
    saved: Callable[[R], tuple[str, str]]

    def blank(self, request: Request, session: Session, form: Form) -> Response:
        """The empty add form (with ``form``'s defaults), or the refusal."""
        actor = page_actor(request, session)
        refused = refuse(request, session, actor, self.area)
        if refused is not None:
            return refused
        return self.form_page(request, session, actor, form, None, 200)

    def find(self, request: Request, session: Session, actor: Actor, record_id: str) -> R | Response:
        return managed(request, session, actor, self.model, record_id, self.what, self.area)

    async def submit(self, request: Request, session: Session, record_id: str | None = None) -> Response:
        """Add (no ``record_id``) or save the record from the posted form."""
        actor = page_actor(request, session)
        if record_id is None:
            refused = refuse(request, session, actor, self.area)
            if refused is not None:
                return refused
            found: R | None = None
            record = self.model(workspace_id=actor.workspace_id)  # type: ignore[call-arg]
        else:
            existing = self.find(request, session, actor, record_id)
            if isinstance(existing, Response):
                return existing
            found = record = existing
        schema = self.resource.create if found is None else self.resource.update
        return await save(
            request,
            session,
            actor,
            resource=self.resource,
            record=record,
            fields=self.fields,
            parse=lambda values: self.parse(session, actor, values, schema),
            labels=self.labels,
            again=lambda form: self.form_page(request, session, actor, form, found, 422),
            done=self.added if found is None else self.saved,
        )

    def toggle(
        self,
        request: Request,
        session: Session,
        record_id: str,
        data: dict[str, Any],
        message: Callable[[R], str],
    ) -> Response:
        """Archive/unarchive (or deactivate/reactivate) through the same writer, back to
        the list page."""
        actor = page_actor(request, session)
        record = self.find(request, session, actor, record_id)
        if isinstance(record, Response):
            return record
        return switch(
            request,
            session,
            actor,
            resource=self.resource,
            record=record,
            data=data,
            labels=self.labels,
            back=self.home,
            message=message(record),
        )


def list_page(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    template: str,
    resource: Resource,
    query: ListQuery,
    path: str,
    filters: Mapping[str, str | None],
    context: Callable[[list[Any]], dict[str, Any]],
    status_code: int = 200,
) -> HTMLResponse:
    """A list page: the API's own filtered query (``crud._filtered``, so the page and the
    API list the same records) one page at a time, with pager links that keep the filters;
    ``context`` adds the page's own values for its rows (e.g. their Xero state)."""
    found = paginate(session, _filtered(resource, actor, query), query.page, query.page_size)
    return render(
        request,
        template,
        {
            "found": found,
            "pages": page_links(path, filters, found),
            "filters": filters,
            "can_manage": actor.role.manages,
            "money": money,
            **context(list(found.items)),
        },
        session=session,
        actor=actor,
        status_code=status_code,
    )
