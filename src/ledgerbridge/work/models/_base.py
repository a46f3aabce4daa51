"""Column helpers shared by the work-side models."""

from __future__ import annotations

import enum
from typing import Any

from sqlalchemy import Enum, ForeignKey, String
from sqlalchemy.orm import Mapped, declared_attr, mapped_column


def enum_column(enum_type: type[enum.Enum], **kwargs: Any) -> Any:
    """Store an enum by its value as plain text, identical on SQLite and PostgreSQL."""
    return mapped_column(
        Enum(
            enum_type,
            native_enum=False,
            create_constraint=False,
            length=20,
            values_callable=lambda members: [m.value for m in members],
        ),
        **kwargs,
    )


class WorkspaceScoped:
    """Every work-side row belongs to one workspace; every query filters on it."""

    @declared_attr
    def workspace_id(cls) -> Mapped[str]:
        return mapped_column(String(36), ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)


class OrganisationOwned:
    """A record that syncs belongs to one Xero organisation of the workspace: the one it
    was pulled from, the one chosen when it was made, or (for records made before there
    were several) the one "Migrate" assigned it to. None: not yet sent anywhere; it goes to
    the default organisation when first sent (``sync.migrate``, ``sync.outbox``)."""

    @declared_attr
    def xero_connection_id(cls) -> Mapped[str | None]:
        return mapped_column(
            String(36), ForeignKey("xero_connections.id", ondelete="SET NULL"), index=True
        )
