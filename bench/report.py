#!/usr/bin/env python3
"""Turns the raw measurements of bench/run.sh (order, metric, run, value; tab-separated)
into the Markdown table it prints and keeps in bench/last-run.md. Medians over runs;
peak RSS is the largest of the runs. Standard library only."""

import argparse
import statistics
from collections import defaultdict

STAGES = ["ingest", "reconcile", "render", "seal", "write", "total"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("raw")
    for flag in ["size", "runs", "flags", "machine", "duckdb", "commit"]:
        ap.add_argument(f"--{flag}", default="")
    a = ap.parse_args()

    values: dict[tuple[str, str], list[str]] = defaultdict(list)
    orders: list[str] = []
    with open(a.raw) as f:
        for line in f:
            order, metric, _run, value = line.rstrip("\n").split("\t")
            if order not in orders:
                orders.append(order)
            values[(order, metric)].append(value)

    def nums(order: str, metric: str) -> list[float]:
        return [float(v) for v in values.get((order, metric), []) if v not in ("", "cached")]

    def med(order: str, metric: str) -> float | None:
        v = nums(order, metric)
        return statistics.median(v) if v else None

    def first(order: str, metric: str) -> str:
        v = values.get((order, metric))
        return v[0] if v else ""

    def secs(x: float | None) -> str:
        return "n/a" if x is None else f"{x:.3f}"

    def count(x: float | None) -> str:
        return "n/a" if x is None else f"{x:,.0f}"

    def mb(x: float | None) -> str:
        return "n/a" if x is None else f"{x / 1e6:,.1f} MB"

    rows: list[tuple[str, list[str]]] = []

    def row(label: str, f) -> None:
        rows.append((label, [f(o) for o in orders]))

    row("exports / data rows / bytes", lambda o: f"{first(o, 'exports')} / {count(med(o, 'rows'))} / {mb(med(o, 'bytes'))}")
    row("generation, s (synth, release)", lambda o: first(o, "gen_seconds") or "n/a")
    row("**(a) tallyseal build, s**", lambda o: f"**{secs(med(o, 'tallyseal'))}**")
    row("(b) sha256sum, s", lambda o: secs(med(o, "sha256sum")))
    row(
        "(c) DuckDB group-by, s",
        lambda o: f"{secs(med(o, 'duckdb'))} ({count(med(o, 'duckdb_groups'))} groups, {first(o, 'duckdb_threads')} thread(s))",
    )
    row("(d) cat > /dev/null, s", lambda o: secs(med(o, "cat")))

    def ratio(o: str) -> str:
        t, b, c = med(o, "tallyseal"), med(o, "sha256sum"), med(o, "duckdb")
        return "n/a" if None in (t, b, c) or b + c == 0 else f"**{t / (b + c):.1f}×**"

    row("**ratio a / (b + c)**", ratio)
    row("tallyseal / cat", lambda o: "n/a" if not med(o, "cat") else f"{med(o, 'tallyseal') / med(o, 'cat'):.0f}×")
    row(
        "tallyseal throughput",
        lambda o: "n/a" if not med(o, "tallyseal") else f"{med(o, 'bytes') / 1e6 / med(o, 'tallyseal'):,.1f} MB/s, {med(o, 'rows') / med(o, 'tallyseal'):,.0f} rows/s",
    )
    row("peak RSS (max of runs)", lambda o: "n/a" if not nums(o, "rss_kb") else f"{max(nums(o, 'rss_kb')) / 1024:,.0f} MiB")

    def pages(o: str) -> str:
        p, t = med(o, "pages"), med(o, "tallyseal")
        return "n/a" if not p or not t else f"{p / t:,.0f} ({p:,.0f} HTML files)"

    row("pages per second", pages)

    def render_pages(o: str) -> str:
        p, r = med(o, "pages"), med(o, "stage_render")
        return "n/a" if not p or not r else f"{p / r:,.0f}"

    row("pages per second of stage `render` (the pages, with the JSON and files beside them)", render_pages)

    def proof(o: str) -> str:
        p, c = med(o, "proof_bytes"), med(o, "clients")
        return "n/a" if p is None or not c else f"{p / c:,.0f} ({c:,.0f} clients, {mb(p)} in all)"

    row("proof bytes per client", proof)
    row("site: files / bytes", lambda o: f"{count(med(o, 'site_files'))} / {mb(med(o, 'site_bytes'))}")
    extra = sorted({m[6:] for (_, m) in values if m.startswith("stage_")} - set(STAGES))
    for stage in STAGES + extra:
        row(f"stage `{stage}`, s (`--timings`)", lambda o, s=stage: secs(med(o, f"stage_{s}")))

    out = [
        f"## tallyseal benchmark: `{a.size}`, median of {a.runs} run(s)",
        "",
        f"- machine: {a.machine}",
        f"- commit: {a.commit}; `tallyseal build` flags used: {a.flags}",
        f"- DuckDB {a.duckdb}; page cache warm (every export read once before the runs)",
        "",
        "| | " + " | ".join(f"`{o}` order" for o in orders) + " |",
        "| --- |" + " ---: |" * len(orders),
    ]
    out += [f"| {label} | " + " | ".join(cells) + " |" for label, cells in rows]
    print("\n".join(out))


if __name__ == "__main__":
    main()
