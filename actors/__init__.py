"""The Ray shells (installed as ``claim_assess.actors``): each a few lines over a plain class of the library.

    assessor       AssessorActor over claim_assess.run.assessor.ClaimAssessor
    ledger_actor   LedgerActor over claim_assess.ledger.group_commit.GroupCommitWriter (takes a ledger factory)
    rate_limiter   RateLimiterActor over claim_assess.llm.ratelimit.RateLimiter; the assessors' client over it
    progress       ProgressActor: claim_assess.run.progress.ProgressBoard
    fleet          RayFleet: the driver's facade (spawn, submit, wait, cancel, close); Ray's errors mapped here
    cluster        starting or joining Ray, a local one on loopback
    placement, dispatch, metrics, restarts: where actors go, which assessor gets a claim, Ray metrics, riding
                   out a peer's restart
"""
