r"""Typed, immutable records for policies and claims (spec section 1).

Every scalar is validated strictly by pydantic-core (strict types and patterns, no lax coercion), because
the input is untrusted and the spec is strict: money is a JSON string with exactly two decimals (never a
float), dates are "YYYY-MM-DD" strings, identifiers are safe to use as file names, integers are real
integers (not bools or floats), and text is bounded so one absurd field cannot poison a run.

`parse_claim` / `parse_policy` are the one validation entry point for untrusted input: they return the
model or raise ClaimInputError, whose one readable message names every bad field as a path
(``line_items[2].unit_price``); no other exception escapes them, whatever the input.

Hostile input, and what each guard is for:
- patterns are anchored and spelled in ASCII classes (``[0-9]``, never ``\d``, which also matches
  full-width and other Unicode digits), so "４２０.００" or "C-1\n" cannot pass as money or identifier;
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
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeVar

import pydantic
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    GetCoreSchemaHandler,
    PlainSerializer,
    field_validator,
    model_serializer,
)
from pydantic_core import SchemaValidator, core_schema

from claim_assess.errors import ClaimInputError

MAX_TEXT_CHARS = 100_000
MAX_LIST_ENTRIES = 1_000  # documents, line items, components: far above any real claim, bounds LLM calls
MAX_INT = 2**53 - 1  # I-JSON's exact integer range (RFC 7493): the canonical digest needs it
MAX_MONEY = Decimal("9999999999.99")  # what decimal128(12, 2) in the results can hold

_SURROGATE_RE = re.compile("[\ud800-\udfff]")


def normalize_name(s: str) -> str:
    """Component / description key: outer and repeated inner whitespace ignored, case-insensitive."""
    return " ".join(s.split()).casefold()


# --- scalar types ------------------------------------------------------------------------------------
# Each scalar is checked by pydantic-core itself (strict types, anchored ASCII patterns, bounds): a Python
# validator per field cost about 45 us of a claim's 80 us of validation, and a million-claim dry run validates
# every claim. Each type also carries ``explain``, which says in our words why a refused value is wrong; the
# message of an error at that field is built from it (``_describe``), so the wording does not depend on
# pydantic's. Python objects (Decimal, date) are refused like any other non-string: the input is JSON.
# Patterns: pydantic-core's regex crate, ASCII classes spelled out, ^...$ anchored (its $ never matches before
# a trailing newline). tests/test_claims_models.py checks each against the Python regex of the same rule.

_ID_PATTERN = (r"^(?:[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}"  # 1-64 of A-Z a-z 0-9 . _ -, but not "." or "..":
               r"|\.[A-Za-z0-9_-][A-Za-z0-9._-]{0,62}"  # a leading dot needs a non-dot next,
               r"|\.\.[A-Za-z0-9._-]{1,62})$")  # or two dots and at least one more character
_MONEY_PATTERN = r"^[0-9]{1,10}\.[0-9]{2}$"
_DECIMAL_PATTERN = r"^[0-9]{1,6}(?:\.[0-9]{1,6})?$"
_DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_CURRENCY_PATTERN = r"^[A-Z]{3}$"


@dataclass(frozen=True)
class _Scalar:
    """A scalar field type: the core schema that checks it, and ``explain(value)``: why ``value`` is refused
    (the text after "<path>: " and before ", got <value>")."""

    schema: core_schema.CoreSchema
    explain: Callable[[Any], str]
    accepts: Callable[[Any], bool] = field(init=False, repr=False, compare=False)  # the rule alone, on one value

    def __post_init__(self) -> None:
        object.__setattr__(self, "accepts", SchemaValidator(self.schema).isinstance_python)

    def refuses(self, value: Any) -> bool:
        """Whether this type itself refuses ``value`` (else an error at its field came from a model's own rule,
        such as valid_to before valid_from, and keeps that rule's message)."""
        return not self.accepts(value)

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return self.schema


def _text_problem(value: Any) -> str:
    if not isinstance(value, str):
        return "expected a string"
    if len(value) > MAX_TEXT_CHARS:
        return f"text longer than {MAX_TEXT_CHARS} characters ({len(value)})"
    bad = _SURROGATE_RE.search(value)
    if bad is not None:
        return f"text is not valid Unicode (lone surrogate U+{ord(bad.group()):04X} at index {bad.start()})"
    return "expected a string"  # pragma: no cover - core refuses nothing else


def _count_problem(value: Any) -> str:
    # type() rather than isinstance(): bool is an int subclass and must not pass as a reading (strict core too).
    return f"integer larger than {MAX_INT}" if type(value) is int and value > MAX_INT else \
        "expected a non-negative integer"


def _always(message: str) -> Callable[[Any], str]:
    return lambda value: message


def _strict_str(pattern: str | None = None, max_length: int | None = None) -> core_schema.StrSchema:
    return core_schema.str_schema(pattern=pattern, max_length=max_length, strict=True)


def _nullable(scalar: _Scalar) -> _Scalar:
    return _Scalar(core_schema.nullable_schema(scalar.schema), scalar.explain)


_IDENTIFIER = _Scalar(_strict_str(_ID_PATTERN), _always(
    'expected an identifier of 1-64 characters from A-Z a-z 0-9 . _ - (not "." or "..")'))
_TEXT = _Scalar(_strict_str(max_length=MAX_TEXT_CHARS), _text_problem)
_MONEY = _Scalar(core_schema.no_info_after_validator_function(Decimal, _strict_str(_MONEY_PATTERN)),
                 _always('expected a money string with two decimals like "420.00"'))
_DECIMAL = _Scalar(core_schema.no_info_after_validator_function(Decimal, _strict_str(_DECIMAL_PATTERN)),
                   _always('expected a decimal string like "8.1"'))
# fromisoformat refuses what the pattern lets through but no calendar has (2023-02-29): a ValueError at the field.
_DATE = _Scalar(core_schema.no_info_after_validator_function(dt.date.fromisoformat, _strict_str(_DATE_PATTERN)),
                _always('expected a date string "YYYY-MM-DD"'))
_COUNT = _Scalar(core_schema.int_schema(strict=True, ge=0, le=MAX_INT), _count_problem)
_CURRENCY = _Scalar(_strict_str(_CURRENCY_PATTERN), _always('expected a currency code of 3 upper-case letters like "CHF"'))


def is_identifier(value: object) -> bool:
    """The rule of an Identifier field, for ids read before a claim is validated (the dataset's claim ids)."""
    return _IDENTIFIER.accepts(value)


def _bounded_list(value: Any) -> Any:
    # Checked before the entries are validated, so a huge list costs one len(), not a million errors.
    if isinstance(value, (list, tuple)) and len(value) > MAX_LIST_ENTRIES:
        raise ValueError(f"more than {MAX_LIST_ENTRIES} entries ({len(value)})")
    return value


def _to_str(value: Decimal) -> str:
    return str(value)


def _iso(value: dt.date) -> str:
    return value.isoformat()


Money = Annotated[Decimal, _MONEY, PlainSerializer(_to_str, return_type=str, when_used="json")]
DecimalStr = Annotated[Decimal, _DECIMAL, PlainSerializer(_to_str, return_type=str, when_used="json")]
Date = Annotated[dt.date, _DATE, PlainSerializer(_iso, return_type=str, when_used="json")]
OptionalDate = Annotated[dt.date | None, _nullable(_DATE), PlainSerializer(_iso, return_type=str,
                                                                           when_used="json-unless-none")]
Identifier = Annotated[str, _IDENTIFIER]
Count = Annotated[int, _COUNT]
OptionalCount = Annotated[int | None, _nullable(_COUNT)]
Text = Annotated[str, _TEXT]
OptionalText = Annotated[str | None, _nullable(_TEXT)]
Currency = Annotated[str, _CURRENCY]

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


_INDEX = 0  # stands for any list index in a field's path


def _scalar_fields(tp: Any, path: tuple[str | int, ...], out: dict[tuple[str | int, ...], _Scalar]) -> None:
    """Every scalar field reachable from the type ``tp``, by path (list indexes as ``_INDEX``)."""
    if typing.get_origin(tp) is Annotated:
        base, *extra = typing.get_args(tp)
        scalar = next((m for m in extra if isinstance(m, _Scalar)), None)
        if scalar is not None:
            out[path] = scalar
        else:
            _scalar_fields(base, path, out)
    elif typing.get_origin(tp) is tuple:
        _scalar_fields(typing.get_args(tp)[0], (*path, _INDEX), out)
    elif isinstance(tp, type) and issubclass(tp, BaseModel):
        for name, field in tp.model_fields.items():
            scalar = next((m for m in field.metadata if isinstance(m, _Scalar)), None)
            if scalar is not None:
                out[(*path, name)] = scalar
            else:
                _scalar_fields(field.annotation, (*path, name), out)


def _scalars_by_model() -> dict[str, dict[tuple[str | int, ...], _Scalar]]:
    """{model name (a ValidationError's title): {field path: scalar type}} for every model here."""
    by_model: dict[str, dict[tuple[str | int, ...], _Scalar]] = {}
    for model in (Claim, Document, DocumentFacts, LineItem, Policy, CoverageCategory, Exclusion, ScaleRow,
                  Deductible):
        _scalar_fields(model, (), by_model.setdefault(model.__name__, {}))
    return by_model


def _scalar_at(model: str, loc: tuple[int | str, ...]) -> _Scalar | None:
    return _SCALARS.get(model, {}).get(tuple(_INDEX if isinstance(part, int) else part for part in loc))


def _describe(error: dict[str, Any], model: str = "") -> str:
    kind = error["type"]
    scalar = _scalar_at(model, tuple(error["loc"])) if kind not in ("missing", "extra_forbidden") else None
    if scalar is not None and scalar.refuses(error.get("input")):
        message = scalar.explain(error.get("input"))
    elif kind in _PLAIN_MESSAGES:
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
    parts = [_describe(e, exc.title) for e in errors[:_MAX_ERRORS_SHOWN]]
    if len(errors) > _MAX_ERRORS_SHOWN:
        parts.append(f"and {len(errors) - _MAX_ERRORS_SHOWN} more errors")
    return ClaimInputError(f"{what}: " + "; ".join(parts))


_SCALARS = _scalars_by_model()


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
