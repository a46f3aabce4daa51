"""Contract checks: every request and response validated against Xero's OpenAPI specs.

``ContractChecker`` is an httpx response hook. Installed on a ``TestClient``, it validates
each call under one API prefix against the official spec with openapi-core and raises
``AssertionError`` on the first mismatch, so a test fails at the call that broke the
contract. Statuses the spec does not describe (401, 403, 404, 429: the guard's, not the
family's) are checked for nothing but are counted, so tests can tell. A request the spec
forbids passes only if the sandbox refused it with a 4xx (tests send bad requests on
purpose); accepting it fails the test.

Payroll 2.0 answers a 400 as its envelope with the ``Problem`` under ``problem`` (the
spec's ``x-hasPayrollUkProblem``; the SDK reads ``problem``). The spec's 400 schema is the
bare ``Problem``, whose properties are all optional, so the envelope passes it; the checker
therefore also validates a nested ``problem`` against ``Problem`` itself.

Shared by the Payroll AU and Projects tests (the Accounting tests had no helper in a shared
place when this was written).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import yaml
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.templating.responses.exceptions import ResponseNotFound
from openapi_schema_validator import OAS30Validator
from werkzeug.datastructures import Headers, ImmutableMultiDict

SPECS = Path("/work/shared/xero-openapi")
XERO_HOST = "https://api.xero.com"


def _drop_ref_siblings(node: Any) -> Any:
    """OpenAPI 3.0 says keys beside a ``$ref`` are ignored; openapi-core applies them. The
    Projects spec has ``rate: {$ref: Amount, type: number}``, which would then demand a
    number where Xero (and the spec's examples, and the SDK's ``Amount`` model) send an
    object, so the siblings are removed as the OpenAPI rules say."""
    if isinstance(node, dict):
        if "$ref" in node:
            return {"$ref": node["$ref"]}
        return {key: _drop_ref_siblings(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_drop_ref_siblings(item) for item in node]
    return node


def _relax_deletes(document: dict[str, Any]) -> dict[str, Any]:
    """Payroll AU 2.0's two DELETEs declare their 200 as ``TimesheetLine`` (a copy of the
    line schema, ``date``, ``earningsRateID`` and ``numberOfUnits`` required), though a
    deleted timesheet has no line to return; the sandbox answers the bare envelope. The
    deletes' 200 is checked against ``TimesheetLine`` without its ``required`` list (every
    field that is sent must still have the line's type); nothing else changes."""
    schemas = document["components"]["schemas"]
    relaxed = {key: value for key, value in schemas["TimesheetLine"].items() if key != "required"}
    for path in ("/Timesheets/{TimesheetID}", "/Timesheets/{TimesheetID}/Lines/{TimesheetLineID}"):
        content = document["paths"][path]["delete"]["responses"]["200"]["content"]
        content["application/json"]["schema"] = relaxed
    return document


_SPEC_FIXES = {"xero-payroll-au-v2.yaml": _relax_deletes}


@cache
def load_document(name: str) -> dict[str, Any]:
    path = SPECS / name
    document = _drop_ref_siblings(yaml.safe_load(path.read_text(encoding="utf-8")))
    assert isinstance(document, dict)
    fix = _SPEC_FIXES.get(name)
    return fix(document) if fix else document


@cache
def load_spec(name: str) -> OpenAPI:
    """Parse a spec once per test session (they are large)."""
    return OpenAPI.from_dict(load_document(name), base_uri=(SPECS / name).as_uri())


def check_problem(spec_name: str, problem: Any) -> None:
    """Validate a Payroll 2.0 ``problem`` against the spec's ``Problem`` schema."""
    components = load_document(spec_name)["components"]
    schema = {**components["schemas"]["Problem"], "components": components}
    OAS30Validator(schema).validate(problem)


class _Request:
    """An httpx request seen through openapi-core's ``Request`` protocol, as if sent to
    api.xero.com (the specs' server)."""

    def __init__(self, request: httpx.Request) -> None:
        self._request = request
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(list(request.url.params.multi_items())),
            header=Headers(list(request.headers.items())),
            cookie=ImmutableMultiDict(),
        )

    @property
    def host_url(self) -> str:
        return XERO_HOST

    @property
    def path(self) -> str:
        return self._request.url.path

    @property
    def method(self) -> str:
        return self._request.method.lower()

    @property
    def body(self) -> bytes | None:
        return self._request.content or None

    @property
    def content_type(self) -> str:
        return self._request.headers.get("content-type", "").lower()


class _Response:
    def __init__(self, response: httpx.Response) -> None:
        self._response = response

    @property
    def status_code(self) -> int:
        return self._response.status_code

    @property
    def content_type(self) -> str:
        return self._response.headers.get("content-type", "").lower()

    @property
    def headers(self) -> Mapping[str, Any]:
        return Headers(list(self._response.headers.items()))

    @property
    def data(self) -> bytes | None:
        return self._response.content or None


@dataclass
class ContractChecker:
    spec_name: str
    prefix: str
    validated: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    def check(self, response: httpx.Response) -> None:
        """Validate one exchange; raise ``AssertionError`` naming the call on a mismatch."""
        request = response.request
        if not request.url.path.lower().startswith(self.prefix.lower()):
            return
        response.read()
        spec = load_spec(self.spec_name)
        call = f"{request.method} {request.url.path} -> {response.status_code}"
        wrapped = _Request(request)
        try:
            with warnings.catch_warnings():
                # openapi-core cannot check OAuth2 security; the guard's own tests cover it.
                warnings.filterwarnings("ignore", "Unsupported scheme type", UserWarning)
                spec.validate_request(wrapped)
        except Exception as exc:
            if 400 <= response.status_code < 500:
                # A test sent a request the spec forbids on purpose, and it was refused.
                self.refused.append(call)
                return
            raise AssertionError(f"request breaks the contract: {call}: {exc!r}") from exc
        try:
            spec.validate_response(wrapped, _Response(response))
        except ResponseNotFound:
            self.skipped.append(call)
            return
        except Exception as exc:
            raise AssertionError(f"response breaks the contract: {call}: {exc!r} "
                                 f"{getattr(exc, '__cause__', '')!r}\n{response.text[:2000]}") from exc
        if response.status_code >= 400 and "json" in response.headers.get("content-type", ""):
            body = response.json()
            if isinstance(body, dict) and "problem" in body:
                try:
                    check_problem(self.spec_name, body["problem"])
                except Exception as exc:
                    raise AssertionError(f"problem breaks the contract: {call}: {exc!r}") from exc
        self.validated.append(call)

    def install(self, client: httpx.Client) -> None:
        client.event_hooks = {"request": [], "response": [self.check]}
