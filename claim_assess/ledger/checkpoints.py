"""Signed checkpoints (spec §4): checkpoints.jsonl lines and what the writer returns about them.

A checkpoint commits to the first ``tree_size`` lines of decisions.jsonl through their RFC 6962
root, names the record_hash of the last of them, and is signed with Ed25519 over its canonical
bytes without the signature field. A hash chain alone can be recomputed by whoever rewrites the
file; a signed root copied off the host cannot.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from claim_assess.errors import CanonicalFormError, InvalidRecordError
from claim_assess.ledger.canonical import canonical_bytes, parse_canonical
from claim_assess.ledger.keys import SigningKey, verify_signature

CHECKPOINTS_FILE = "checkpoints.jsonl"
CHECKPOINT_SCHEMA = "checkpoint/1"
_FIELDS = frozenset({"schema", "ledger_id", "tree_size", "root", "head_hash", "created_at", "key_id", "signature"})
_HEX64 = re.compile(r"[0-9a-f]{64}\Z")
_HEX32 = re.compile(r"[0-9a-f]{32}\Z")
_HEX8 = re.compile(r"[0-9a-f]{8}\Z")


@dataclass(frozen=True)
class CheckpointInfo:
    """The newest checkpoint as the writer reports it (FileLedger.checkpoint, LedgerActor.checkpoint)."""

    path: str  # checkpoints.jsonl
    tree_size: int
    root: str
    head_hash: str
    key_id: str
    created_at: str
    public_key_path: str


@dataclass(frozen=True)
class Checkpoint:
    """One parsed checkpoints.jsonl line."""

    ledger_id: str
    tree_size: int
    root: str
    head_hash: str
    created_at: str
    key_id: str
    signature: str

    def body_json(self) -> dict[str, Any]:
        return {
            "schema": CHECKPOINT_SCHEMA,
            "ledger_id": self.ledger_id,
            "tree_size": self.tree_size,
            "root": self.root,
            "head_hash": self.head_hash,
            "created_at": self.created_at,
            "key_id": self.key_id,
        }

    def signed_bytes(self) -> bytes:
        return canonical_bytes(self.body_json())

    def line(self) -> bytes:
        return canonical_bytes({**self.body_json(), "signature": self.signature}) + b"\n"

    def signature_valid(self, public_key: Ed25519PublicKey) -> bool:
        try:
            raw = base64.b64decode(self.signature, validate=True)
        except (binascii.Error, ValueError):
            return False
        return verify_signature(public_key, raw, self.signed_bytes())

    def info(self, path: str, public_key_path: str) -> CheckpointInfo:
        return CheckpointInfo(
            path=path,
            tree_size=self.tree_size,
            root=self.root,
            head_hash=self.head_hash,
            key_id=self.key_id,
            created_at=self.created_at,
            public_key_path=public_key_path,
        )


def make_checkpoint(
    key: SigningKey, *, ledger_id: str, tree_size: int, root: str, head_hash: str, created_at: str
) -> Checkpoint:
    unsigned = Checkpoint(ledger_id, tree_size, root, head_hash, created_at, key.key_id, "")
    signature = base64.b64encode(key.sign(unsigned.signed_bytes())).decode("ascii")
    return Checkpoint(ledger_id, tree_size, root, head_hash, created_at, key.key_id, signature)


def _need(cond: bool, what: str) -> None:
    if not cond:
        raise InvalidRecordError(what)


def read_checkpoint(raw: bytes) -> Checkpoint:
    """One checkpoints.jsonl line -> Checkpoint; CanonicalFormError / InvalidRecordError if bad.

    The signature is NOT checked here: which key to trust is the caller's decision.
    """
    if not raw.endswith(b"\n"):
        raise CanonicalFormError("line has no terminating newline")
    value = parse_canonical(raw)
    keys = set(value)
    _need(keys == _FIELDS, f"checkpoint fields are {sorted(keys)}, expected {sorted(_FIELDS)}")
    _need(value["schema"] == CHECKPOINT_SCHEMA, f"schema is {value['schema']!r}, not {CHECKPOINT_SCHEMA!r}")
    _need(isinstance(value["ledger_id"], str) and bool(_HEX32.match(value["ledger_id"])), "bad ledger_id")
    _need(type(value["tree_size"]) is int and value["tree_size"] >= 1, "tree_size must be an integer >= 1")
    _need(isinstance(value["root"], str) and bool(_HEX64.match(value["root"])), "bad root")
    _need(isinstance(value["head_hash"], str) and bool(_HEX64.match(value["head_hash"])), "bad head_hash")
    _need(isinstance(value["created_at"], str), "bad created_at")
    _need(isinstance(value["key_id"], str) and bool(_HEX8.match(value["key_id"])), "bad key_id")
    _need(isinstance(value["signature"], str), "bad signature")
    return Checkpoint(
        value["ledger_id"],
        value["tree_size"],
        value["root"],
        value["head_hash"],
        value["created_at"],
        value["key_id"],
        value["signature"],
    )
