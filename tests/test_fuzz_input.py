"""Fuzzing the dataset reader and the domain models with generated garbage (issue 5, point 5).

The documented contract (claims/dataset.py, claims/models.py, claims/pipeline.py):
- ``read_dataset`` returns a Dataset or raises DatasetError (the dataset as a whole is unreadable);
  a bad line never raises, it becomes that entry's ``error``;
- ``parse_claim`` / ``parse_policy`` return the model or raise ClaimInputError;
- ``assess_claim`` never raises for bad input: the claim is FAILED with an error naming the field;
- everything that reaches the ledger (entry ids, raw input, errors) is encodable: an entry's raw object
  has a canonical form or is refused by the ledger's own CanonicalFormError, never another exception.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from claim_assess.errors import CanonicalFormError, ClaimInputError, DatasetError
from claim_assess.claims.dataset import read_dataset
from claim_assess.claims.models import parse_claim, parse_policy
from claim_assess.claims.pipeline import assess_claim
from claim_assess.claims.synthetic import generate
from claim_assess.ledger.canonical import digest
from test_hostile_input import TaskModelAdvisor

# FUZZ_EXAMPLES=5000 for a longer hunt; the default keeps the suite quick.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "200"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])

GOOD = generate(30, seed=8)
# An approvable claim, so a harmless mutation still runs every stage, the LLM steps included.
_APPROVED = {label["claim_id"] for label in GOOD.labels if label["scenario"] == "approve"}
BASE_CLAIM = next(c for c in GOOD.claims if c["claim_id"] in _APPROVED)
FEW_CLAIMS = [BASE_CLAIM, *GOOD.claims[:2]]  # few, so 200 datasets stay quick to assess
BASE_POLICY = next(p for p in GOOD.policies if p["policy_id"] == BASE_CLAIM["policy_id"])

# Text with the awkward parts of Unicode: surrogates (lone, via the "Cs" category), controls, NUL, RTL,
# combining marks, full-width digits, emoji.
_ODD_CHARS = st.sampled_from(["\x00", "\x07", "\x1b", "\u202e", "\u0301", "\uff11", "\U0001F697", "\ufeff",
                              "\ud800", "\udfff", "\n", "/", "..", "<", ">", "\\", '"'])
TEXT = st.one_of(
    st.text(max_size=40),
    st.text(st.characters(codec=None, categories=("Cs", "Cc", "Cf", "Mn", "Nd", "So")), max_size=20),
    st.lists(_ODD_CHARS, max_size=8).map("".join),
    st.sampled_from(["", ".", "..", "../../etc/passwd", "a/b", "420.00", "2026-03-01", "CHF", "1e9", "-1.00",
                     "\uff14\uff12\uff10.\uff10\uff10", "C-1\n", "NaN"]),
)
SCALARS = st.one_of(
    st.none(), st.booleans(), TEXT,
    st.integers(), st.integers(min_value=2**53 - 2, max_value=2**80), st.integers(max_value=-1),
    st.floats(allow_nan=True, allow_infinity=True),
)
JSONISH = st.recursive(SCALARS, lambda kids: st.one_of(st.lists(kids, max_size=4),
                                                       st.dictionaries(TEXT, kids, max_size=4)), max_leaves=12)


def _encode(value: Any) -> str:
    """JSON text for ``value``, with the non-standard tokens Python's json emits for NaN and infinities."""
    return json.dumps(value, ensure_ascii=True, allow_nan=True)


# Raw JSON-ish lines that json.dumps would never produce: NaN-like tokens, duplicate keys, deep nesting,
# huge numbers, escaped lone surrogates, broken syntax.
RAW_FRAGMENTS = st.sampled_from([
    "NaN", "Infinity", "-Infinity", '{"a": NaN}', '{"claim_id": "C-1", "claim_id": "C-2"}',
    "[" * 3000 + "]" * 3000, '{"a":' * 3000 + "1" + "}" * 3000, "1" * 5000, '{"n": ' + "9" * 5000 + "}",
    '{"n": 1e999}', '{"n": -0.0}', '{"s": "\\ud800"}', '{"\\udc80": 1}', "{", "}", "[]", "null", "true",
    '"just a string"', '{"claim_id": "../../etc/passwd"}', "\ufeff{}", "{}\x00", '{"a": "\\u0000"}',
])


def _set_path(obj: Any, path: tuple, value: Any) -> None:
    for key in path[:-1]:
        obj = obj[key]
    obj[path[-1]] = value


CLAIM_PATHS = (
    [(k,) for k in BASE_CLAIM]
    + [("documents", 0, k) for k in BASE_CLAIM["documents"][0]]
    + [("documents", 0, "facts", k) for k in ("odometer_km", "loss_date", "vin")]
    + [("line_items", 0, k) for k in BASE_CLAIM["line_items"][0]]
)


def _path_text(path: tuple) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + part
    return out


@st.composite
def mutated_claims(draw) -> tuple[dict, tuple]:
    claim = copy.deepcopy(BASE_CLAIM)
    path = draw(st.sampled_from(CLAIM_PATHS))
    # Text and small integers are often valid, so mutated claims also travel the whole pipeline.
    _set_path(claim, path, draw(st.one_of(JSONISH, TEXT, st.integers(0, 10**6))))
    return claim, path


def _lines(draw) -> list[str]:
    line = st.one_of(
        JSONISH.map(_encode),
        RAW_FRAGMENTS,
        mutated_claims().map(lambda cp: _encode(cp[0])),
        st.binary(max_size=60).map(lambda b: b.decode("latin-1")),
    )
    return draw(st.lists(line, min_size=0, max_size=6))


@st.composite
def datasets(draw) -> dict[str, bytes]:
    """File name -> bytes for a dataset directory: sometimes sane, mostly not."""
    files: dict[str, bytes] = {}
    if draw(st.booleans()):
        policy_lines = [_encode(p) for p in GOOD.policies] + _lines(draw)
        files["policies.jsonl"] = "\n".join(policy_lines).encode("utf-8", "surrogatepass")
    elif draw(st.booleans()):
        files["policies.jsonl"] = draw(st.binary(max_size=200))
    source = draw(st.sampled_from(["claims.jsonl", "claims.parquet", "claims/", "none", "two"]))
    if source in ("claims.jsonl", "two"):
        claim_lines = [_encode(c) for c in FEW_CLAIMS] + _lines(draw)
        claim_lines = draw(st.permutations(claim_lines))
        files["claims.jsonl"] = "\n".join(claim_lines).encode("utf-8", "surrogatepass")
    if source in ("claims.parquet", "two"):
        files["claims.parquet"] = draw(st.sampled_from([b"", b"PAR1", b"PAR1" + bytes(20) + b"PAR1"])) + draw(
            st.binary(max_size=100))
    if source == "claims/":
        for i, text in enumerate(_lines(draw)):
            files[f"claims/{draw(st.sampled_from(['C-1', 'x', '..x', f'n{i}']))}.json"] = text.encode(
                "utf-8", "surrogatepass")
    return files


def _write(root: Path, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def _check_encodable(*texts: str | None) -> None:
    for text in texts:
        if text is not None:
            text.encode("utf-8")  # strict: a lone surrogate would break results.parquet and the ledger


@pytest.mark.slow  # a fuzz run: a dataset written and read per example
@FUZZ
@given(files=datasets())
def test_the_reader_raises_only_dataset_error_and_entries_end_assessed_or_failed(files):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _write(root, files)
        try:
            dataset = read_dataset(root)
        except DatasetError as exc:
            _check_encodable(str(exc))
            return
        ids = [e.claim_id for e in dataset.entries]
        assert len(ids) == len(set(ids))
        _check_encodable(*ids, *(e.location for e in dataset.entries), *dataset.policy_errors.values())
        for entry in dataset.entries:
            assert (entry.raw is None) <= (entry.error is not None)
            if entry.raw is not None:
                try:
                    digest(entry.raw)  # what the assessor records as input_digest
                except CanonicalFormError:
                    pass

        async def assess_all():
            return [await assess_claim(e, dataset.policies, dataset.policy_errors, TaskModelAdvisor())
                    for e in dataset.entries]

        for entry, result in zip(dataset.entries, asyncio.run(assess_all())):
            assert result.claim_id == entry.claim_id
            if entry.error is not None:
                assert result.decision == "FAILED" and result.error == entry.error
            if result.decision == "FAILED":
                assert result.error and len(result.error) < 5_000
                _check_encodable(result.error, result.policy_id)
            else:
                assert result.error is None


@pytest.mark.slow  # a fuzz run through the pipeline
@FUZZ
@given(mutated=mutated_claims())
def test_a_claim_with_one_garbage_field_is_assessed_or_fails_naming_that_field(mutated):
    claim, path = mutated
    line = _encode(claim)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _write(root, {"policies.jsonl": "\n".join(_encode(p) for p in GOOD.policies).encode(),
                      "claims.jsonl": line.encode("utf-8", "surrogatepass")})
        dataset = read_dataset(root)
        (entry,) = dataset.entries
        result = asyncio.run(assess_claim(entry, dataset.policies, dataset.policy_errors, TaskModelAdvisor()))
    if result.decision != "FAILED":
        return
    _check_encodable(result.error)
    field = path[-1] if isinstance(path[-1], str) else path[-2]
    # The error names the field, or (for a container replaced by garbage) the enclosing path.
    assert field in result.error or _path_text(path[:-1]) in result.error, (path, result.error)


# Parquet columns of every Arrow type a foreign exporter might use for a claim field.
_COLUMN_VALUES = st.sampled_from([
    st.text(max_size=10), st.binary(max_size=10), st.integers(-2**63, 2**63 - 1), st.floats(),
    st.dates(), st.datetimes(), st.booleans(), st.lists(st.integers(0, 9), max_size=3),
    st.fixed_dictionaries({"doc_id": st.text(max_size=5), "facts": st.fixed_dictionaries({"odometer_km": st.integers(0, 9)})}),
    st.lists(st.fixed_dictionaries({"item_id": st.sampled_from(["L1", "../L", "L1"]), "total": st.text(max_size=8)}),
             max_size=3),
])


@st.composite
def parquet_tables(draw):
    import pyarrow as pa

    n = draw(st.integers(1, 4))
    columns = {}
    for name in draw(st.lists(st.sampled_from(sorted(BASE_CLAIM) + ["extra", ""]), min_size=1, max_size=6,
                              unique=True)):
        values = draw(_COLUMN_VALUES)
        columns[name] = draw(st.lists(st.none() | values, min_size=n, max_size=n))
    try:
        return pa.table(columns)
    except (pa.ArrowException, OverflowError, ValueError):
        from hypothesis import assume
        assume(False)


@pytest.mark.slow  # a fuzz run: a parquet file per example
@settings(FUZZ, max_examples=max(1, EXAMPLES // 3))  # each example writes and reads a parquet file
@given(table=parquet_tables())
def test_parquet_of_any_shape_reads_into_entries_that_end_assessed_or_failed(table):
    import pyarrow.parquet as pq

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "policies.jsonl").write_text("\n".join(_encode(p) for p in GOOD.policies))
        pq.write_table(table, root / "claims.parquet")
        dataset = read_dataset(root)
        assert len(dataset.entries) == table.num_rows
        for entry in dataset.entries:
            if entry.raw is not None:
                try:
                    digest(entry.raw)
                except CanonicalFormError:
                    pass
            result = asyncio.run(assess_claim(entry, dataset.policies, dataset.policy_errors, TaskModelAdvisor()))
            assert result.decision == "FAILED" or result.error is None
            _check_encodable(result.error, result.claim_id)


def test_parquet_string_column_with_invalid_utf8_fails_only_that_row(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    # Arrow trusts a foreign writer's string bytes; converting a bad one raised UnicodeDecodeError.
    bad = pa.Array.from_buffers(pa.string(), 1, [None, pa.py_buffer(b"\0\0\0\0\2\0\0\0"),
                                                 pa.py_buffer(b"\xff\xfe")])
    pq.write_table(pa.table({"claim_id": pa.concat_arrays([pa.array(["C-1", "C-2"]), bad])}),
                   tmp_path / "claims.parquet")
    (tmp_path / "policies.jsonl").write_text("")
    entries = read_dataset(tmp_path).entries
    assert [e.claim_id for e in entries[:2]] == ["C-1", "C-2"] and entries[0].error is None
    assert entries[2].raw is None and "claims.parquet row 3: cannot read row: 'utf-8' codec" in entries[2].error


MODEL_INPUT = st.one_of(
    JSONISH,
    st.builds(lambda k, v: {**BASE_CLAIM, k: v}, st.sampled_from(sorted(BASE_CLAIM)) | TEXT, JSONISH),
    st.builds(lambda k, v: {**BASE_POLICY, k: v}, st.sampled_from(sorted(BASE_POLICY)) | TEXT, JSONISH),
    st.just([BASE_CLAIM] * 2),
    st.just({**BASE_CLAIM, "line_items": [BASE_CLAIM["line_items"][0]] * 5000}),
)


@FUZZ
@given(value=MODEL_INPUT)
def test_the_models_raise_only_claim_input_error(value):
    for parse in (parse_claim, parse_policy):
        try:
            parse(value, "input")
        except ClaimInputError as exc:
            message = str(exc)
            assert message.startswith("input") and len(message) < 5_000
            _check_encodable(message)


@pytest.mark.parametrize("text,fragment", [
    ("1" * 5000, "not valid JSON"),  # Python's int-size guard raises ValueError, not JSONDecodeError
    ('{"n": ' + "9" * 5000 + "}", "not valid JSON"),
    ('{"a": {"b": ["ok", "\\ud800"]}}', "a.b[1]: text is not valid Unicode (lone surrogate U+D800"),
    ('{"\\udc80": 1}', "a field name is not valid Unicode"),
    ('{"k": 1, "k": 2}', "duplicate key 'k'"),
    ('{"n": NaN}', "n: NaN is not valid JSON"),
    ('{"a": [1, {"b": -Infinity}]}', "a[1].b: -Infinity is not valid JSON"),
    ("[" * 100_000, "not valid JSON"),
])
def test_reader_regressions_found_by_fuzzing(tmp_path, text, fragment):
    (tmp_path / "policies.jsonl").write_text("")
    (tmp_path / "claims.jsonl").write_text(text + "\n", encoding="utf-8")
    (entry,) = read_dataset(tmp_path).entries
    assert entry.raw is None and fragment in entry.error


def test_model_regressions_found_by_fuzzing():
    from claim_assess.claims.models import short_repr

    assert short_repr(10**5000).startswith("an integer of")  # repr() of it raises ValueError
    for over, fragment in [({"odometer_km": 2**60}, "odometer_km: integer larger than"),
                           ({"narrative": "\ud800"}, "narrative: text is not valid Unicode"),
                           ({"loss_date": "2026-03-01\n"}, "loss_date: expected a date"),
                           ({"policy_id": "P\uff11"}, "policy_id: expected an identifier")]:
        with pytest.raises(ClaimInputError, match=fragment.replace("[", r"\[")):
            parse_claim({**BASE_CLAIM, **over})
    with pytest.raises(ClaimInputError, match="currency: expected a currency code"):
        parse_policy({**BASE_POLICY, "currency": "CHF\n"})
