"""Plot a benchmarks/peers.py ``--json`` report: compile-time CDFs and decode tokens/s.

    .venv-peers/bin/python benchmarks/peers_plot.py REPORT.json OUT.png

Left: for each library, the share of all schemas ready (compiled + first token mask) within a
given time, log scale; failures and timeouts never arrive, so a curve ends below 100 % by the
share that did not compile. Right: decode tokens/s per mode, with each repeat as a dot.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

__all__ = ["main", "plot"]

COLORS = {
    "Ananke": "#1f77b4",
    "Ananke (lenient)": "#6baed6",
    "llguidance (raw)": "#7f7f7f",
    "XGrammar": "#d62728",
    "Outlines": "#2ca02c",
}


def _ready_times(report: dict[str, Any], lib: str) -> list[float]:
    return sorted(row[lib][2] * 1e3 for row in report["per_schema"].values() if row[lib][0] == "ok")


def _plot_cdf(ax: Any, report: dict[str, Any]) -> None:
    total = len(report["per_schema"])
    for lib, color in COLORS.items():
        times = _ready_times(report, lib)
        shares = [100.0 * (i + 1) / total for i in range(len(times))]
        ax.step(times, shares, where="post", color=color, label=f"{lib} ({len(times)}/{total})")
    ax.set_xscale("log")
    ax.set_xlabel("compile + first mask (ms, log scale)")
    ax.set_ylabel("schemas ready (% of all)")
    ax.set_ylim(0, 101)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title("Compile time (failures and timeouts never arrive)", fontsize=10)


def _plot_tokens(ax: Any, report: dict[str, Any]) -> None:
    modes = list(report["tokens"])
    for i, mode in enumerate(modes):
        cell = report["tokens"][mode]
        lib = next((name for name in COLORS if mode.startswith(name)), None)
        ax.barh(i, cell["tps"], color=COLORS.get(lib, "#bbbbbb"))
        ax.plot(cell["tps_by_repeat"], [i] * len(cell["tps_by_repeat"]), "k.", markersize=5)
        right_end = max([cell["tps"], *cell["tps_by_repeat"]])
        ax.text(right_end, i, f"  {cell['tps']:.1f} ({cell['ratio']:.2f}×)", va="center", fontsize=8)
    ax.set_yticks(range(len(modes)), modes, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("decode tokens/s (dots: each repeat; ×: ratio vs unconstrained)")
    ax.margins(x=0.15)
    ax.set_title("Greedy decode, same model and forward pass", fontsize=10)
    ax.grid(True, axis="x", alpha=0.3)


def plot(report: dict[str, Any], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.8), gridspec_kw={"width_ratios": [1.1, 1]})
    _plot_cdf(left, report)
    if report.get("tokens"):
        _plot_tokens(right, report)
    else:
        right.axis("off")
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        raise SystemExit(__doc__)
    plot(json.loads(Path(args[0]).read_text()), Path(args[1]))


if __name__ == "__main__":
    main()
