"""The dry-run planner: what a run will ask of the model, and what that costs in time and money.

    planner   Plan and plan_run: every claim through the real pipeline with an advisor that never calls a model
    advisor   PlanningAdvisor: notes each prompt, answers with placeholders that change no rule
    pricing   prices per million tokens from flags or a JSON pricing file
    render    the plan for people (rich) and for programs (JSON)
    for_run   dry_run: the plan for a run's RunSettings
"""

from claim_assess.plan.for_run import dry_run
from claim_assess.plan.planner import Plan, plan_run
from claim_assess.plan.render import print_plan

__all__ = ["Plan", "dry_run", "plan_run", "print_plan"]
