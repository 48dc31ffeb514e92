"""Canonical JSON (RFC 8785 / JCS) for ledger records, and the strict reader.

Every hashed ledger line is the canonical form of its record, so the hash of a line is a hash of
its meaning. ``rfc8785`` is the reference; the stdlib ``json`` path is used only when the record
provably canonicalizes to the same bytes (spec §1, performance note), because it is ~3x faster.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from typing import Any

import rfc8785
from json import encoder as json_encoder

from claim_assess.errors import CanonicalFormError
from claim_assess.strict_json import reject_constant, reject_duplicate_keys

_SAFE_INT = 2**53 - 1


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _fast_path_ok(obj: Any) -> bool:
    """True when stdlib json with sorted keys yields the RFC 8785 bytes for ``obj``.

    Needs: no floats (ECMAScript number formatting differs), ASCII keys (code-point order equals
    UTF-16 order), ints within ±(2^53−1) (JCS rejects others), only exact dict/list/tuple/str/int/
    bool/None types (subclasses such as IntEnum may serialize differently). Lone surrogates are
    caught later, by the strict UTF-8 encode of the result. Scalars are checked in place rather
    than pushed, because this walk is the hot spot of writing and reading the ledger.
    """
    stack = [obj]
    while stack:
        container = stack.pop()
        kind = type(container)
        if kind is dict:
            for key in container:
                if type(key) is not str or not key.isascii():
                    return False
            items = container.values()
        elif kind is list or kind is tuple:
            items = container
        else:
            items = (container,)
        for value in items:
            kind = type(value)
            if kind is str or value is None or kind is bool:
                continue
            if kind is dict or kind is list or kind is tuple:
                stack.append(value)
            elif kind is int:
                if not -_SAFE_INT <= value <= _SAFE_INT:
                    return False
            else:
                return False
    return True


# built once: json.dumps with options constructs a new encoder per call, a real cost per record
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
# The C encoder behind it, called directly: JSONEncoder.encode adds a circular-reference check and
# Python-level dispatch that cost ~2/3 of the time on ledger records (which are trees anyway; a
# cycle still fails, with RecursionError).
_C_ENCODE = (
    json_encoder.c_make_encoder(
        None, _ENCODER.default, json_encoder.encode_basestring, None, ":", ",", True, False, True
    )
    if json_encoder.c_make_encoder is not None
    else None
)


def _encode_text(obj: Any) -> str:
    if _C_ENCODE is not None:
        return "".join(_C_ENCODE(obj, 0))
    return _ENCODER.encode(obj)


def _stdlib_form(obj: Any) -> bytes:
    return _encode_text(obj).encode("utf-8")


def _reference(obj: Any) -> bytes:
    try:
        return rfc8785.dumps(obj)
    except rfc8785.CanonicalizationError as exc:
        raise CanonicalFormError(f"value has no RFC 8785 canonical form: {exc}") from exc


def canonical_bytes(obj: Any) -> bytes:
    """RFC 8785 canonical bytes of ``obj`` (floats allowed here; records forbid them elsewhere)."""
    if _fast_path_ok(obj):
        try:
            return _stdlib_form(obj)
        except UnicodeEncodeError:
            pass  # a lone surrogate: let the reference implementation report it
    return _reference(obj)


def _join_members(*parts: bytes) -> bytes:
    return b"{" + b",".join(p for p in parts if p) + b"}"


def hash_and_line(body: dict[str, Any], hash_field: str = "record_hash") -> tuple[str, bytes]:
    """Seal a record: (H(canonical body), canonical bytes of body + {hash_field: that hash}).

    With the fast path the members before and after ``hash_field`` are serialized once and used
    for both the hashed bytes and the line, instead of canonicalizing the record twice.
    """
    if hash_field in body:
        raise CanonicalFormError(f"the body to seal already has {hash_field}")
    if _fast_path_ok(body):
        try:
            low = _stdlib_form({k: v for k, v in body.items() if k < hash_field})[1:-1]
            high = _stdlib_form({k: v for k, v in body.items() if k > hash_field})[1:-1]
        except UnicodeEncodeError:
            pass  # a lone surrogate: the reference path below reports it
        else:
            hashed = sha256_hex(_join_members(low, high))
            member = _stdlib_form(hash_field) + b":" + _stdlib_form(hashed)
            return hashed, _join_members(low, member, high)
    hashed = sha256_hex(canonical_bytes(body))
    return hashed, canonical_bytes({**body, hash_field: hashed})


def seal_sorted(text: str, hash_field: str, next_key: str) -> tuple[str, bytes] | None:
    """Seal a body already encoded by ``sorted_text``: (H(body), line with hash_field inserted).

    The caller guarantees the RFC 8785 preconditions of the fast path (no floats, safe ints, ASCII
    keys) and that every top-level member sorting before ``next_key`` is a scalar or holds no key
    named ``next_key``, so the first ``,"next_key":`` in ``text`` is the top-level one (inside a
    JSON string every quote is escaped, so the pattern cannot occur there either). Returns None
    when ``text`` holds a lone surrogate (no UTF-8 form): the caller takes the reference path.
    """
    try:
        body = text.encode("utf-8")
    except UnicodeEncodeError:
        return None
    at = body.find(b',"' + next_key.encode("ascii") + b'":')
    if at < 0:
        raise CanonicalFormError(f"sealing needs a top-level {next_key!r} member")
    hashed = sha256_hex(body)
    member = b',"' + hash_field.encode("ascii") + b'":"' + hashed.encode("ascii") + b'"'
    return hashed, body[:at] + member + body[at:]


def sorted_text(obj: Any) -> str:
    """Compact, key-sorted JSON text (RFC 8785 bytes when the fast-path preconditions hold)."""
    return _encode_text(obj)


def digest(obj: Any) -> str:
    """H(canonical bytes) of arbitrary JSON, e.g. a claim input as read (floats allowed).

    Raises CanonicalFormError for values with no JCS form (NaN, Infinity, ints beyond ±(2^53−1),
    lone surrogates, non-string keys): the caller records such input's digest as null.
    """
    return sha256_hex(canonical_bytes(obj))


_reject_duplicates = reject_duplicate_keys(CanonicalFormError)
_reject_constant = reject_constant(CanonicalFormError, "is not allowed")


def _reject_float(text: str) -> Any:
    raise CanonicalFormError(f"floating-point number {text} is not allowed in a hashed record")


def _safe_int(text: str) -> int:
    value = int(text)
    if -_SAFE_INT <= value <= _SAFE_INT:
        return value
    raise CanonicalFormError(f"integer {text} is outside ±(2^53−1)")


# UTF-8 lead bytes of characters beyond the BMP: only with those can code-point key order differ
# from RFC 8785's UTF-16 order.
_NON_BMP = re.compile(rb"[\xf0-\xf4]")


def _bmp_only(body: bytes) -> bool:
    return body.isascii() or _NON_BMP.search(body) is None


def _strip_newline(line: bytes) -> bytes:
    return line[:-1] if line.endswith(b"\n") else line


def _load(body: bytes) -> tuple[dict[str, Any], str]:
    """json.loads with the record rules: no floats, no NaN/Infinity, safe ints, an object on top."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CanonicalFormError(f"not valid UTF-8 at byte {exc.start}") from exc
    try:
        value = _RECORD_DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise CanonicalFormError(f"not valid JSON: {exc.msg} at column {exc.colno}") from exc
    except RecursionError as exc:
        raise CanonicalFormError("JSON nested too deeply") from exc
    if not isinstance(value, dict):
        raise CanonicalFormError(f"top level is a {type(value).__name__}, not an object")
    return value, text


def _check_slowly(value: dict[str, Any], text: str, body: bytes) -> None:
    """The reference decides; a duplicate key gets its own message."""
    json.loads(text, object_pairs_hook=_reject_duplicates, parse_constant=_reject_constant, parse_float=_reject_float)
    if canonical_bytes(value) != body:
        raise CanonicalFormError("bytes differ from the canonical (RFC 8785) form of the value")


# Why the stdlib comparison below is exact: the load hooks exclude floats and unsafe ints, and
# without non-BMP characters Python's key order equals RFC 8785's UTF-16 order, so equal stdlib
# bytes ARE the canonical bytes. Duplicate keys cannot pass: the dict keeps one member, the bytes two.


def parse_canonical(line: bytes) -> dict[str, Any]:
    """Parse one ledger line strictly; a single trailing b"\\n" is accepted and ignored.

    Rejects invalid UTF-8, duplicate keys, NaN/Infinity, floats, a non-object top level, and any
    bytes that are not exactly the canonical form of the parsed value.
    """
    body = _strip_newline(line)
    value, text = _load(body)
    if _bmp_only(body):
        try:
            if _stdlib_form(value) == body:
                return value
        except UnicodeEncodeError:
            pass
    _check_slowly(value, text, body)
    return value


_RECORD_DECODER = json.JSONDecoder(parse_float=_reject_float, parse_constant=_reject_constant, parse_int=_safe_int)
_SCAN = _RECORD_DECODER.scan_once


@functools.lru_cache(maxsize=16)
def _member_head(hash_field: str) -> bytes:
    return b',"' + hash_field.encode("ascii") + b'":"'


@functools.lru_cache(maxsize=16)
def _member_tail(next_key: str) -> bytes:
    return b'","' + next_key.encode("ascii") + b'":'


def parse_sealed(line: bytes, next_key: str, hash_field: str = "record_hash") -> tuple[dict[str, Any], str]:
    """parse_canonical_hashed for a record whose ``hash_field`` member is followed by ``next_key``.

    The hot path of reading a ledger: one C decode, one C encode to compare, and the hashed bytes
    are the line with its ``,"record_hash":"<hex>"`` member cut out, found by its exact bytes
    followed by the next top-level key (a nested member of that name is never followed by a
    top-level key: it closes its object first). Anything unusual goes to parse_canonical_hashed,
    which decides and explains.
    """
    body = line[:-1] if line[-1:] == b"\n" else line
    text = ""
    try:
        text = body.decode("utf-8")
        value, end = _SCAN(text, 0)  # the C scanner itself: canonical text has no outer whitespace
    except (UnicodeDecodeError, StopIteration, json.JSONDecodeError, CanonicalFormError, RecursionError):
        value, end = None, -1
    if end == len(text) and type(value) is dict and (body.isascii() or _NON_BMP.search(body) is None):
        stored = value.get(hash_field)
        if type(stored) is str and len(stored) == 64 and stored.isascii() and _C_ENCODE is not None:
            if "".join(_C_ENCODE(value, 0)) == text:
                # a quote or backslash in ``stored`` would be escaped in the line: no match, slow path
                head = _member_head(hash_field)
                tail = _member_tail(next_key)
                at = body.find(head + stored.encode("ascii") + tail)
                if at >= 0:
                    cut = at + len(head) + 64 + 1  # up to and including the closing quote
                    digest = hashlib.sha256(body[:at])
                    digest.update(body[cut:])
                    return value, digest.hexdigest()
    return parse_canonical_hashed(line, hash_field)


def parse_canonical_hashed(line: bytes, hash_field: str = "record_hash") -> tuple[dict[str, Any], str]:
    """parse_canonical, plus H(canonical bytes of the value without ``hash_field``).

    Reading a ledger is dominated by serializing: the fast path dumps the members before and after
    ``hash_field`` once and builds both the full line (to compare) and the hashed bytes from them.
    """
    body = _strip_newline(line)
    value, text = _load(body)
    if hash_field in value and _bmp_only(body):
        try:
            low = _stdlib_form({k: v for k, v in value.items() if k < hash_field})[1:-1]
            high = _stdlib_form({k: v for k, v in value.items() if k > hash_field})[1:-1]
            member = _stdlib_form(hash_field) + b":" + _stdlib_form(value[hash_field])
        except UnicodeEncodeError:
            pass
        else:
            if _join_members(low, member, high) == body:
                return value, sha256_hex(_join_members(low, high))
    _check_slowly(value, text, body)
    return value, sha256_hex(canonical_bytes({k: v for k, v in value.items() if k != hash_field}))
