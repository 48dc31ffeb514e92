"""Check that the audit trail of a workspace has not been changed.

It reads the ledger (every decision and every LLM call the runs recorded) and checks that each record is
intact and still linked to the one before it, that every decision's LLM calls are there, and that every
signed checkpoint is genuine and matches the records it covers. With --prove CLAIM_ID it prints the proof
that one claim's decision is covered by a signed checkpoint, and checks it. With --replay --input DATASET it
re-derives every decision (of --run, or all) from the dataset's claim and policy and the recorded LLM answers, by
the current rules, and says which reproduce, which differ (the field), which lack evidence, which were made under
other rules.

Run it on a ledger no run is writing to: a write in flight looks like a torn last line.

Trust: without --public-key the signatures are checked with the public key stored next to the ledger,
which proves little against someone who can rewrite the whole directory; pin a copy kept elsewhere with
--public-key, and pass a checkpoint copied off the host with --anchor to catch an older checkpoints.jsonl
being restored.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from claim_assess.drivers.options import EXIT_FAILED, EXIT_OK, EXIT_USAGE, add_run, command_parser, positive_int, returns_exit_code
from claim_assess.errors import LedgerError
from claim_assess.ledger.prove import InclusionReport, prove_claim
from claim_assess.ledger.verify import VerifyReport, verify_ledger
from claim_assess.run.workspace import Workspace
from claim_assess.drivers.verify_replay import replay

EXIT_CODES = [
    (EXIT_OK, "the ledger is intact (with --prove: the proof is valid)"),
    (EXIT_FAILED, "integrity failure: the first bad record or checkpoint and what is wrong are printed; with "
                  "--replay a decision that differs or lacks its evidence"),
    (EXIT_USAGE, "usage or I/O: bad flags, no readable ledger; with --prove also no such claim, or a "
                 "decision no signed checkpoint covers yet"),
]


def _parser() -> argparse.ArgumentParser:
    parser = command_parser("verify", __doc__, exit_codes=EXIT_CODES,
                            example="claim-assess verify --workspace workspace --public-key signing_key.pub")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workspace", type=Path, help="workspace directory; the ledger is WORKSPACE/ledger")
    where.add_argument("--ledger", type=Path, help="the ledger directory itself")
    parser.add_argument("--public-key", type=Path, metavar="FILE",
                        help="trusted Ed25519 public key (PEM) to check checkpoint signatures with")  # fmt: skip
    parser.add_argument("--anchor", type=Path, metavar="FILE",
                        help="a trusted copy of the newest checkpoint (its line or a copied checkpoints.jsonl)")  # fmt: skip
    parser.add_argument("--prove", metavar="CLAIM_ID",
                        help="print and check the inclusion proof of this claim's decision")  # fmt: skip
    parser.add_argument("--replay", action="store_true", help="re-derive the decisions (needs --input)")
    parser.add_argument("--input", metavar="DATASET", help="with --replay: the dataset the decisions were made on")
    add_run(parser, "with --prove: the decision of this run; with --replay: only this run's decisions")
    parser.add_argument("--jobs", type=positive_int("--jobs"), default=None,
                        help="processes for parsing (default: automatic)")
    parser.add_argument("--json", action="store_true", help="print a machine-readable report")
    return parser


def render(directory: Path, report: VerifyReport) -> str:
    lines = [f"ledger {directory}: {'INTACT' if report.ok else 'INTEGRITY FAILURE'}"]
    if not report.ok:
        if report.first_bad_seq is not None:
            lines.append(f"  first bad seq: {report.first_bad_seq}")
        if report.first_bad_checkpoint is not None:
            lines.append(f"  first bad checkpoint: checkpoints.jsonl line {report.first_bad_checkpoint}")
        for where, message in report.problems:
            lines.append(f"  {where}: {message}")
    lines.append(f"  decisions: {report.decisions}   llm_calls: {report.llm_calls}")
    lines.append(f"  checkpoints: {report.checkpoints}   records after the last checkpoint: {report.unanchored}")
    newest = report.newest_checkpoint
    if newest is not None:
        lines.append(
            f"  newest checkpoint: {directory / 'checkpoints.jsonl'} line {newest['line']} "
            f"(tree_size {newest['tree_size']}, root {newest['root'][:16]}..., key {newest['key_id']})"
        )
        lines.append("  copy it (or signing_key.pub) off this host: only an anchor the writer cannot change "
                     "catches a rewrite from scratch")  # fmt: skip
    lines.extend(f"  note: {note}" for note in report.notes)
    if report.unanchored:
        lines.append("  note: records after the last checkpoint are only hash-chained; deleting them from the end "
                     "shows only as fewer such records")  # fmt: skip
    return "\n".join(lines)


def render_proof(report: InclusionReport) -> str:
    lines = [
        f"claim {report.claim_id} (run {report.run_id}): decision {report.decision} at seq {report.seq}",
        f"  record_hash: {report.record_hash}",
        f"  leaf hash:   {report.leaf_hash}",
        f"  checkpoint:  checkpoints.jsonl line {report.checkpoint_line}, tree_size {report.tree_size}, "
        f"created {report.checkpoint_created_at}",
        f"  root:        {report.root}",
        f"  signed by:   key {report.key_id} ({report.key_source} key)",
        f"  audit path ({len(report.proof)} hashes, leaf to root):",
    ]
    lines.extend(f"    {i}: {h}" for i, h in enumerate(report.proof))
    lines.append(f"  {'PROOF VALID' if report.ok else 'PROOF INVALID'}: {report.message}")
    return "\n".join(lines)


@returns_exit_code
def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    parser = _parser()
    args = parser.parse_args(argv)
    if args.run is not None and args.prove is None and not args.replay:
        parser.error("--run needs --prove or --replay")
    if args.replay != (args.input is not None) or (args.replay and args.prove is not None):
        parser.error("--replay needs --input DATASET (and no --prove); --input goes with --replay")
    if args.ledger is None and args.workspace is None and not args.replay:
        parser.error("one of the arguments --workspace --ledger is required")
    directory = args.ledger if args.ledger is not None else Workspace(args.workspace or "workspace").ledger_dir
    if args.replay:
        return replay(args, directory, out)
    try:
        if args.prove is not None:
            proof = prove_claim(directory, args.prove, args.run, public_key_path=args.public_key)
            ok = proof.ok
            data, text = proof.to_json(), render_proof(proof)
        else:
            report = verify_ledger(directory, public_key_path=args.public_key, anchor_path=args.anchor, jobs=args.jobs)
            ok = report.ok
            data, text = report.to_json(), render(directory, report)
    except (LedgerError, OSError) as exc:
        if args.json:
            print(json.dumps({"ok": False, "error": str(exc)}), file=out)
        else:
            print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(json.dumps({"ledger": str(directory), **data}, indent=2) if args.json else text, file=out)
    return EXIT_OK if ok else EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
