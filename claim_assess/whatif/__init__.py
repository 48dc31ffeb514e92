"""What-if analysis: a run's claims decided again under changed policy terms (or a changed dataset), with the
answers the model gave in the run, and compared with the decisions the run recorded.

Pure: no Ray, no LLM client, no network, and nothing written to the ledger (it is only read). ``analysis`` walks
the run's decisions; ``terms`` builds the changed policy book; ``tally`` sums up; ``render`` and ``page`` show it.
"""
