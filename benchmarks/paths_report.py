"""The printed part of the comparison steps (paths.py): commands, the reference's figures,
where the time goes, and the ratios against the targets (benchmarks/README.md)."""

from __future__ import annotations

PEAK_TARGET_MB = 3 * 1024.0  # 3 GiB


def _f(x, fmt="{:.2f}") -> str:
    return "n/a" if x is None else fmt.format(x)


def reference_target(customers: int) -> float | None:
    """cold bill / plain Python: 0.35 from 100,000 customers, 1.0 from 20,000."""
    if customers >= 100_000:
        return 0.35
    if customers >= 20_000:
        return 1.0
    return None


def _ratio(a: dict | None, b: dict | None, key: str = "wall_s") -> float | None:
    """a / b in ``key`` (wall_s or cpu_s); None unless both ran and succeeded."""
    if not a or not b or a.get(key) is None or not b.get(key):
        return None
    if a.get("rc") != 0 or b.get("rc") != 0:
        return None
    return a[key] / b[key]


def cpu_ratios(result: dict) -> list[dict]:
    """The same comparisons in CPU seconds (figures beside the targets, which are wall
    time): what a run costs the machine, steadier than wall time from run to run."""
    runs = result.get("paths", {}).get("runs", {})
    ref, cold = runs.get("reference"), runs.get("cold")
    return [{"figure": name, "value": value} for name, value in (
        ("cold bill / plain Python, CPU", _ratio(cold, ref, "cpu_s")),
        ("monthly-path bill / cold bill, CPU", _ratio(runs.get("monthly"), cold, "cpu_s")),
        ("R15 no-op re-bill / cold bill, CPU", _ratio(runs.get("noop"), cold, "cpu_s")),
    )]


def ratios(result: dict) -> list[dict]:
    runs = result.get("paths", {}).get("runs", {})
    ref, cold = runs.get("reference"), runs.get("cold")
    monthly, noop = runs.get("monthly"), runs.get("noop")
    every = [r for r in (ref, cold, monthly, noop, *runs.get("months", [])) if r]
    peaks = [r["peak_mb"] for r in every if r.get("peak_mb") is not None]
    rows = [
        ("cold bill / plain Python", _ratio(cold, ref), reference_target(result["customers"])),
        ("monthly-path bill / cold bill", _ratio(monthly, cold), 0.4),
        ("R15 no-op re-bill / cold bill", _ratio(noop, cold), 0.25),
        ("peak memory of any command (MB)", max(peaks) if peaks else None, PEAK_TARGET_MB),
    ]
    out = []
    for name, value, target in rows:
        met = None if value is None or target is None else value <= target
        out.append({"figure": name, "value": value, "target": target, "met": met})
    return out


def _commands(runs: dict) -> list[dict]:
    order = [runs.get("reference"), runs.get("cold"), *runs.get("months", []),
             runs.get("monthly"), runs.get("noop")]
    return [r for r in order if r]


def _reference_lines(runs: dict) -> list[str]:
    ref = runs.get("reference")
    if not ref or not ref.get("values"):
        return []
    v = ref["values"]
    out = ["", "  Plain-Python reference (csv module, R-IN checks, tests/oracle per customer)",
           f"    rows read {v['rows_read']:,}, rejected {v['rows_rejected']:,}, held "
           f"{v['rows_held']:,}; read + check {v['read_check_s']:.2f} s, compute "
           f"{v['compute_s']:.2f} s",
           f"    {v['period']}: {v['invoices']:,} invoices, total {v['total']} USD"]
    cold = (runs.get("cold") or {}).get("values") or {}
    if cold:
        same = cold.get("invoices") == v["invoices"] and cold.get("total") == v["total"]
        out.append(f"    cold bill: {cold['invoices']:,} invoices, total {cold['total']} USD "
                   f"(same as the reference: {'yes' if same else 'NO'})")
    return out


WHERE_ROWS = [("process start", "process start"), ("imports", "imports"),
              ("prefect (server, flow start)", "prefect (server, flow start)"),
              ("ingest (stage)", "ingest"), ("dbt build (stage)", "dbt build"),
              ("  dbt parse (all invocations)", "dbt parse"), ("gate", "gate"),
              ("export", "export"), ("finalize", "finalize")]


def _where_lines(runs: dict) -> list[str]:
    cols = [(k, runs[k]) for k in ("cold", "monthly", "noop") if runs.get(k)]
    if not cols:
        return []
    out = ["", f"  {'Where the time goes (s)':<44}" + "".join(f" {k:>10}" for k, _ in cols)]
    for label, key in WHERE_ROWS:
        out.append(f"  {label:<44}" + "".join(f" {_f(r['where'].get(key)):>10}"
                                             for _, r in cols))
    dbt_rows = [("  dbt models (sum)", lambda d: sum(d.get("models", {}).values()) if d else None),
                ("  dbt tests (sum)", lambda d: d.get("tests_s") if d else None),
                ("  dbt seeds (sum)", lambda d: d.get("seeds_s") if d else None)]
    for label, get in dbt_rows:
        out.append(f"  {label:<44}" + "".join(f" {_f(get(r['where'].get('dbt'))):>10}"
                                             for _, r in cols))
    out.append(f"  {'command wall':<44}" + "".join(f" {_f(r['wall_s']):>10}" for _, r in cols))
    monthly = runs.get("monthly")
    models = ((monthly or {}).get("where", {}).get("dbt") or {}).get("models", {})
    if models:
        which = monthly["where"]["dbt"].get("which")
        out.append(f"  Each model of the monthly-path bill (last dbt {which}, run_results.json)")
        for name, secs in sorted(models.items(), key=lambda kv: (-kv[1], kv[0])):
            out.append(f"    {name:<42} {secs:>10.2f}")
    out.append("  (process start = `python -c pass`; imports = prefect +"
               " support_billing.billing.flow in a fresh\n   interpreter;"
               " prefect = time to the flow's first line minus both;"
               " models: the command's last dbt run)")
    return out


def report_paths(result: dict) -> str:
    paths = result.get("paths")
    if not paths or not paths.get("runs"):
        return ""
    runs = paths["runs"]
    out = [f"Comparison steps: {paths['period']} (monthly path from month "
           f"{paths['monthly_from']:02d})",
           f"  {'Command':<52} {'exit':>5} {'wall s':>9} {'CPU s':>9} {'peak MB':>9}"]
    for r in _commands(runs):
        out.append(f"  {r['label']:<52} {_f(r['rc'], '{}'):>5} {_f(r['wall_s']):>9} "
                   f"{_f(r.get('cpu_s')):>9} {_f(r['peak_mb'], '{:.0f}'):>9}")
    out += _reference_lines(runs)
    out += _where_lines(runs)
    out += ["", f"  {'Ratio against the targets':<44} {'value':>10} {'target':>10} {'met':>5}"]
    for row in ratios(result):
        met = "n/a" if row["met"] is None else ("yes" if row["met"] else "NO")
        fmt = "{:.0f}" if "MB" in row["figure"] else "{:.3f}"
        out.append(f"  {row['figure']:<44} {_f(row['value'], fmt):>10} "
                   f"{_f(row['target'], fmt):>10} {met:>5}")
    for row in cpu_ratios(result):
        out.append(f"  {row['figure']:<44} {_f(row['value'], '{:.3f}'):>10}")
    out.append("  (plain Python = the literal test oracle behind a csv reader, slower than a "
               "tuned program:\n   see benchmarks/README.md; ratios are figures, never a "
               "failed run)")
    return "\n".join(out)
