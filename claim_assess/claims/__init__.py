"""The claims domain: models, dataset I/O, the deterministic stages, prompts and one claim's pipeline.

Pure: no Ray, no HTTP. The LLM is injected into ``claims.pipeline.assess_claim`` as an Advisor.
"""
