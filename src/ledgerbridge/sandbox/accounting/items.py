"""Items (XERO_API_NOTES 4.7): ``Code`` required and unique ("Price List Item with Code
'...' already exists"), sales and purchase details validated against the chart of
accounts and tax rates, not paged, ``DELETE`` answers 204.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from ledgerbridge.money import round_unit
from ledgerbridge.sandbox.accounting import framework as fw
from ledgerbridge.sandbox.accounting import refdata, wire
from ledgerbridge.sandbox.accounting.framework import ElementError, Resource
from ledgerbridge.sandbox.errors import not_found
from ledgerbridge.sandbox.guard import ApiContext, require_resource
from ledgerbridge.sandbox.models import Organisation, Record

__all__ = ["router"]

router = APIRouter()
ITEMS_DEP = require_resource("Items")

ITEM = Resource("Items", "ItemID", "Item", frozenset({
    "Code", "InventoryAssetAccountCode", "Name", "IsSold", "IsPurchased", "Description",
    "PurchaseDescription", "PurchaseDetails", "SalesDetails", "IsTrackedAsInventory",
    "TotalCostPool", "QuantityOnHand", "UpdatedDateUTC", "ItemID",
}))
_TEXT_LIMITS = {"Code": 30, "Name": 50, "Description": 4000, "PurchaseDescription": 4000}


def _details(org: Organisation, raw: Any, direction: str, errors: list[str]) -> dict[str, Any]:
    if not isinstance(raw, dict):
        return {}
    details: dict[str, Any] = {}
    if raw.get("UnitPrice") is not None:
        try:
            details["UnitPrice"] = round_unit(wire.parse_decimal(raw["UnitPrice"], "UnitPrice"))
        except wire.WireError as exc:
            errors.append(str(exc))
    line = {"AccountCode": raw.get("AccountCode"), "TaxType": raw.get("TaxType")}
    account, rate, problems = refdata.resolve_line_account(org, line, direction)
    errors.extend(problems)
    if account is not None:
        details["AccountCode"] = account["Code"]
    if rate is not None:
        details["TaxType"] = rate["TaxType"]
    if raw.get("COGSAccountCode"):
        details["COGSAccountCode"] = str(raw["COGSAccountCode"])
    return details


def _render(record: Record, unitdp: int = 2) -> dict[str, Any]:
    data = fw.public(record)
    for name in ("SalesDetails", "PurchaseDetails"):
        details = dict(data.get(name) or {})
        if isinstance(details.get("UnitPrice"), Decimal):
            details["UnitPrice"] = details["UnitPrice"].quantize(
                Decimal("0.0001") if unitdp == 4 else Decimal("0.01"))
        data[name] = details
    rendered: dict[str, Any] = wire.render(data)
    return rendered


def _apply(ctx: ApiContext, element: dict[str, Any], *, allow_update: bool) -> dict[str, Any]:
    org = ctx.org
    item_id = str(element.get("ItemID") or "").lower()
    existing = org.get_record(ITEM.collection, item_id) if item_id else None
    if item_id and existing is None:
        raise ElementError("The item with the specified ItemID could not be found")
    if existing is None and allow_update and element.get("Code"):
        existing = next((i for i in org.records(ITEM.collection).values()
                         if i.get("Code") == str(element["Code"]).strip()), None)
    errors: list[str] = []
    record: Record = dict(existing) if existing else {
        "ItemID": fw.new_id(), "IsSold": True, "IsPurchased": True,
        "IsTrackedAsInventory": False, "SalesDetails": {}, "PurchaseDetails": {}}
    for name, limit in _TEXT_LIMITS.items():
        if element.get(name) is not None:
            value = str(element[name]).strip()
            if len(value) > limit:
                errors.append(f"{name} must not be more than {limit} characters long.")
            record[name] = value
    for name in ("IsSold", "IsPurchased"):
        if isinstance(element.get(name), bool):
            record[name] = element[name]
    if "SalesDetails" in element:
        record["SalesDetails"] = _details(org, element["SalesDetails"], "SALES", errors)
    if "PurchaseDetails" in element:
        record["PurchaseDetails"] = _details(org, element["PurchaseDetails"], "PURCHASES", errors)
    if not record["IsSold"]:
        record["SalesDetails"] = {}
    if not record["IsPurchased"]:
        record["PurchaseDetails"] = {}
    code = record.get("Code")
    if not code:
        errors.append("Code is a required field")
    elif any(i.get("Code") == code and i["ItemID"] != record["ItemID"]
             for i in org.records(ITEM.collection).values()):
        errors.append(f"Price List Item with Code '{code}' already exists")
    if errors:
        raise ElementError(*errors)
    record["UpdatedDateUTC"] = fw.now_ms(ctx)
    org.put_record(ITEM.collection, record["ItemID"], record)
    return _render(record)


def _find(ctx: ApiContext, ref: str) -> Record:
    """By ``ItemID`` or by ``Code`` (Xero's docs allow both)."""
    return fw.find_one(ctx.org, ITEM, ref, number_field="Code")


@router.get("/Items")
async def list_items(request: Request, ctx: ApiContext = Depends(ITEMS_DEP)) -> Response:
    query = fw.ListQuery.parse(request)
    records = fw.select(ITEM, ctx.org.iter_records(ITEM.collection), query, default_order="Code")
    return fw.list_response(ctx, ITEM, records, query, lambda r: _render(r, query.unitdp))


@router.get("/Items/{item_ref}")
async def get_item(item_ref: str, request: Request, ctx: ApiContext = Depends(ITEMS_DEP)) -> Response:
    query = fw.ListQuery.parse(request)
    return fw.single_response(ctx, "Items", [_render(_find(ctx, item_ref), query.unitdp)])


@router.put("/Items")
async def create_items(request: Request, ctx: ApiContext = Depends(ITEMS_DEP)) -> Response:
    raw = await request.body()
    return fw.write_endpoint(ctx, request, raw, ITEM, lambda e: _apply(ctx, e, allow_update=False))


@router.post("/Items")
async def update_or_create_items(request: Request, ctx: ApiContext = Depends(ITEMS_DEP)) -> Response:
    raw = await request.body()
    return fw.write_endpoint(ctx, request, raw, ITEM, lambda e: _apply(ctx, e, allow_update=True))


@router.post("/Items/{item_id}")
async def update_item(item_id: str, request: Request,
                      ctx: ApiContext = Depends(ITEMS_DEP)) -> Response:
    raw = await request.body()
    record = _find(ctx, item_id)
    return fw.write_endpoint(ctx, request, raw, ITEM, lambda e: _apply(
        ctx, {**e, "ItemID": record["ItemID"]}, allow_update=True))


@router.delete("/Items/{item_id}")
async def delete_item(item_id: str, ctx: ApiContext = Depends(ITEMS_DEP)) -> Response:
    with ctx.state.transaction():
        record = _find(ctx, item_id)
        if not ctx.org.delete_record(ITEM.collection, record["ItemID"]):
            raise not_found()
    return Response(status_code=204)
