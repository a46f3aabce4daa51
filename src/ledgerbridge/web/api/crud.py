"""Declarative CRUD: a resource is described once and gets list, get, create, update and
archive/delete endpoints with the same paging, filters, errors and workspace scoping.

Resources with behaviour of their own (documents with lines, time entries) plug hooks into
the same machinery instead of writing their endpoints again.

This module deliberately has no ``from __future__ import annotations``: the endpoint
signatures use the resource's schema classes from the enclosing scope, which FastAPI must
see as real classes, not as strings.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Select, UniqueConstraint, or_, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ledgerbridge.errors import Conflict, FieldError, invalid
from ledgerbridge.web.deps import ActorDep, SessionDep
from ledgerbridge.work.auth import Actor
from ledgerbridge.work.repository import get_reference, get_scoped, label, paginate, scoped

MAX_PAGE_SIZE = 500


class Input(BaseModel):
    """Base of request bodies: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ListQuery(BaseModel):
    """Paging and free-text search shared by every list endpoint."""

    model_config = ConfigDict(extra="forbid")

    page: int = Field(1, ge=1)
    page_size: int = Field(50, ge=1, le=MAX_PAGE_SIZE)
    q: str | None = Field(None, description="Case-insensitive search in the resource's text fields.")


Hook = Callable[[Session, Actor, Any], None]


@dataclass(frozen=True)
class Resource:
    """Everything the generic endpoints need to know about one record type."""

    path: str
    model: type[Any]
    read: type[Output]
    create: type[Input]
    update: type[Input]
    query: type[ListQuery] = ListQuery
    references: Mapping[str, type[Any]] = field(default_factory=dict)
    unique: tuple[str, ...] = ()
    search: tuple[str, ...] = ()
    order_by: tuple[str, ...] = ("created_at",)
    retire: tuple[str, Any] | None = ("archived", True)
    """DELETE sets this column to this value; ``None`` deletes the row for real."""
    managers_only: bool = False
    validate: Hook | None = None
    apply: Callable[[Session, Actor, Any, dict[str, Any]], None] | None = None
    render: Callable[[Session, Any], Any] | None = None
    render_many: Callable[[Session, Sequence[Any]], list[Any]] | None = None
    """Renders a whole page of records at once (in place of ``render``), for output that
    needs a query per page rather than one per record."""
    before_delete: Hook | None = None
    after_write: Hook | None = None
    """Runs in the same transaction after every create, update or archive (e.g. to write
    the outbox row that carries the change to Xero)."""

    @property
    def name(self) -> str:
        return label(self.model)


def _filtered(resource: Resource, actor: Actor, query: ListQuery) -> Select[tuple[Any]]:
    model = resource.model
    statement = scoped(model, actor.workspace_id)
    for key, value in query.model_dump(exclude={"page", "page_size", "q"}).items():
        if value is None:
            continue
        if key.endswith("_from"):
            statement = statement.where(getattr(model, key[: -len("_from")]) >= value)
        elif key.endswith("_to"):
            statement = statement.where(getattr(model, key[: -len("_to")]) <= value)
        else:
            statement = statement.where(getattr(model, key) == value)
    if query.q and resource.search:
        pattern = f"%{query.q}%"
        statement = statement.where(or_(*(getattr(model, c).ilike(pattern) for c in resource.search)))
    return statement.order_by(*(getattr(model, c) for c in resource.order_by), model.id)


def _check_references(session: Session, resource: Resource, actor: Actor, values: Mapping[str, Any]) -> None:
    for field_name, target in resource.references.items():
        if values.get(field_name) is not None:
            get_reference(session, target, actor.workspace_id, values[field_name], field_name)


def _unique_scope(model: type[Any], column: str) -> tuple[str, ...]:
    """The columns a value of ``column`` is unique within, read from the model's unique
    constraint on it (a task's name within its project), or its unique index per Xero
    organisation (a client's name); else the workspace."""
    for constraint in model.__table__.constraints:
        if isinstance(constraint, UniqueConstraint) and column in constraint.columns:
            return tuple(c.name for c in constraint.columns if c.name != column)
    for index in model.__table__.indexes:
        if index.unique and column in index.columns and ORGANISATION in index.columns:
            return tuple(c.name for c in index.columns if c.name != column)
    return ("workspace_id",)


ORGANISATION = "xero_connection_id"
"""A value unique per organisation is checked against the record's organisation and the
records of none yet (they may go there); a record of none yet, against the workspace."""


def _same_scope(model: type[Any], obj: Any, name: str) -> Any:
    value, column = getattr(obj, name), getattr(model, name)
    if name != ORGANISATION:
        return column == value
    return or_(column == value, column.is_(None)) if value is not None else true()


def _check_unique(session: Session, resource: Resource, obj: Any) -> None:
    """Name the clashing field instead of letting the database raise an opaque error."""
    model = resource.model
    for column in resource.unique:
        value = getattr(obj, column)
        if value is None:
            continue
        scope = _unique_scope(model, column)
        clash = session.scalar(
            select(model.id).where(
                *(_same_scope(model, obj, name) for name in scope),
                getattr(model, column) == value,
                model.id != obj.id,
            )
        )
        if clash is not None:
            within = " in this project" if "project_id" in scope else ""
            if ORGANISATION in scope and getattr(obj, ORGANISATION) is not None:
                within = " in this Xero organisation"
            raise Conflict(
                f"A {resource.name} with {column} '{value}' already exists{within}.",
                [FieldError(column, f"'{value}' is already used by another {resource.name}{within}")],
            )


def _check_required(resource: Resource, values: Mapping[str, Any]) -> None:
    """A PATCH may not blank a field the record cannot live without."""
    columns = resource.model.__table__.columns
    for key, value in values.items():
        if value is None and key in columns and not columns[key].nullable:
            raise invalid(key, "cannot be null; leave it out to keep the current value")


def check_lengths(model: type[Any], values: Mapping[str, Any]) -> None:
    """Refuse text longer than its column holds (``String(n)`` on the model), naming the
    field, before the database does (PostgreSQL raises; SQLite would keep it whole). The
    models are the one source of these limits; input schemas need not repeat them."""
    columns = model.__table__.columns
    for key, value in values.items():
        if not isinstance(value, str) or key not in columns:
            continue
        limit = getattr(columns[key].type, "length", None)
        if limit is not None and len(value) > limit:
            raise invalid(key, f"use at most {limit} characters (this has {len(value)})")


def store(session: Session, resource: Resource, actor: Actor, obj: Any, values: dict[str, Any]) -> Any:
    """Write ``values`` onto ``obj`` (new or stored) the one way the API does: required
    fields, text lengths, references in this workspace, the resource's ``apply`` and
    ``validate`` hooks, unique fields, then flush and ``after_write``. Pages that write a
    resource call this too, so they and the API refuse the same things.

    The checks run with autoflush off: a query must not flush the half-applied change,
    or a database constraint would fail before the check could name the field."""
    with session.no_autoflush:
        _check_required(resource, values)
        check_lengths(resource.model, values)
        _check_references(session, resource, actor, values)
        if resource.apply is not None:
            resource.apply(session, actor, obj, values)
        else:
            for key, value in values.items():
                setattr(obj, key, value)
        _check_unique(session, resource, obj)
        if resource.validate is not None:
            resource.validate(session, actor, obj)
    session.add(obj)
    _flush(session, resource)
    if resource.after_write is not None:
        resource.after_write(session, actor, obj)
    return obj


def _flush(session: Session, resource: Resource) -> None:
    """Constraint violations the checks above did not foresee become a 409, not a 500."""
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict(
            f"This change conflicts with other records of this {resource.name}; "
            "records that still use it must be changed first."
        ) from exc


def _render(session: Session, resource: Resource, obj: Any) -> Any:
    if resource.render_many is not None:
        return resource.render_many(session, [obj])[0]
    if resource.render is not None:
        return resource.render(session, obj)
    return resource.read.model_validate(obj)


def page_model(item: type[BaseModel]) -> type[BaseModel]:
    class PageOf(BaseModel):
        items: list[item]  # type: ignore[valid-type]
        page: int
        page_size: int
        total: int

    PageOf.__name__ = f"{item.__name__}Page"
    PageOf.__qualname__ = PageOf.__name__
    return PageOf


def router_for(resource: Resource, tag: str) -> APIRouter:
    """The five endpoints of one resource."""
    router = APIRouter(prefix=resource.path, tags=[tag])
    page_type = page_model(resource.read)
    create_type, update_type = resource.create, resource.update

    def writer(actor: Actor) -> None:
        if resource.managers_only:
            actor.require_manager()

    @router.get("", response_model=page_type, summary=f"List {tag.lower()}")
    def list_records(
        session: SessionDep,
        actor: ActorDep,
        query: Annotated[resource.query, Query()],  # type: ignore[name-defined]
    ) -> Any:
        found = paginate(session, _filtered(resource, actor, query), query.page, query.page_size)
        if resource.render_many is not None:
            items = resource.render_many(session, list(found.items))
        else:
            items = [_render(session, resource, obj) for obj in found.items]
        return {
            "items": items,
            "page": found.page,
            "page_size": found.page_size,
            "total": found.total,
        }

    @router.get("/{record_id}", response_model=resource.read, summary=f"Get a {resource.name}")
    def get_record(record_id: str, session: SessionDep, actor: ActorDep) -> Any:
        obj = get_scoped(session, resource.model, actor.workspace_id, record_id)
        return _render(session, resource, obj)

    @router.post("", response_model=resource.read, status_code=201, summary=f"Create a {resource.name}")
    def create_record(body: create_type, session: SessionDep, actor: ActorDep) -> Any:  # type: ignore[valid-type]
        writer(actor)
        obj = resource.model(workspace_id=actor.workspace_id)
        store(session, resource, actor, obj, body.model_dump())  # type: ignore[attr-defined]
        return _render(session, resource, obj)

    @router.patch("/{record_id}", response_model=resource.read, summary=f"Update a {resource.name}")
    def update_record(record_id: str, body: update_type, session: SessionDep, actor: ActorDep) -> Any:  # type: ignore[valid-type]
        writer(actor)
        obj = get_scoped(session, resource.model, actor.workspace_id, record_id)
        store(session, resource, actor, obj, body.model_dump(exclude_unset=True))  # type: ignore[attr-defined]
        return _render(session, resource, obj)

    verb = "Delete" if resource.retire is None else "Archive"

    @router.delete("/{record_id}", status_code=204, summary=f"{verb} a {resource.name}")
    def delete_record(record_id: str, session: SessionDep, actor: ActorDep) -> Response:
        writer(actor)
        obj = get_scoped(session, resource.model, actor.workspace_id, record_id)
        if resource.before_delete is not None:
            resource.before_delete(session, actor, obj)
        if resource.retire is None:
            session.delete(obj)
        else:
            setattr(obj, *resource.retire)
        _flush(session, resource)
        if resource.after_write is not None and resource.retire is not None:
            resource.after_write(session, actor, obj)
        return Response(status_code=204)

    return router


__all__ = ["Input", "ListQuery", "Output", "Resource", "check_lengths", "router_for", "store"]
