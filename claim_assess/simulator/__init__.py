"""The OpenAI-compatible simulator: a fake provider for offline runs, demos, tests and load tests.

``server`` is the HTTP server (aiohttp) and its configuration; ``limits`` the provider-side RPM/TPM limits
(per minute, or per second aligned or sliding); ``gateway`` an optional gateway in front with a hidden limit
of its own; ``tasks`` the deterministic model of the two tasks; ``stats`` what ``GET /stats`` reports.
Pure of Ray.
"""

from claim_assess.simulator.server import RunningSimulator, SimulatorConfig, start_simulator

__all__ = ["RunningSimulator", "SimulatorConfig", "start_simulator"]
