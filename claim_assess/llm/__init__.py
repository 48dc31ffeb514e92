"""LLM access, pure of Ray: the client, the retry policy, the rate-limit core and the accounting of attempts.

``client.LLMClient`` makes every HTTP attempt; ``retry`` decides retries; ``limiter`` is the seam to whatever
budgets requests; ``ratelimit`` is the shared limiter's core (the rate-limiter actor holds one), made of two
``budget.Budget``s that learn how the provider enforces (over ``bucket.TokenBucket``; ``gateway`` reads what a
gateway reveals), and ``shared_limiter`` the assessors' side of it; ``concurrency`` the adaptive admission of claims; ``attempts`` the
llm_call/1 record of one attempt; ``accounting.LLMUsage`` what attempts did and cost, summable.
"""
