"""Xero's ``where`` and ``order`` query language, and paging (XERO_API_NOTES 3.4, 3.5).

``where`` is a C#/Dynamic-LINQ expression. We implement what real clients send rather
than all of LINQ: comparisons (``== != <> = < > <= >=``), ``AND``/``&&``, ``OR``/``||``,
``NOT``/``!``, parentheses, string methods (``Contains``, ``StartsWith``, ``EndsWith``,
``ToLower``, ``ToUpper``, ``Trim``), ``HasValue``/``Value``, literals (strings, numbers,
``true``/``false``/``null``, ``DateTime(2020,01,01)``, ``DateTime(2020,1,1,13,30,0)``,
``Guid("...")``) and nested fields (``Contact.ContactID``).

Semantics follow .NET: string comparison is case-sensitive (clients add ``ToLower()``
for case-insensitive matches, which is why it is supported), a ``Guid`` compares
case-insensitively, a comparison with a null on one side is false except ``==``/``!=``
null, and member names resolve case-insensitively, as Dynamic LINQ does. An unknown
top-level field or a syntax error is a ``QueryError``, which the API answers as Xero's
400 ``QueryParseException``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

__all__ = [
    "Page",
    "QueryError",
    "apply_order",
    "compile_where",
    "paginate",
    "parse_order",
    "resolve",
]

Predicate = Callable[[Mapping[str, Any]], bool]
Getter = Callable[[Mapping[str, Any]], Any]


class QueryError(ValueError):
    """A ``where`` or ``order`` Xero could not parse; the message is Xero-like."""


class Guid(str):
    """A ``Guid("...")`` literal: compares case-insensitively."""

    __slots__ = ()


# -- tokens -----------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<number>\d+(?:\.\d+)?)
      | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<op>==|!=|<>|<=|>=|&&|\|\||[=<>!().,-])
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    index: int


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None or match.lastgroup is None:
            raise QueryError(f"Syntax error (at index {position})")
        kind = match.lastgroup
        tokens.append(_Token(kind, match.group(kind), match.start(kind)))
        position = match.end()
    tokens.append(_Token("end", "", len(text)))
    return tokens


def _unquote(literal: str) -> str:
    body = literal[1:-1]
    return re.sub(r"\\(.)", r"\1", body)


# -- values -----------------------------------------------------------------------------------


def _norm(value: Any) -> Any:
    """Bring record and literal values to comparable types: numbers to Decimal, dates to
    aware datetimes at midnight UTC."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(0), tzinfo=UTC)
    if isinstance(value, int | float):
        return Decimal(str(value))
    return value


def _equal(left: Any, right: Any) -> bool:
    left, right = _norm(left), _norm(right)
    if left is None or right is None:
        return left is None and right is None
    if isinstance(left, Guid) or isinstance(right, Guid):
        return isinstance(left, str) and isinstance(right, str) and left.lower() == right.lower()
    if isinstance(left, bool) != isinstance(right, bool):
        return False
    if type(left) is not type(right) and not (isinstance(left, str) and isinstance(right, str)):
        return False
    return bool(left == right)


def _compare(op: str, left: Any, right: Any) -> bool:
    if op in {"==", "="}:
        return _equal(left, right)
    if op in {"!=", "<>"}:
        return not _equal(left, right)
    left, right = _norm(left), _norm(right)
    if left is None or right is None or isinstance(left, bool) or isinstance(right, bool):
        return False
    if isinstance(left, str) and isinstance(right, str):
        left, right = str(left), str(right)
    elif type(left) is not type(right):
        return False
    try:
        if op == "<":
            return bool(left < right)
        if op == ">":
            return bool(left > right)
        if op == "<=":
            return bool(left <= right)
        return bool(left >= right)
    except TypeError:
        return False


def resolve(record: Mapping[str, Any], path: Sequence[str]) -> Any:
    """A (possibly nested) field of a record; member names match case-insensitively."""
    value: Any = record
    for name in path:
        if not isinstance(value, Mapping):
            return None
        if name in value:
            value = value[name]
            continue
        lowered = name.lower()
        value = next((item for key, item in value.items() if key.lower() == lowered), None)
    return value


_STRING_METHODS: dict[str, Callable[[str, list[Any]], Any]] = {
    "contains": lambda s, a: isinstance(a[0], str) and a[0] in s,
    "startswith": lambda s, a: isinstance(a[0], str) and s.startswith(a[0]),
    "endswith": lambda s, a: isinstance(a[0], str) and s.endswith(a[0]),
    "tolower": lambda s, a: s.lower(),
    "toupper": lambda s, a: s.upper(),
    "trim": lambda s, a: s.strip(),
    "equals": lambda s, a: isinstance(a[0], str) and s == a[0],
}
_ARITY = {"contains": 1, "startswith": 1, "endswith": 1, "equals": 1,
          "tolower": 0, "toupper": 0, "trim": 0}


# -- parser -----------------------------------------------------------------------------------


class _Parser:
    """Recursive descent over the token list, producing closures over a record."""

    def __init__(self, text: str, fields: Collection[str] | None, type_name: str) -> None:
        self.tokens = _tokenize(text)
        self.position = 0
        self.fields = {name.lower() for name in fields} if fields is not None else None
        self.type_name = type_name

    @property
    def token(self) -> _Token:
        return self.tokens[self.position]

    def advance(self) -> _Token:
        token = self.tokens[self.position]
        self.position += 1
        return token

    def is_word(self, *words: str) -> bool:
        return self.token.kind == "ident" and self.token.text.upper() in words

    def is_op(self, *ops: str) -> bool:
        return self.token.kind == "op" and self.token.text in ops

    def expect(self, op: str) -> None:
        if not self.is_op(op):
            raise QueryError(f"'{op}' expected (at index {self.token.index})")
        self.advance()

    def parse(self) -> Predicate:
        getter = self.parse_or()
        if self.token.kind != "end":
            raise QueryError(f"Syntax error '{self.token.text}' (at index {self.token.index})")
        return lambda record: getter(record) is True

    def parse_or(self) -> Getter:
        left = self.parse_and()
        while self.is_word("OR") or self.is_op("||"):
            self.advance()
            right = self.parse_and()
            left = (lambda a, b: lambda r: a(r) is True or b(r) is True)(left, right)
        return left

    def parse_and(self) -> Getter:
        left = self.parse_not()
        while self.is_word("AND") or self.is_op("&&"):
            self.advance()
            right = self.parse_not()
            left = (lambda a, b: lambda r: a(r) is True and b(r) is True)(left, right)
        return left

    def parse_not(self) -> Getter:
        if self.is_word("NOT") or self.is_op("!"):
            self.advance()
            inner = self.parse_not()
            return lambda r: inner(r) is not True
        return self.parse_comparison()

    def parse_comparison(self) -> Getter:
        left = self.parse_operand()
        if self.is_op("==", "=", "!=", "<>", "<", ">", "<=", ">="):
            op = self.advance().text
            right = self.parse_operand()
            return lambda r: _compare(op, left(r), right(r))
        return left

    def parse_operand(self) -> Getter:
        token = self.token
        getter = self.parse_primary()
        while self.is_op("."):
            self.advance()
            name = self.advance()
            if name.kind != "ident":
                raise QueryError(f"Identifier expected (at index {name.index})")
            getter = (self.method(getter, name) if self.is_op("(")
                      else self.member(getter, name.text, token))
        return getter

    def member(self, base: Getter, name: str, start: _Token) -> Getter:
        lowered = name.lower()
        if lowered == "hasvalue":
            return lambda r: base(r) is not None
        if lowered == "value":
            return base
        return lambda r: (lambda v: resolve(v, [name]) if isinstance(v, Mapping) else None)(base(r))

    def method(self, base: Getter, name: _Token) -> Getter:
        key = name.text.lower()
        args = self.arguments()
        if key not in _STRING_METHODS or len(args) != _ARITY[key]:
            raise QueryError(
                f"No applicable method '{name.text}' exists in type 'String' (at index {name.index})"
            )
        impl = _STRING_METHODS[key]

        def call(record: Mapping[str, Any]) -> Any:
            value = base(record)
            if not isinstance(value, str):
                return None
            return impl(value, [arg(record) for arg in args])

        return call

    def arguments(self) -> list[Getter]:
        self.expect("(")
        args: list[Getter] = []
        if not self.is_op(")"):
            args.append(self.parse_or())
            while self.is_op(","):
                self.advance()
                args.append(self.parse_or())
        self.expect(")")
        return args

    def parse_primary(self) -> Getter:
        token = self.advance()
        if token.kind == "string":
            text = _unquote(token.text)
            return lambda r: text
        if token.kind == "number":
            number = Decimal(token.text)
            return lambda r: number
        if token.kind == "op" and token.text == "-" and self.token.kind == "number":
            negative = -Decimal(self.advance().text)
            return lambda r: negative
        if token.kind == "op" and token.text == "(":
            inner = self.parse_or()
            self.expect(")")
            return inner
        if token.kind != "ident":
            raise QueryError(f"Expression expected (at index {token.index})")
        word = token.text.lower()
        if word in {"true", "false"}:
            flag = word == "true"
            return lambda r: flag
        if word == "null":
            return lambda r: None
        if word == "datetime" and self.is_op("("):
            moment = self.datetime_literal(token)
            return lambda r: moment
        if word == "guid" and self.is_op("("):
            guid = self.guid_literal(token)
            return lambda r: guid
        return self.field(token)

    def datetime_literal(self, token: _Token) -> datetime:
        self.expect("(")
        parts: list[int] = []
        while not self.is_op(")"):
            number = self.advance()
            if number.kind != "number" or "." in number.text:
                raise QueryError(f"Integer expected (at index {number.index})")
            parts.append(int(number.text))
            if self.is_op(","):
                self.advance()
        self.expect(")")
        if len(parts) not in {3, 6}:
            raise QueryError(f"DateTime takes 3 or 6 arguments (at index {token.index})")
        try:
            year, month, day, *clock = parts
            hour, minute, second = clock or [0, 0, 0]
            return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
        except ValueError as exc:
            raise QueryError(f"Invalid DateTime (at index {token.index})") from exc

    def guid_literal(self, token: _Token) -> Guid:
        self.expect("(")
        value = self.advance()
        if value.kind != "string":
            raise QueryError(f"String expected (at index {value.index})")
        self.expect(")")
        text = _unquote(value.text)
        if not re.fullmatch(r"[0-9A-Fa-f]{8}-?([0-9A-Fa-f]{4}-?){3}[0-9A-Fa-f]{12}", text):
            raise QueryError(f"Unrecognized Guid format (at index {token.index})")
        return Guid(text.lower())

    def field(self, token: _Token) -> Getter:
        if self.fields is not None and token.text.lower() not in self.fields:
            raise QueryError(
                f"No property or field '{token.text}' exists in type '{self.type_name}' "
                f"(at index {token.index})"
            )
        name = token.text
        return lambda r: resolve(r, [name])


def compile_where(
    text: str, fields: Collection[str] | None = None, type_name: str = "Object"
) -> Predicate:
    """A predicate over records for a ``where`` expression.

    ``fields`` names the resource's top-level fields so an unknown one fails like Xero's
    ``No property or field 'X' exists in type 'Contact'``; ``None`` accepts any name."""
    if not text.strip():
        return lambda record: True
    return _Parser(text, fields, type_name).parse()


# -- order ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderKey:
    path: tuple[str, ...]
    descending: bool


def parse_order(text: str | None, fields: Collection[str] | None = None,
                type_name: str = "Object") -> list[OrderKey]:
    """``order=Name ASC, UpdatedDateUTC DESC`` (direction optional, ASC by default)."""
    if not text or not text.strip():
        return []
    known = {name.lower() for name in fields} if fields is not None else None
    keys = []
    for part in text.split(","):
        words = part.split()
        if not words or len(words) > 2:
            raise QueryError(f"Invalid order clause '{part.strip()}'")
        direction = words[1].upper() if len(words) == 2 else "ASC"
        if direction not in {"ASC", "DESC", "ASCENDING", "DESCENDING"}:
            raise QueryError(f"Invalid order direction '{words[1]}'")
        path = tuple(words[0].split("."))
        if known is not None and path[0].lower() not in known:
            raise QueryError(f"No property or field '{path[0]}' exists in type '{type_name}'")
        keys.append(OrderKey(path, direction.startswith("DESC")))
    return keys


def _sort_key(value: Any) -> tuple[int, Any]:
    """Nulls first (as SQL Server sorts them), then by kind; strings case-insensitively."""
    value = _norm(value)
    if value is None:
        return (0, 0)
    if isinstance(value, bool):
        return (1, value)
    if isinstance(value, Decimal):
        return (2, value)
    if isinstance(value, datetime):
        return (3, value)
    if isinstance(value, str):
        return (4, (value.casefold(), value))
    return (5, str(value))


def apply_order(
    records: list[Mapping[str, Any]] | list[dict[str, Any]], keys: Sequence[OrderKey]
) -> None:
    """Sort in place by the order keys (stable, so earlier keys dominate)."""
    for key in reversed(keys):
        records.sort(key=lambda r, p=key.path: _sort_key(resolve(r, p)),  # type: ignore[misc]
                     reverse=key.descending)


# -- paging -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    pagination: dict[str, int]


def paginate(records: list[dict[str, Any]], page: int, page_size: int) -> Page:
    """One 1-based page and Xero's ``pagination`` object (``itemCount`` is the total)."""
    page = max(page, 1)
    page_size = max(page_size, 1)
    start = (page - 1) * page_size
    return Page(
        items=records[start:start + page_size],
        pagination={
            "page": page,
            "pageSize": page_size,
            "pageCount": math.ceil(len(records) / page_size),
            "itemCount": len(records),
        },
    )
