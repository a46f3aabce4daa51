"""Schema pieces every priced document shares: lines in and out, headers, defaults.

The rules live in ``ledgerbridge.work.documents``; this module only shapes JSON.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, Field, StringConstraints, field_validator, model_serializer
from pydantic_core.core_schema import SerializerFunctionWrapHandler

from ledgerbridge.money import LineAmountType, Totals
from ledgerbridge.web.api.crud import Input, ListQuery
from ledgerbridge.web.api.types import AccountCode, Currency, Quantity, TaxType, UnitAmount
from ledgerbridge.work import documents
from ledgerbridge.work.documents import LineSpec
from ledgerbridge.work.models import TaxRate

MAX_TRACKING = 2
"""Xero allows at most two tracking categories per line."""

Description = Annotated[str, StringConstraints(min_length=1, max_length=4000)]
ItemCode = Annotated[str, StringConstraints(min_length=1, max_length=30)]
DiscountRate = Annotated[Decimal, Field(ge=0, le=100, max_digits=5, decimal_places=2)]
TrackingText = Annotated[str, StringConstraints(min_length=1, max_length=100)]
DocumentNumber = Annotated[str, StringConstraints(min_length=1, max_length=255)]


class TrackingInput(Input):
    category: TrackingText
    option: TrackingText


class LineInput(Input):
    """A line as sent; ``lines`` in a request replace the document's whole set."""

    description: Description
    quantity: Quantity = Decimal(1)
    unit_amount: UnitAmount = Decimal(0)
    discount_rate: DiscountRate | None = None
    item_code: ItemCode | None = None
    account_code: AccountCode | None = None
    tax_type: TaxType | None = None
    tracking: list[TrackingInput] = Field(default_factory=list, max_length=MAX_TRACKING)

    @field_validator("tracking")
    @classmethod
    def _one_option_per_category(cls, tracking: list[TrackingInput]) -> list[TrackingInput]:
        categories = [t.category.casefold() for t in tracking]
        if len(set(categories)) != len(categories):
            raise ValueError("each tracking category may appear once per line")
        return tracking


class ServerDefaults(Input):
    """A create body whose left-out fields get defaults only the server knows.

    The generic CRUD refuses ``None`` for a required column, so fields left out (issue date:
    today in the workspace's timezone, currency: the workspace's) are dropped from the dump
    and the service fills them in.
    """

    server_defaults: ClassVar[frozenset[str]] = frozenset(
        {"issue_date", "currency", "line_amount_type", "status"}
    )

    @model_serializer(mode="wrap")
    def _drop_left_out(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        return {k: v for k, v in data.items() if not (v is None and k in self.server_defaults)}


class HeaderFields(Input):
    """Header fields every document accepts on update."""

    number: DocumentNumber | None = None
    reference: Annotated[str, StringConstraints(max_length=255)] | None = None
    client_id: str | None = None
    issue_date: dt.date | None = None
    currency: Currency | None = None
    line_amount_type: LineAmountType | None = None
    xero_connection_id: str | None = Field(
        None,
        description="The Xero organisation it belongs to (a connection id); leave out for its "
        "client's, or the default.",
    )


class LineRead(BaseModel):
    id: str
    position: int
    description: str
    quantity: Decimal
    unit_amount: Decimal
    discount_rate: Decimal | None
    item_code: str | None
    account_code: str | None
    tax_type: str | None
    tracking: list[dict[str, str]]
    line_amount: Decimal
    tax_amount: Decimal


class DocumentQuery(ListQuery):
    client_id: str | None = None
    issue_date_from: dt.date | None = None
    issue_date_to: dt.date | None = None
    xero_connection_id: str | None = None


def line_specs(lines: Sequence[Mapping[str, Any]] | None) -> list[LineSpec] | None:
    """Request lines as service specs; ``None`` means 'keep the lines as they are'."""
    if lines is None:
        return None
    return [LineSpec.from_mapping(line) for line in lines]


def render_lines(document: documents.Document, rates: Mapping[str, TaxRate]) -> list[dict[str, Any]]:
    """Each line with its amount and tax, rounded per line exactly as the totals are."""
    rendered = []
    for i, line in enumerate(documents.lines_of(document)):
        amount, tax = documents.line_figures(line, rates, document.line_amount_type, i)
        rendered.append(
            {
                "id": line.id,
                "position": line.position,
                "description": line.description,
                "quantity": line.quantity,
                "unit_amount": line.unit_amount,
                "discount_rate": line.discount_rate,
                "item_code": line.item_code,
                "account_code": line.account_code,
                "tax_type": line.tax_type,
                "tracking": line.tracking or [],
                "line_amount": amount,
                "tax_amount": tax,
            }
        )
    return rendered


def header(document: documents.Document) -> dict[str, Any]:
    return {
        "id": document.id,
        "number": document.number,
        "reference": document.reference,
        "client_id": document.client_id,
        "issue_date": document.issue_date,
        "currency": document.currency,
        "line_amount_type": document.line_amount_type,
        "status": document.status,
        "xero_connection_id": document.xero_connection_id,
        "created_at": document.created_at,
        "updated_at": document.updated_at,
    }


def totals(figures: Totals) -> dict[str, Decimal]:
    return {"sub_total": figures.sub_total, "total_tax": figures.total_tax, "total": figures.total}


def split_values(values: dict[str, Any]) -> tuple[dict[str, Any], list[LineSpec] | None, Any]:
    """(header values, line specs or None, requested status or None) of a request body."""
    header_values = dict(values)
    lines = line_specs(header_values.pop("lines", None))
    status = header_values.pop("status", None)
    return header_values, lines, status
