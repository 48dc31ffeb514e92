"""The benchmark's scenarios: which simulator each runs against and which runs it makes (bench/README.md)."""

from __future__ import annotations

from dataclasses import dataclass

from claim_assess.simulator.server import SimulatorConfig


@dataclass(frozen=True)
class RunSpec:
    label: str
    kind: str  # "engine" | "baseline"
    workers: int  # actors for the engine, threads for the baseline
    claims: int
    concurrency: int | None = None  # engine claims in flight per actor (None: the engine's default)
    background: bool = False  # run alongside the foreground runs (the slow, CPU-idle sequential baseline)
    sample_memory: bool = False


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    sim: SimulatorConfig
    runs: tuple[RunSpec, ...]
    binding: str | None = None  # which limit the utilisation is measured against
    timeout_s: float | None = None  # the engine's --timeout
    seed: int = 7

    @property
    def warmup_s(self) -> int:
        """Per-minute limits start with a full minute's bucket: the first 60 s are not steady state."""
        limited = bool(self.sim.rpm or self.sim.tpm)
        return 60 if limited and not self.sim.quantize_per_second else 0


def scenarios(quick: bool) -> tuple[Scenario, ...]:
    """The benchmark's scenarios; ``quick`` shrinks every one to a few seconds of load."""
    return tuple(make(_Size(quick)) for make in (_latency_bound, _rpm_bound, _tpm_bound, _storm, _ceiling))


@dataclass(frozen=True)
class _Size:
    """Picks a scenario's full-size figure or its ``--quick`` one."""

    quick: bool

    def __call__(self, full, small):
        return small if self.quick else full

    @property
    def rpm(self) -> int:
        return self(600, 1200)


def _latency_bound(n: _Size) -> Scenario:
    latency = SimulatorConfig(latency_median_ms=n(800, 100), latency_p95_ms=n(2000, 250), seed=1)
    claims = n(200, 12)
    return Scenario(
        "latency-bound",
        f"no limits, latency median {latency.latency_median_ms:.0f} ms / p95 {latency.latency_p95_ms:.0f} ms, "
        f"{claims} claims: the engine with 1-8 actors against the seed-style baseline (N=1 is sequential)",
        latency,
        tuple(RunSpec(f"engine x{a}", "engine", a, claims) for a in n((1, 2, 4, 8), (4,)))
        + (
            RunSpec("baseline N=4", "baseline", 4, claims),
            # About 9 minutes at full size, yet almost no CPU: it runs beside the others.
            RunSpec("sequential (baseline N=1)", "baseline", 1, claims, background=not n.quick),
        ),
    )


def _rpm_bound(n: _Size) -> Scenario:
    return Scenario(
        "rpm-bound",
        f"{n.rpm:,} RPM, ample TPM, latency 300/900 ms, {n(650, 25)} claims (about 3 minutes of load)",
        SimulatorConfig(rpm=n.rpm, tpm=50_000_000, latency_median_ms=300, latency_p95_ms=900, seed=2),
        (RunSpec("engine x4", "engine", 4, n(650, 25)),),
        binding="requests",
    )


def _tpm_bound(n: _Size) -> Scenario:
    tpm = n(400_000, 1_000_000)
    return Scenario(
        "tpm-bound",
        f"{tpm:,} TPM binding (about 1,000 tokens charged per request), RPM ample, {n(850, 25)} claims",
        SimulatorConfig(rpm=100_000, tpm=tpm, latency_median_ms=300, latency_p95_ms=900, seed=3),
        (RunSpec("engine x4", "engine", 4, n(850, 25)),),
        binding="tokens",
    )


def _storm(n: _Size) -> Scenario:
    return Scenario(
        "storm",
        f"{n.rpm:,} RPM enforced per second, no rate-limit headers, 2 % 5xx, 1 % hangs of 10 s (client timeout "
        f"5 s), {n(300, 25)} claims",
        SimulatorConfig(rpm=n.rpm, tpm=50_000_000, quantize_per_second=True, omit_rate_limit_headers=True,
                        rate_5xx=0.02, rate_hang=0.01, hang_s=10.0, latency_median_ms=300, latency_p95_ms=900,
                        seed=4),
        (RunSpec("engine x4", "engine", 4, n(300, 25)),),
        binding="requests",
        timeout_s=5.0,
    )


def _ceiling(n: _Size) -> Scenario:
    claims = n(20_000, 300)
    return Scenario(
        "ceiling",
        f"zero latency, no limits, 2 actors, {claims:,} claims: the engine's own ceiling, and its memory",
        SimulatorConfig(latency_median_ms=0, latency_p95_ms=0, seed=5),
        (RunSpec("engine x2", "engine", 2, claims, sample_memory=True),),
    )


SCENARIO_NAMES = tuple(s.name for s in scenarios(quick=False))
