r"""Typed, immutable records for policies and claims (spec section 1).

Every scalar is validated by a small plain validator rather than pydantic's lax coercion, because the
input is untrusted and the spec is strict: money is a JSON string with exactly two decimals (never a
float), dates are "YYYY-MM-DD" strings, identifiers are safe to use as file names, integers are real
integers (not bools or floats), and text is bounded so one absurd field cannot poison a run.

`parse_claim` / `parse_policy` are the one validation entry point for untrusted input: they return the
model or raise ClaimInputError, whose one readable message names every bad field as a path
(``line_items[2].unit_price``); no other exception escapes them, whatever the input.

Hostile input, and what each guard is for:
- patterns are matched in full and in ASCII (``re.ASCII`` + ``fullmatch``): Python's ``\d`` also matches
  full-width and other Unicode digits and ``$`` matches before a trailing newline, so "４２０.００" or
  "C-1\n" would otherwise pass as money and identifier;
- text must be valid Unicode: a lone surrogate (legal as ``"\ud800"`` in JSON text) cannot be encoded as
  UTF-8, so it would break the prompt, the results file and the ledger's canonical form later;
- integers stay within I-JSON's exact range (2**53 - 1) so every valid input has a canonical digest;
- text and lists are bounded so one absurd field cannot poison a run (memory, prompt size, LLM calls);
- error messages never echo more than a short, escaped excerpt of the input (no 10 MB messages, no
  surrogates or control characters in the ledger's error field).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal, TypeVar

import pydantic
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainSerializer,
    PlainValidator,
    field_validator,
    model_serializer,
)

from claim_assess.errors import ClaimInputError

MAX_TEXT_CHARS = 100_000
MAX_LIST_ENTRIES = 1_000  # documents, line items, components: far above any real claim, bounds LLM calls
MAX_INT = 2**53 - 1  # I-JSON's exact integer range (RFC 7493): the canonical digest needs it
MAX_MONEY = Decimal("9999999999.99")  # what decimal128(12, 2) in the results can hold

# fullmatch + re.ASCII everywhere: no Unicode digits, no trailing newline (see the module docstring).
_MONEY_RE = re.compile(r"\d{1,10}\.\d{2}", re.ASCII)
_DECIMAL_RE = re.compile(r"\d{1,6}(\.\d{1,6})?", re.ASCII)
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_ID_RE = re.compile(r"[A-Za-z0-9._-]{1,64}", re.ASCII)
_CURRENCY_RE = re.compile(r"[A-Z]{3}", re.ASCII)
_SURROGATE_RE = re.compile("[\ud800-\udfff]")


def normalize_name(s: str) -> str:
    """Component / description key: outer and repeated inner whitespace ignored, case-insensitive."""
    return " ".join(s.split()).casefold()


_ID_FULLMATCH = _ID_RE.fullmatch


def is_identifier(value: object) -> bool:
    return isinstance(value, str) and _ID_FULLMATCH(value) is not None and value != "." and value != ".."


# --- scalar validators -------------------------------------------------------------------------------
# Each raises ValueError with a message that reads well after "<path>: " and before ", got <input>".


def _money(value: Any) -> Decimal:
    if isinstance(value, Decimal) and value.is_finite() and value.as_tuple().exponent == -2:
        value = str(value)  # lets Python callers pass Decimals; the same pattern still applies
    if isinstance(value, str) and _MONEY_RE.fullmatch(value):
        return Decimal(value)
    raise ValueError('expected a money string with two decimals like "420.00"')


def _decimal(value: Any) -> Decimal:
    if isinstance(value, Decimal) and value.is_finite():
        value = str(value)
    if isinstance(value, str) and _DECIMAL_RE.fullmatch(value):
        try:
            return Decimal(value)
        except InvalidOperation:  # pragma: no cover - the regex admits only valid decimals
            pass
    raise ValueError('expected a decimal string like "8.1"')


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and _DATE_RE.fullmatch(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError('expected a date string "YYYY-MM-DD"')


def _identifier(value: Any) -> str:
    # is_identifier, inlined: about twenty identifiers per claim
    if isinstance(value, str) and _ID_FULLMATCH(value) is not None and value != "." and value != "..":
        return value
    raise ValueError('expected an identifier of 1-64 characters from A-Z a-z 0-9 . _ - (not "." or "..")')


def _count(value: Any) -> int:
    # type() rather than isinstance(): bool is an int subclass and must not pass as a reading.
    if type(value) is int and 0 <= value <= MAX_INT:
        return value
    if type(value) is int and value > MAX_INT:
        raise ValueError(f"integer larger than {MAX_INT}")
    raise ValueError("expected a non-negative integer")


def _optional_count(value: Any) -> int | None:
    return None if value is None else _count(value)


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("expected a string")
    if len(value) > MAX_TEXT_CHARS:
        raise ValueError(f"text longer than {MAX_TEXT_CHARS} characters ({len(value)})")
    bad = None if value.isascii() else _SURROGATE_RE.search(value)  # isascii() is O(1); ASCII has no surrogates
    if bad is not None:
        raise ValueError(f"text is not valid Unicode (lone surrogate U+{ord(bad.group()):04X} at index {bad.start()})")
    return value


def _bounded_list(value: Any) -> Any:
    # Checked before the entries are validated, so a huge list costs one len(), not a million errors.
    if isinstance(value, (list, tuple)) and len(value) > MAX_LIST_ENTRIES:
        raise ValueError(f"more than {MAX_LIST_ENTRIES} entries ({len(value)})")
    return value


def _optional_text(value: Any) -> str | None:
    return None if value is None else _text(value)


def _optional_date(value: Any) -> dt.date | None:
    return None if value is None else _date(value)


def _currency(value: Any) -> str:
    if isinstance(value, str) and _CURRENCY_RE.fullmatch(value):
        return value
    raise ValueError('expected a currency code of 3 upper-case letters like "CHF"')


def _to_str(value: Decimal) -> str:
    return str(value)


def _iso(value: dt.date) -> str:
    return value.isoformat()


Money = Annotated[Decimal, PlainValidator(_money), PlainSerializer(_to_str, return_type=str, when_used="json")]
DecimalStr = Annotated[Decimal, PlainValidator(_decimal), PlainSerializer(_to_str, return_type=str, when_used="json")]
Date = Annotated[dt.date, PlainValidator(_date), PlainSerializer(_iso, return_type=str, when_used="json")]
OptionalDate = Annotated[
    dt.date | None, PlainValidator(_optional_date), PlainSerializer(_iso, return_type=str, when_used="json-unless-none")
]
Identifier = Annotated[str, PlainValidator(_identifier)]
Count = Annotated[int, PlainValidator(_count)]
OptionalCount = Annotated[int | None, PlainValidator(_optional_count)]
Text = Annotated[str, PlainValidator(_text)]
OptionalText = Annotated[str | None, PlainValidator(_optional_text)]
Currency = Annotated[str, PlainValidator(_currency)]

_BOUNDED = BeforeValidator(_bounded_list)

_FROZEN = ConfigDict(frozen=True, extra="forbid")


# --- policy ------------------------------------------------------------------------------------------


class CoverageCategory(BaseModel):
    model_config = _FROZEN
    category: Text
    components: Annotated[tuple[Text, ...], _BOUNDED]


class Exclusion(BaseModel):
    model_config = _FROZEN
    clause: Text
    description: Text
    components: Annotated[tuple[Text, ...], _BOUNDED]


class ScaleRow(BaseModel):
    model_config = _FROZEN
    up_to_km: OptionalCount
    percent: DecimalStr


class Deductible(BaseModel):
    model_config = _FROZEN
    percent: DecimalStr
    minimum: Money


class Policy(BaseModel):
    model_config = _FROZEN
    policy_id: Identifier
    holder_type: Literal["individual", "company"]
    currency: Currency
    valid_from: Date
    valid_to: Date
    max_odometer_km: OptionalCount
    coverage: Annotated[tuple[CoverageCategory, ...], _BOUNDED]
    exclusions: Annotated[tuple[Exclusion, ...], _BOUNDED]
    reimbursement_scale: Annotated[tuple[ScaleRow, ...], _BOUNDED]
    deductible: Deductible
    vat_percent: DecimalStr
    max_payout: Money
    auto_approve_limit: Money

    @field_validator("reimbursement_scale")
    @classmethod
    def _scale_ascending(cls, rows: tuple[ScaleRow, ...]) -> tuple[ScaleRow, ...]:
        # A gap-free scale: every odometer reading must find exactly one row.
        if not rows:
            raise ValueError("expected at least one row")
        if rows[-1].up_to_km is not None:
            raise ValueError("the last row must have up_to_km null")
        bounds = [row.up_to_km for row in rows[:-1]]
        if any(b is None for b in bounds):
            raise ValueError("only the last row may have up_to_km null")
        if any(a >= b for a, b in zip(bounds, bounds[1:])):  # type: ignore[operator]
            raise ValueError("up_to_km must be strictly ascending")
        return rows

    @field_validator("valid_to")
    @classmethod
    def _period_ordered(cls, valid_to: dt.date, info: pydantic.ValidationInfo) -> dt.date:
        valid_from = info.data.get("valid_from")
        if valid_from is not None and valid_to < valid_from:
            raise ValueError(f"valid_to is before valid_from ({valid_from.isoformat()})")
        return valid_to


# --- claim -------------------------------------------------------------------------------------------


class DocumentFacts(BaseModel):
    """Facts read off a document; each is optional (absent and null mean the same: not stated)."""

    model_config = _FROZEN
    odometer_km: OptionalCount = None
    loss_date: OptionalDate = None
    vin: OptionalText = None

    @model_serializer(mode="wrap")
    def _drop_absent(self, handler: Any) -> dict[str, Any]:
        # Round-trip to the spec's shape: absent facts are absent keys, not nulls.
        return {k: v for k, v in handler(self).items() if v is not None}


class Document(BaseModel):
    model_config = _FROZEN
    doc_id: Identifier
    doc_type: Literal["fnol", "invoice", "estimate", "inspection_report", "registration", "correspondence"]
    facts: DocumentFacts
    text: Text


class LineItem(BaseModel):
    model_config = _FROZEN
    item_id: Identifier
    doc_id: Identifier
    description: Text
    item_type: Literal["part", "labor", "fee"]
    component: OptionalText
    quantity: DecimalStr
    unit_price: Money
    total: Money


class Claim(BaseModel):
    model_config = _FROZEN
    claim_id: Identifier
    policy_id: Identifier
    loss_date: Date
    reported_date: Date
    odometer_km: Count
    narrative: Text
    documents: Annotated[tuple[Document, ...], _BOUNDED]
    line_items: Annotated[tuple[LineItem, ...], _BOUNDED]

    # Identifiers key the coverage results and line_items.parquet rows, so they must be unique
    # within a claim. Duplicate *content* with distinct ids is the spec's DUPLICATE_LINE_ITEM case.
    @field_validator("documents")
    @classmethod
    def _unique_doc_ids(cls, docs: tuple[Document, ...]) -> tuple[Document, ...]:
        _require_unique([d.doc_id for d in docs], "doc_id", "documents")
        return docs

    @field_validator("line_items")
    @classmethod
    def _unique_item_ids(cls, items: tuple[LineItem, ...]) -> tuple[LineItem, ...]:
        _require_unique([i.item_id for i in items], "item_id", "line_items")
        return items


def _require_unique(ids: list[str], key: str, where: str) -> None:
    first: dict[str, int] = {}
    for index, value in enumerate(ids):
        if value in first:
            raise ValueError(f"duplicate {key} {value!r} at {where}[{index}] (first at {where}[{first[value]}])")
        first[value] = index


# --- error messages ----------------------------------------------------------------------------------

_PLAIN_MESSAGES = {
    "missing": "missing required field",
    "extra_forbidden": "unexpected field",
    "model_type": "expected an object",
    "model_attributes_type": "expected an object",
    "dict_type": "expected an object",
    "tuple_type": "expected a list",
    "list_type": "expected a list",
    "string_type": "expected a string",
}
_MAX_ERRORS_SHOWN = 5


def short_repr(value: Any, limit: int = 60) -> str:
    """repr() cut to a readable size; never builds the repr of a huge string in full."""
    if isinstance(value, str) and len(value) > limit:
        return f"{value[:limit]!r}... ({len(value)} characters)"
    if isinstance(value, dict):
        return f"an object with {len(value)} keys"
    if isinstance(value, (list, tuple)):
        return f"a list of {len(value)} entries"
    if type(value) is int and value.bit_length() > 64:
        return f"an integer of {value.bit_length()} bits"  # repr() of a huge int is slow or refused
    text = repr(value)  # escapes control characters and lone surrogates
    return text if len(text) <= limit else text[:limit] + "..."


def error_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            # Keys come from the input (an unexpected field): show odd or huge ones escaped and cut.
            name = str(part)
            name = name if name.isprintable() and len(name) <= 64 else short_repr(name)
            path += ("." if path else "") + name
    return path


def _describe(error: dict[str, Any]) -> str:
    kind = error["type"]
    if kind in _PLAIN_MESSAGES:
        message = _PLAIN_MESSAGES[kind]
    elif kind == "string_unicode":
        # pydantic-core reads keys as UTF-8: a lone surrogate in a field *name* fails before any field.
        message = "not valid Unicode" if error["loc"] else "a field name is not valid Unicode"
    elif kind == "literal_error":
        message = "expected one of " + str(error.get("ctx", {}).get("expected", "the allowed values"))
    else:
        message = str(error["msg"])
        if message.startswith("Value error, "):
            message = message[len("Value error, "):]
    container_rule = kind == "value_error" and isinstance(error.get("input"), (dict, list, tuple))
    if kind not in ("missing", "extra_forbidden") and "input" in error and not container_rule:
        message += f", got {short_repr(error['input'])}"
    path = error_path(tuple(error["loc"]))
    return f"{path}: {message}" if path else message


def claim_input_error(exc: pydantic.ValidationError, what: str = "claim") -> ClaimInputError:
    """One message naming every bad field, e.g. ``claim C-17: line_items[2].unit_price: expected ...``."""
    errors = exc.errors(include_url=False)
    parts = [_describe(e) for e in errors[:_MAX_ERRORS_SHOWN]]
    if len(errors) > _MAX_ERRORS_SHOWN:
        parts.append(f"and {len(errors) - _MAX_ERRORS_SHOWN} more errors")
    return ClaimInputError(f"{what}: " + "; ".join(parts))


def parse_claim(raw: Any, what: str = "claim") -> Claim:
    """The validated claim, or ClaimInputError naming every bad field; nothing else escapes."""
    return _parse(Claim, raw, what)


def parse_policy(raw: Any, what: str = "policy") -> Policy:
    """The validated policy, or ClaimInputError naming every bad field; nothing else escapes."""
    return _parse(Policy, raw, what)


_M = TypeVar("_M", bound=BaseModel)


def _parse(model: type[_M], raw: Any, what: str) -> _M:
    try:
        return model.model_validate(raw)
    except pydantic.ValidationError as exc:
        raise claim_input_error(exc, what) from exc
    except RecursionError as exc:  # pragma: no cover - pydantic-core guards recursion itself; kept for safety
        raise ClaimInputError(f"{what}: nested too deeply") from exc
