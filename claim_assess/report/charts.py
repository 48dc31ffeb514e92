"""Inline SVG charts for the run report: pure functions from numbers to markup, no JavaScript.

Every chart is one ``<svg id=... class="chart ...">`` with a ``<title>`` (read by screen readers and
shown as a tooltip), scales with its container through ``viewBox``, and takes its colours from the
report's stylesheet classes where it can, so the page reads well printed. Every piece of text is
escaped here: labels come from run data (reason codes, claim ids), which is untrusted.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from claim_assess.report.markup import e

WIDTH, HEIGHT = 860, 260
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 64, 20, 34, 42


def compact(value: float) -> str:
    """1234 -> "1.2k", 3_400_000 -> "3.4M": axis labels that fit."""
    magnitude = abs(value)
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if magnitude >= limit:
            text = f"{value / limit:.1f}".rstrip("0").rstrip(".")
            return text + suffix
    if magnitude and magnitude < 10 and value != int(value):
        return f"{value:.1f}".rstrip("0").rstrip(".")
    return f"{value:.0f}"


def nice_ticks(high: float, count: int = 5, *, integer: bool = False) -> list[float]:
    """Round tick values from 0 to at least ``high`` (1, 2, 2.5 or 5 times a power of ten apart);
    ``integer`` for counts, which have no fractional ticks."""
    if high <= 0 or not math.isfinite(high):
        return [0.0, 1.0]
    raw = high / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    if integer:
        step = max(1.0, float(math.ceil(step)))
    ticks, value = [], 0.0
    while value < high - 1e-9 * step:
        ticks.append(value)
        value = round(value + step, 10)
    ticks.append(value)
    return ticks


MAX_POINTS = 1200


def thin(points: Sequence[tuple[float, float]], limit: int = MAX_POINTS) -> Sequence[tuple[float, float]]:
    """At most about ``limit`` points, evenly picked, always keeping the last."""
    if len(points) <= limit:
        return points
    stride = math.ceil(len(points) / limit)
    picked = list(points[::stride])
    if picked[-1] != points[-1]:
        picked.append(points[-1])
    return picked


@dataclass(frozen=True)
class Series:
    name: str
    points: Sequence[tuple[float, float]]
    css: str  # class for colour and dash: "s-requests", "s-limit", ...
    step: bool = False  # draw as a step function (limits change at instants)


@dataclass(frozen=True)
class Band:
    start: float
    end: float
    label: str


@dataclass(frozen=True)
class Bar:
    label: str
    segments: Sequence[tuple[float, str, str]]  # (value, css class, tooltip)
    note: str = ""  # text after the bar
    href: str | None = None


@dataclass
class _Frame:
    width: int = WIDTH
    height: int = HEIGHT
    x_max: float = 1.0
    y_max: float = 1.0
    parts: list[str] = field(default_factory=list)

    @property
    def plot_w(self) -> float:
        return self.width - MARGIN_LEFT - MARGIN_RIGHT

    @property
    def plot_h(self) -> float:
        return self.height - MARGIN_TOP - MARGIN_BOTTOM

    def x(self, value: float) -> float:
        return MARGIN_LEFT + (value / self.x_max if self.x_max else 0) * self.plot_w

    def y(self, value: float) -> float:
        return MARGIN_TOP + self.plot_h - (value / self.y_max if self.y_max else 0) * self.plot_h


def _open(chart_id: str, css: str, title: str, desc: str, width: int, height: int) -> str:
    return (f'<svg id="{e(chart_id)}" class="chart {e(css)}" viewBox="0 0 {width} {height}" role="img" '
            f'aria-labelledby="{e(chart_id)}-title {e(chart_id)}-desc" xmlns="http://www.w3.org/2000/svg">'
            f'<title id="{e(chart_id)}-title">{e(title)}</title><desc id="{e(chart_id)}-desc">{e(desc)}</desc>')


def _legend(entries: Sequence[tuple[str, str]], width: int) -> str:
    out, x = [], MARGIN_LEFT
    for name, css in entries:
        out.append(f'<g class="legend {e(css)}"><rect x="{x}" y="10" width="14" height="4" rx="1"/>'
                   f'<text x="{x + 19}" y="16">{e(name)}</text></g>')
        x += 28 + 7 * len(name)
        if x > width - 80:
            break
    return "".join(out)


def _axes(frame: _Frame, x_ticks: Sequence[float], y_ticks: Sequence[float], x_label: str, y_label: str,
          x_format=compact) -> str:
    out = []
    for tick in y_ticks:
        y = frame.y(tick)
        out.append(f'<line class="grid" x1="{MARGIN_LEFT}" x2="{frame.width - MARGIN_RIGHT}" y1="{y:.1f}" '
                   f'y2="{y:.1f}"/><text class="tick" x="{MARGIN_LEFT - 6}" y="{y + 4:.1f}" '
                   f'text-anchor="end">{e(compact(tick))}</text>')
    base = frame.y(0)
    for tick in x_ticks:
        x = frame.x(tick)
        out.append(f'<line class="axis" x1="{x:.1f}" x2="{x:.1f}" y1="{base:.1f}" y2="{base + 4:.1f}"/>'
                   f'<text class="tick" x="{x:.1f}" y="{base + 17:.1f}" text-anchor="middle">'
                   f'{e(x_format(tick))}</text>')
    out.append(f'<line class="axis" x1="{MARGIN_LEFT}" x2="{frame.width - MARGIN_RIGHT}" y1="{base:.1f}" '
               f'y2="{base:.1f}"/>')
    out.append(f'<text class="axis-label" x="{MARGIN_LEFT + frame.plot_w / 2:.1f}" y="{frame.height - 6}" '
               f'text-anchor="middle">{e(x_label)}</text>')
    out.append(f'<text class="axis-label" transform="translate(14 {MARGIN_TOP + frame.plot_h / 2:.1f}) '
               f'rotate(-90)" text-anchor="middle">{e(y_label)}</text>')
    return "".join(out)


def _path(frame: _Frame, points: Sequence[tuple[float, float]], step: bool) -> str:
    if not points:
        return ""
    commands = [f"M{frame.x(points[0][0]):.1f},{frame.y(points[0][1]):.1f}"]
    for x, y in points[1:]:
        # A step holds the old value until the instant it changes (a limit is set, not ramped).
        commands.append(f"H{frame.x(x):.1f}V{frame.y(y):.1f}" if step else f"L{frame.x(x):.1f},{frame.y(y):.1f}")
    return " ".join(commands)


def line_chart(chart_id: str, title: str, series: Sequence[Series], *, x_label: str, y_label: str,
               desc: str = "", marks: Sequence[tuple[float, str]] = (), bands: Sequence[Band] = (),
               x_max: float | None = None, width: int = WIDTH, height: int = HEIGHT) -> str:
    """Lines over time. ``marks`` are instants drawn as red ticks under the axis (e.g. 429 answers),
    ``bands`` are shaded intervals (e.g. the rate limiter pausing everyone)."""
    xs = [x for s in series for x, _ in s.points] + [m for m, _ in marks] + [b.end for b in bands]
    ys = [y for s in series for _, y in s.points]
    frame = _Frame(width, height)
    frame.x_max = max([x_max if x_max is not None else 0.0, *xs, 0.0]) or 1.0
    y_ticks = nice_ticks(max(ys, default=0.0) * 1.05)
    frame.y_max = y_ticks[-1]
    out = [_open(chart_id, "line-chart", title, desc or title, width, height)]
    for band in bands:
        x0, x1 = frame.x(max(0.0, band.start)), frame.x(min(frame.x_max, band.end))
        out.append(f'<rect class="band" x="{x0:.1f}" y="{MARGIN_TOP}" width="{max(1.0, x1 - x0):.1f}" '
                   f'height="{frame.plot_h:.1f}"><title>{e(band.label)}</title></rect>')
    out.append(_axes(frame, nice_ticks(frame.x_max, 8), y_ticks, x_label, y_label))
    for s in series:
        if s.points:
            # A long run has a point a second; more points than pixels only make the file heavy. Steps
            # (limits) keep every point: they change rarely and each change matters.
            points = s.points if s.step else thin(s.points)
            out.append(f'<path class="series {e(s.css)}" d="{_path(frame, points, s.step)}">'
                       f'<title>{e(s.name)}</title></path>')
    base = frame.y(0)
    for at, label in marks:
        x = frame.x(at)
        out.append(f'<path class="mark" d="M{x:.1f},{base + 1:.1f} l-4,8 h8 z"><title>{e(label)}</title></path>')
    legend = [(s.name, s.css) for s in series]
    if marks:
        legend.append(("429 rate limited", "mark-legend"))
    if bands:
        legend.append(("limiter paused", "band-legend"))
    out.append(_legend(legend, width))
    out.append("</svg>")
    return "".join(out)


def histogram(chart_id: str, title: str, values: Sequence[float], *, x_label: str, y_label: str = "claims",
              markers: Sequence[tuple[str, float]] = (), bins: int = 24, desc: str = "", x_format=compact,
              width: int = WIDTH, height: int = HEIGHT) -> str:
    """Counts of ``values`` in equal bins from 0, with labelled vertical markers (p50, p95...)."""
    frame = _Frame(width, height)
    top = max(values, default=0.0)
    x_ticks = nice_ticks(top * 1.04 if top > 0 else 1.0, 8)  # headroom: the slowest claim stays inside
    frame.x_max = x_ticks[-1]
    size = frame.x_max / bins
    counts = [0] * bins
    for value in values:
        counts[min(bins - 1, int(value / size))] += 1
    y_ticks = nice_ticks(max(counts, default=0) * 1.1 or 1, integer=True)
    frame.y_max = y_ticks[-1]
    out = [_open(chart_id, "histogram", title, desc or title, width, height),
           _axes(frame, x_ticks, y_ticks, x_label, y_label, x_format)]
    for i, count in enumerate(counts):
        if not count:
            continue
        x0, x1, y = frame.x(i * size), frame.x((i + 1) * size), frame.y(count)
        out.append(f'<rect class="bar" x="{x0 + 1:.1f}" y="{y:.1f}" width="{max(1.0, x1 - x0 - 2):.1f}" '
                   f'height="{frame.y(0) - y:.1f}"><title>{e(x_format(i * size))}–{e(x_format((i + 1) * size))}: '
                   f'{count} {e(y_label)}</title></rect>')
    for n, (label, at) in enumerate(markers):
        x = frame.x(min(at, frame.x_max))
        # Near the right edge the label goes on the line's left so it is not cut off.
        right = x > width - MARGIN_RIGHT - 110
        out.append(f'<line class="marker" x1="{x:.1f}" x2="{x:.1f}" y1="{MARGIN_TOP}" y2="{frame.y(0):.1f}"/>'
                   f'<text class="marker-label" x="{x - 4 if right else x + 4:.1f}" y="{MARGIN_TOP + 12 + 14 * n}" '
                   f'text-anchor="{"end" if right else "start"}">{e(label)} {e(x_format(at))}</text>')
    out.append("</svg>")
    return "".join(out)


def bar_chart(chart_id: str, title: str, bars: Sequence[Bar], *, value_label: str, desc: str = "",
              legend: Sequence[tuple[str, str]] = (), width: int = WIDTH, label_width: int | None = None) -> str:
    """Horizontal bars, each one or more stacked segments, with a note after the bar. The label column
    is as wide as the longest label (about 7.3 px a character at 12 px)."""
    if label_width is None:
        label_width = int(max((len(bar.label) for bar in bars), default=8) * 7.3) + 24
    row, top = 26, 30 if legend else 8
    height = top + row * max(1, len(bars)) + 40
    total = max((sum(v for v, _, _ in bar.segments) for bar in bars), default=0.0)
    whole = all(float(v).is_integer() for bar in bars for v, _, _ in bar.segments)
    ticks = nice_ticks(total or 1.0, 6, integer=whole)
    scale_max = ticks[-1]
    note_space = 190
    plot_w = width - label_width - note_space - MARGIN_RIGHT
    out = [_open(chart_id, "bar-chart", title, desc or title, width, height)]
    if legend:
        out.append(_legend_at(legend, label_width, 10))
    for tick in ticks:
        x = label_width + tick / scale_max * plot_w
        out.append(f'<line class="grid" x1="{x:.1f}" x2="{x:.1f}" y1="{top - 2}" y2="{height - 38}"/>'
                   f'<text class="tick" x="{x:.1f}" y="{height - 26}" text-anchor="middle">{e(compact(tick))}</text>')
    out.append(f'<text class="axis-label" x="{label_width + plot_w / 2:.1f}" y="{height - 6}" '
               f'text-anchor="middle">{e(value_label)}</text>')
    for i, bar in enumerate(bars):
        y = top + i * row
        label = f'<text class="bar-label" x="{label_width - 8}" y="{y + 16}" text-anchor="end">{e(bar.label)}</text>'
        out.append(f'<a href="{e(bar.href)}">{label}</a>' if bar.href else label)
        x = float(label_width)
        for value, css, tip in bar.segments:
            w = value / scale_max * plot_w if scale_max else 0
            if w > 0:
                out.append(f'<rect class="bar {e(css)}" x="{x:.1f}" y="{y + 4}" width="{max(w, 1.0):.1f}" '
                           f'height="{row - 8}"><title>{e(tip)}</title></rect>')
            x += w
        if bar.note:
            out.append(f'<text class="bar-note" x="{x + 6:.1f}" y="{y + 16}">{e(bar.note)}</text>')
    out.append("</svg>")
    return "".join(out)


def _legend_at(entries: Sequence[tuple[str, str]], x: float, y: float) -> str:
    out = []
    for name, css in entries:
        out.append(f'<g class="legend {e(css)}"><rect class="bar {e(css)}" x="{x:.0f}" y="{y:.0f}" width="12" '
                   f'height="10" rx="2"/><text x="{x + 17:.0f}" y="{y + 9:.0f}">{e(name)}</text></g>')
        x += 34 + 7 * len(name)
    return "".join(out)
