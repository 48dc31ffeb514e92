"""The benchmark's scenarios: which simulator each runs against and which runs it makes (bench/README.md)."""

from __future__ import annotations

from dataclasses import dataclass

from claim_assess.simulator.server import SimulatorConfig


@dataclass(frozen=True)
class RunSpec:
    label: str
    kind: str  # "engine" | "baseline" | "cookbook"
    workers: int  # actors for the engine, threads for the baseline (the cookbook has no workers: 1)
    claims: int
    concurrency: int | None = None  # engine claims in flight per actor (None: the engine's default)
    background: bool = False  # run alongside the foreground runs (the slow, CPU-idle sequential baseline)
    sample_memory: bool = False
    # After the engine, a bare asyncio openai client replays up to this many of the run's own requests against the
    # same simulator (bench.bare_client); None: no bare run. The ceiling judges the engine's rate over it.
    bare_requests: int | None = None


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    sim: SimulatorConfig
    runs: tuple[RunSpec, ...]
    binding: str | None = None  # which limit the utilisation is measured against
    timeout_s: float | None = None  # the engine's --timeout
    seed: int = 7
    # False: the engine gets no --rpm/--tpm, as a user who relies on the provider's headers runs it.
    pass_limits: bool = True
    # The figure a limit scenario is judged by (bench/README.md): "utilization", "wall_over_ideal" (a full
    # request bucket spent at once, then the rate) or "charged_over_admissible" (the same for tokens).
    headline: str = "utilization"

    @property
    def warmup_s(self) -> int:
        """Per-minute limits start with a full minute's bucket: the first 60 s are not steady state."""
        limited = bool(self.sim.rpm or self.sim.tpm)
        return 60 if limited and self.sim.quantize == "none" else 0

    def limit(self, kind: str) -> int | None:
        """The per-minute limit that binds ("requests" or "tokens"): the lower of the provider's and a gateway's."""
        provider = self.sim.rpm if kind == "requests" else self.sim.tpm
        gateway = self.sim.gateway_rpm if kind == "requests" else self.sim.gateway_tpm
        return min(x for x in (provider, gateway) if x) if provider or gateway else None

    @property
    def gateway_binds(self) -> bool:
        """A gateway's fixed window, not the provider's bucket, sets the binding limit (no bucket to replay)."""
        kind = self.binding or "requests"
        gateway = self.sim.gateway_rpm if kind == "requests" else self.sim.gateway_tpm
        return bool(gateway) and gateway == self.limit(kind)


def scenarios(quick: bool) -> tuple[Scenario, ...]:
    """The benchmark's scenarios; ``quick`` shrinks every one to a few seconds of load."""
    makers = (_latency_bound, _rpm_bound, _tpm_bound, _storm, *_LIMITS, _ceiling)
    return tuple(make(_Size(quick)) for make in makers)


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
        SimulatorConfig(rpm=n.rpm, tpm=50_000_000, quantize="aligned", omit_rate_limit_headers=True,
                        rate_5xx=0.02, rate_hang=0.01, hang_s=10.0, latency_median_ms=300, latency_p95_ms=900,
                        seed=4),
        (RunSpec("engine x4", "engine", 4, n(300, 25)),),
        binding="requests",
        timeout_s=5.0,
    )


def _ceiling(n: _Size) -> Scenario:
    claims = n(20_000, 300)
    # About 100 s of the bare client at full size (of the ~58,000 requests the run makes): a long steady window,
    # minutes less than replaying them all. --quick's run makes under 1,000: it replays them all.
    bare = n(20_000, 3_000)
    return Scenario(
        "ceiling",
        f"zero latency, no limits, 2 actors, {claims:,} claims: the engine's own ceiling, and its memory; then a bare "
        f"asyncio openai client replays up to {bare:,} of its requests against the same simulator",
        SimulatorConfig(latency_median_ms=0, latency_p95_ms=0, seed=5),
        (RunSpec("engine x2", "engine", 2, claims, sample_memory=True, bare_requests=bare),),
    )


# --- the limit scenarios: how a client spends what a provider grants, against OpenAI's cookbook ----------------
# Sizes come from a dry count of the pipeline (claim_assess.plan) over claims.synthetic.generate(n, seed=7):
# 111 claims -> 301 requests, 39 -> 101 (103,000 tokens charged), 145 -> 400, 73 -> 200. The first claims are the
# generator's scripted cases, many decided without a call: 11 claims -> 15 requests, the --quick size (a smoke
# run: too small for any limit to bind).


def _cookbook(claims: int, *, background: bool = False) -> RunSpec:
    return RunSpec("cookbook", "cookbook", 1, claims, background=background)


def _full_bucket_rpm(n: _Size) -> Scenario:
    rpm, claims = n(180, 60), n(111, 11)
    return Scenario(
        "full-bucket-rpm",
        f"{rpm} RPM bucket that starts full (headers on), ample TPM, latency 300/900 ms, {claims} claims "
        f"(about {n(300, 15)} requests): spend the minute's bucket at once, then the rate",
        SimulatorConfig(rpm=rpm, tpm=50_000_000, latency_median_ms=300, latency_p95_ms=900, seed=6),
        (RunSpec("engine x4", "engine", 4, claims), _cookbook(claims)),
        binding="requests",
        headline="wall_over_ideal",
    )


def _full_bucket_tpm(n: _Size) -> Scenario:
    claims = n(39, 11)
    return Scenario(
        "full-bucket-tpm",
        f"60,000 TPM bucket that starts full (headers on), RPM ample, {claims} claims (about {n(100, 15)} requests, "
        f"{n('103,000', '17,500')} tokens charged): spend the minute's tokens at once, then the rate",
        SimulatorConfig(rpm=100_000, tpm=60_000, latency_median_ms=300, latency_p95_ms=900, seed=8),
        (RunSpec("engine x4", "engine", 4, claims), _cookbook(claims)),
        binding="tokens",
        headline="charged_over_admissible",
    )


def _sliding(n: _Size) -> Scenario:
    rpm, claims = n(180, n.rpm), n(145, 11)
    return Scenario(
        "sliding",
        f"{rpm:,} RPM enforced over any sliding second (at most {-(-rpm // 60)} in 1 s), no rate-limit headers, "
        f"2 % 5xx, {claims} claims (about {n(400, 15)} requests)",
        SimulatorConfig(rpm=rpm, tpm=50_000_000, quantize="sliding", omit_rate_limit_headers=True, rate_5xx=0.02,
                        latency_median_ms=300, latency_p95_ms=900, seed=9),
        # Against a strict second the cookbook's 15 s pauses take minutes, asleep: it runs beside the others.
        (RunSpec("engine x4", "engine", 4, claims), _cookbook(claims, background=not n.quick)),
        binding="requests",
    )


def _gateway(n: _Size) -> Scenario:
    # 300 requests: five minutes at the gateway's rate, so that whole minutes after the learning are measured.
    rpm, gateway, claims = n(120, 240), n(60, 120), n(111, 11)
    return Scenario(
        "gateway",
        f"a LiteLLM-style gateway of {gateway} RPM (fixed one-minute window, no header says so) in front of a "
        f"provider that advertises {rpm} RPM in its headers, {claims} claims (about {n(300, 15)} requests); "
        "the engine gets no --rpm",
        SimulatorConfig(rpm=rpm, tpm=50_000_000, gateway_rpm=gateway, gateway_style="litellm",
                        latency_median_ms=300, latency_p95_ms=900, seed=10),
        (RunSpec("engine x4", "engine", 4, claims), _cookbook(claims, background=not n.quick)),
        binding="requests",
        pass_limits=False,
    )


_LIMITS = (_full_bucket_rpm, _full_bucket_tpm, _sliding, _gateway)

SCENARIO_NAMES = tuple(s.name for s in scenarios(quick=False))
# --group NAME runs these together (python -m drivers.bench --group limits).
GROUPS = {"limits": ("full-bucket-rpm", "full-bucket-tpm", "sliding", "gateway")}
