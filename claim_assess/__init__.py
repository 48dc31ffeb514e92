"""claim-assess: parallel, rate-limit-aware LLM assessment of warranty claims, with a tamper-evident ledger.

Everything importable lives in this one namespace:

    claim_assess.claims      the domain (pure): models, dataset, reconciliation, screening, coverage, payout, decision
    claim_assess.llm         the LLM client, retry policy, rate-limit core, attempt accounting (pure)
    claim_assess.simulator   the OpenAI-compatible simulator (pure of Ray)
    claim_assess.ledger      canonical records, hash chain, Merkle checkpoints, verification (pure)
    claim_assess.run         one run: settings, workspace, journal, summary, display, prepare / execute / finalize
    claim_assess.report      the HTML run report;  claim_assess.plan: the dry-run planner
    claim_assess.actors      the Ray shells (top-level actors/ in a source checkout)
    claim_assess.drivers     the command-line entry points (top-level drivers/ in a source checkout)

Why two folders live outside this directory: the design keeps the Ray shells and the entry points at the top of
the repository (``python -m drivers.assess`` works from a checkout). A wheel installs them inside the package, as
``claim_assess.actors`` and ``claim_assess.drivers``, so that ``claim_assess`` is the only name it adds to
site-packages (PyPI has packages called ``llm``, ``ledger``, ``claims``, ``actors`` and ``drivers``). In a checkout
the same names resolve to the top-level folders through this package's ``__path__``; ``bench/``, which is never
installed, is ``claim_assess.bench`` there too.
"""

import os as _os

__version__ = "0.2.0"

_here = _os.path.dirname(_os.path.abspath(__file__))
_checkout = _os.path.dirname(_here)
if not _os.path.isdir(_os.path.join(_here, "actors")) and _os.path.isfile(
    _os.path.join(_checkout, "actors", "__init__.py")
):
    __path__.append(_checkout)  # noqa: F821 - a package's __path__, extended as pkgutil.extend_path does
