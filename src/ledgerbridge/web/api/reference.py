"""Tax rates: the codes document lines use and the rates that price them."""

from __future__ import annotations

from decimal import Decimal

from ledgerbridge.web.api.crud import Input, ListQuery, Output, Resource
from ledgerbridge.web.api.types import Name, Percent, TaxType
from ledgerbridge.work.models import TaxRate


class TaxRateCreate(Input):
    tax_type: TaxType
    name: Name
    rate_percent: Percent
    archived: bool = False


class TaxRateUpdate(Input):
    name: Name | None = None
    rate_percent: Percent | None = None
    archived: bool | None = None


class TaxRateRead(Output):
    id: str
    tax_type: str
    name: str
    rate_percent: Decimal
    archived: bool


class TaxRateQuery(ListQuery):
    archived: bool | None = None


tax_rates = Resource(
    path="/tax-rates",
    model=TaxRate,
    read=TaxRateRead,
    create=TaxRateCreate,
    update=TaxRateUpdate,
    query=TaxRateQuery,
    unique=("tax_type",),
    search=("tax_type", "name"),
    order_by=("tax_type",),
    managers_only=True,
)
