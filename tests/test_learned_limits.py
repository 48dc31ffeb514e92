"""What the rate limiter learned is kept in the run's settings.json, so a resume starts from it."""

from __future__ import annotations

import json

from claim_assess.llm.ratelimit import Enforcement, LimiterStats, RateLimiter
from claim_assess.run.learned import LearnedLimits
from claim_assess.run.settings import new_settings, resumed_settings, save


def stats(*enforcement: Enforcement) -> LimiterStats:
    return LimiterStats(rpm_limit=120, tpm_limit=None, requests_granted=0, tokens_reserved=0, tokens_refunded=0,
                        requests_level=None, tokens_level=None, paused_for_s=0.0, backlog_s=0.0, rate_limited=0,
                        rate_limited_requests=0, rate_limited_tokens=0, outstanding=0, limits_learned=False,
                        quota_exhausted=None, enforcement=enforcement)


def stored(settings) -> list[dict]:
    return json.loads(settings.paths.settings.read_text())["learned_limits"]


def test_a_change_of_shape_is_written_at_once_and_fine_tuning_only_at_the_end(tmp_path):
    settings = new_settings(workspace=tmp_path, run_id="r1", rpm=120)
    save(settings)
    learned = LearnedLimits(settings)
    learned.observe(stats(Enforcement("requests", limit=120, rate_per_min=120.0)))
    assert stored(settings) == [{"budget": "requests", "limit": 120, "learned_from_headers": False, "paced": False,
                                 "reason": None, "hidden_limit": None, "headers_trusted": True, "scale": 1.0,
                                 "rate_per_min": 120.0}]
    paced = Enforcement("requests", limit=120, paced=True, reason="per second", rate_per_min=120.0)
    learned.observe(stats(paced))
    assert stored(settings)[0]["paced"] is True
    learned.observe(stats(Enforcement("requests", limit=120, paced=True, reason="per second", scale=0.98,
                                      rate_per_min=117.6)))
    assert stored(settings)[0]["scale"] == 1.0  # the rate moves often: not a rewrite each time
    learned.observe(None, final=True)
    assert stored(settings)[0]["scale"] == 0.98
    assert learned.pacing == ("requests: paced evenly at 118/min (per second)",)


def test_a_resume_reads_what_was_learned_and_its_limiter_starts_from_it(tmp_path):
    settings = new_settings(workspace=tmp_path, run_id="r1", rpm=120)
    save(settings)
    gateway = Enforcement("requests", limit=120, paced=True, reason="a gateway", hidden_limit=60,
                          headers_trusted=False)
    LearnedLimits(settings).observe(stats(gateway), final=True)
    resumed = resumed_settings(tmp_path, "r1", actors=2)
    limiter = RateLimiter(rpm=resumed.rpm, learned=[Enforcement.from_json(e) for e in resumed.learned_limits])
    (state,) = limiter.enforcement()
    assert (state.paced, state.hidden_limit, state.headers_trusted, resumed.actors) == (True, 60, False, 2)
