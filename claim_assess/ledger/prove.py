"""Inclusion proofs for one claim's decision (``verify --prove CLAIM_ID [--run RUN_ID]``).

Two streaming passes over decisions.jsonl, O(log n) memory: the first finds the decision (the
latest non-FAILED one for the claim, else its latest FAILED one, optionally within one run) and the
newest checkpoint whose signature verifies; the second hashes exactly the subtrees the RFC 6962
audit path needs (``merkle.inclusion_ranges`` + ``RangeHasher``). The proof is then checked with the
independent RFC 9162 algorithm against the signed root, as a third party would.

No decision for the claim, or none covered by a signed checkpoint yet, raises LedgerError (the
driver exits 2: the question cannot be answered, which is not an integrity failure).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from claim_assess.errors import CanonicalFormError, InvalidRecordError, LedgerError
from claim_assess.ledger.checkpoints import CHECKPOINTS_FILE, Checkpoint, read_checkpoint
from claim_assess.ledger.filestore import DECISIONS_FILE
from claim_assess.ledger.keys import PUBLIC_KEY_FILE, key_id_of, load_public_key
from claim_assess.ledger.lines import read_decision_fields
from claim_assess.ledger.merkle import RangeHasher, inclusion_ranges, leaf_hash, verify_inclusion
from claim_assess.ledger.records import FAILED


@dataclass(frozen=True)
class InclusionReport:
    ok: bool
    claim_id: str
    run_id: str
    seq: int
    decision: str
    record_hash: str
    leaf_hash: str
    tree_size: int
    root: str
    checkpoint_line: int
    checkpoint_created_at: str
    key_id: str
    key_source: str  # "pinned" / "stored"
    proof: tuple[str, ...]
    message: str

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "claim_id": self.claim_id,
            "run_id": self.run_id,
            "seq": self.seq,
            "decision": self.decision,
            "record_hash": self.record_hash,
            "leaf_hash": self.leaf_hash,
            "checkpoint": {
                "line": self.checkpoint_line,
                "tree_size": self.tree_size,
                "root": self.root,
                "created_at": self.checkpoint_created_at,
                "key_id": self.key_id,
                "key_source": self.key_source,
            },
            "proof": list(self.proof),
            "message": self.message,
        }


def _find_decision(path: Path, claim_id: str, run_id: str | None) -> tuple[int, dict[str, Any], bytes]:
    best: tuple[int, dict[str, Any], bytes] | None = None
    # cheap filter before parsing: the claim id appears in the line as a JSON string, escaped as the
    # canonical form escapes it
    needle = json.dumps(claim_id, ensure_ascii=False).encode("utf-8", "surrogatepass")
    with open(path, "rb") as f:
        for position, raw in enumerate(f):
            if needle not in raw:
                continue
            try:
                value = read_decision_fields(raw)
            except (CanonicalFormError, InvalidRecordError):
                continue  # verify reports damaged lines; a proof is about the intact ones
            if value["claim_id"] != claim_id or (run_id is not None and value["run_id"] != run_id):
                continue
            if best is None or value["decision"] != FAILED or best[1]["decision"] == FAILED:
                best = (position, value, leaf_hash(raw[:-1]))
    if best is None:
        scope = f" in run {run_id}" if run_id else ""
        raise LedgerError(f"no decision for claim {claim_id}{scope} in {path}")
    return best


def _newest_checkpoint(path: Path, key, key_id: str) -> tuple[int, Checkpoint, list[str]]:
    newest: tuple[int, Checkpoint] | None = None
    skipped: list[str] = []
    try:
        f = open(path, "rb")
    except FileNotFoundError as exc:
        raise LedgerError(f"{path} is missing: no record is anchored yet") from exc
    with f:
        for number, raw in enumerate(f, 1):
            try:
                cp = read_checkpoint(raw)
            except (CanonicalFormError, InvalidRecordError):
                skipped.append(f"line {number} is not a checkpoint")
                continue
            if cp.key_id != key_id or not cp.signature_valid(key):
                skipped.append(f"line {number} (tree_size {cp.tree_size}) has no valid signature by key {key_id}")
                continue
            if newest is None or cp.tree_size > newest[1].tree_size:
                newest = (number, cp)
    if newest is None:
        raise LedgerError(f"{path} holds no checkpoint signed by key {key_id}")
    return newest[0], newest[1], skipped


def _trusted_key(directory: Path, public_key_path: str | os.PathLike[str] | None):
    """(key, "pinned" | "stored"): the key given, else the one stored beside the ledger."""
    if public_key_path is not None:
        return load_public_key(public_key_path), "pinned"
    try:
        return load_public_key(directory / PUBLIC_KEY_FILE), "stored"
    except LedgerError as exc:
        raise LedgerError(f"no key to check checkpoints with (pass --public-key): {exc}") from exc


def _audit_path(path: Path, seq: int, tree_size: int) -> list[bytes]:
    """The RFC 6962 audit path of leaf ``seq`` in the first ``tree_size`` lines, read in one streaming pass."""
    hasher = RangeHasher(inclusion_ranges(seq, tree_size))
    with open(path, "rb") as f:
        for position, raw in enumerate(f):
            if position >= tree_size:
                break
            hasher.feed(position, leaf_hash(raw[:-1] if raw.endswith(b"\n") else raw))
    try:
        return hasher.hashes()
    except ValueError:
        return []  # the file is shorter than the checkpoint: the proof then fails and says so


def prove_claim(
    directory: str | Path,
    claim_id: str,
    run_id: str | None = None,
    *,
    public_key_path: str | os.PathLike[str] | None = None,
) -> InclusionReport:
    """Build and check the inclusion proof of the claim's decision under the newest signed checkpoint."""
    directory = Path(directory)
    if not (directory / DECISIONS_FILE).exists():
        raise LedgerError(f"no ledger at {directory}")
    key, source = _trusted_key(directory, public_key_path)
    kid = key_id_of(key)
    seq, value, leaf = _find_decision(directory / DECISIONS_FILE, claim_id, run_id)
    number, cp, skipped = _newest_checkpoint(directory / CHECKPOINTS_FILE, key, kid)
    if cp.tree_size <= seq:
        raise LedgerError(
            f"the decision of claim {claim_id} is seq {seq}, after the newest signed checkpoint "
            f"(tree_size {cp.tree_size}): it is not anchored yet; the writer signs one every N records and "
            "at the end of each run"
        )
    proof = _audit_path(directory / DECISIONS_FILE, seq, cp.tree_size)
    ok = verify_inclusion(leaf, seq, cp.tree_size, proof, bytes.fromhex(cp.root))
    if ok:
        message = (f"decision seq {seq} is included in the tree of size {cp.tree_size} signed by key {kid} "
                   f"({source}) at {cp.created_at}")  # fmt: skip
    else:
        message = (f"the inclusion proof does NOT verify against the signed root of tree_size {cp.tree_size}: "
                   f"{DECISIONS_FILE} was changed after that checkpoint was signed")  # fmt: skip
    if skipped:
        message += "; skipped checkpoints: " + "; ".join(skipped[:5])
    return InclusionReport(
        ok=ok,
        claim_id=claim_id,
        run_id=value["run_id"],
        seq=seq,
        decision=value["decision"],
        record_hash=value["record_hash"],
        leaf_hash=leaf.hex(),
        tree_size=cp.tree_size,
        root=cp.root,
        checkpoint_line=number,
        checkpoint_created_at=cp.created_at,
        key_id=kid,
        key_source=source,
        proof=tuple(h.hex() for h in proof),
        message=message,
    )
