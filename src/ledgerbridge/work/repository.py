"""Workspace-scoped queries. Every read of work-side data goes through ``scoped``.

Putting the workspace filter in one function is what keeps one workspace from ever seeing
another's rows: an id from another workspace simply does not exist here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from ledgerbridge.errors import NotFound, invalid

T = TypeVar("T")


def scoped(model: type[T], workspace_id: str) -> Select[tuple[T]]:
    return select(model).where(model.workspace_id == workspace_id)  # type: ignore[attr-defined]


def label(model: type[Any]) -> str:
    """'time_entries' -> 'time entry', for messages a person reads."""
    name: str = model.__tablename__
    singular = name[:-3] + "y" if name.endswith("ies") else name.rstrip("s")
    return singular.replace("_", " ")


def get_scoped(session: Session, model: type[T], workspace_id: str, record_id: str) -> T:
    """The record, or a 404 that does not reveal whether it exists in another workspace."""
    obj = session.scalar(scoped(model, workspace_id).where(model.id == record_id))  # type: ignore[attr-defined]
    if obj is None:
        raise NotFound(f"No {label(model)} with id '{record_id}' in this workspace.")
    return obj


def get_reference(session: Session, model: type[T], workspace_id: str, record_id: str, field: str) -> T:
    """Resolve an id given in input; an unknown one is a 422 naming the field.

    By primary key, so a record this unit of work already holds costs no query (bulk
    writes resolve the same client for many documents); the workspace is checked after.
    """
    obj = session.get(model, record_id)
    if obj is None or obj.workspace_id != workspace_id:  # type: ignore[attr-defined]
        raise invalid(field, f"no {label(model)} with id '{record_id}' exists in this workspace")
    return obj


@dataclass(frozen=True)
class Page(Generic[T]):
    items: Sequence[T]
    page: int
    page_size: int
    total: int


def paginate(session: Session, statement: Select[tuple[T]], page: int, page_size: int) -> Page[T]:
    total = session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    items = session.scalars(statement.limit(page_size).offset((page - 1) * page_size)).all()
    return Page(items=items, page=page, page_size=page_size, total=total or 0)
