"""LLM access: the client wrapper, the retry policy, the limiter seam and the simulator.

Pure of Ray: ``llm.client.LLMClient`` makes every HTTP attempt, ``llm.retry`` decides retries,
``llm.limiter`` is the seam to the shared rate limiter, ``llm.simulator`` is an OpenAI-compatible
server for offline runs, demos, tests and load tests.
"""
