"""Replay: re-derive every recorded decision from its evidence and say whether it comes out the same.

What replay proves: that each decision follows, by the current rules, from the claim and policy the dataset holds
(their digests equal the recorded ones) and the LLM answers the ledger recorded (every cited call sent exactly the
request the rules make now, and its recorded answer is what the rules were given). A decision rewritten after the
fact, even in a ledger re-chained and re-signed with its own key, then shows as "differs" at the changed field.
What it does not prove: that the model really gave those answers (the call log is evidence of the same writer), or
anything about a decision made under other rules (``claims.decision.RULES_VERSION``): those are "rules changed".
No network, no LLM client, no Ray.
"""
