"""The command-line entry points (installed as ``claim_assess.drivers``; ``claim-assess COMMAND`` runs them).

Each parses its flags and calls the library; ``python -m drivers.X`` from a checkout runs the same code.
"""
