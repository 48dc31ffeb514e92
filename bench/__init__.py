"""The benchmark (issue 3): ``python -m drivers.bench``. It ships with the source repository, never in the wheel.

Why it is not part of the installed library: it measures the engine from the outside, the way a user runs it
(``python -m drivers.assess`` in a subprocess, from a checkout), and it needs the repository's own layout. In a
checkout ``claim_assess/__init__.py`` resolves this folder as ``claim_assess.bench``.

    windows     the steady window of a run and the rates over it (pure)
    targets     issue 3's targets against the measured runs (pure)
    scenarios   what each scenario runs against which simulator
    datasets    the synthetic datasets, written once per invocation
    engine      one engine subprocess: its command, its JSON summary, its ledger
    memory      the /proc sampler of the engine's process tree
    baseline    the seed-style baseline the engine is compared with
    cookbook    the cookbook-style baseline of the limit scenarios (OpenAI's api_request_parallel_processor)
    measure     one run, measured: engine or baseline, and its figures
    schedule    every run of the selected scenarios, the slow idle ones in the background
    results     the results document (bench/results.json)
    tables      the rich tables and the Markdown for README
    faults      the soak: faults and killed actors (``python -m drivers.bench faults``)
    ledger      the ledger benchmark (``python -m drivers.bench ledger``)
    cli         the command line
"""
