"""The policy book a what-if decides under: the dataset's, with the policies of a new policies file put in their place.

Replacing by ``policy_id`` only: a what-if asks how the run's own claims would have come out, and a claim names its
policy, so a policy id the dataset's book does not hold could change no decision. It is refused, by name, as the
typo it most likely is (a policy meant to replace one, misspelled, would otherwise leave every claim unchanged and
the comparison silently empty). A line of the new file that does not validate is refused too, naming the line and
the field (the dataset's own validation, ``claims.dataset.read_policy_file``): a run tolerates a bad policy (its
claims are FAILED), but a what-if on a policy nobody can read answers nothing.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from claim_assess.claims.dataset import DatasetSource, read_policy_file
from claim_assess.claims.models import Policy
from claim_assess.errors import InputError
from claim_assess.ledger.canonical import digest


@dataclass(frozen=True)
class PolicyBook:
    """The terms to decide under, and which policies differ from the dataset's."""

    policies: Mapping[str, Policy]
    policy_errors: Mapping[str, str]
    changed: tuple[str, ...]  # policy ids whose terms differ from the dataset's, sorted


def dataset_book(dataset: DatasetSource) -> PolicyBook:
    return PolicyBook(dict(dataset.policies), dict(dataset.policy_errors), ())


def with_new_policies(dataset: DatasetSource, path: str | os.PathLike[str]) -> PolicyBook:
    """The dataset's book with every policy of ``path`` in place of the dataset's policy of that id.

    Raises InputError (DatasetError when the file cannot be read) naming the line and field of a policy that does
    not validate, or the policy id the dataset does not hold."""
    policies, errors, raws = read_policy_file(path)
    if errors:
        first = next(iter(errors.values()))  # in line order
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise InputError(f"{os.fspath(path)}: {first}{more}")
    unknown = sorted(set(policies) - set(dataset.policies) - set(dataset.policy_errors))
    if unknown:
        raise InputError(f"{os.fspath(path)}: policy {unknown[0]!r} is not in the dataset's policies "
                         f"({dataset.root}); a what-if replaces policies by id and adds none")
    if not policies:
        raise InputError(f"{os.fspath(path)}: holds no policy")
    changed = tuple(sorted(pid for pid, raw in raws.items() if digest(raw) != _digest_of(dataset, pid)))
    errors_left = {k: v for k, v in dataset.policy_errors.items() if k not in policies}
    return PolicyBook({**dataset.policies, **policies}, errors_left, changed)


def _digest_of(dataset: DatasetSource, policy_id: str) -> str | None:
    raw = dataset.raw_policies.get(policy_id)
    return digest(raw) if raw is not None else None
