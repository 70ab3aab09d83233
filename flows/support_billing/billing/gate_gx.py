"""The gate's Great Expectations objects: suites, validation definitions, checkpoints, the
stored results and the Data Docs site (R18: the evidence behind the review page).

``home`` given (the billing flow): a file data context in ``HOME/gx/`` keeps the suites,
validation definitions, checkpoints and every validation result (``HOME/gx/uncommitted/
validations/``), and a Data Docs site is built under ``HOME/reports/gx/`` (site
``billing``), for a preview under ``HOME/reports/_preview/gx/`` (site ``billing_preview``,
run named ``YYYY-MM-preview``): a preview writes nothing outside ``_preview``. ``home``
None (tests): an ephemeral context, nothing written.

One checkpoint per suite: each suite validates its own DataFrame, and a checkpoint hands
the same ``batch_parameters`` (the ``dataframe``) to all its validation definitions. The
period reaches the suites as expectation suite parameters (``{"$PARAMETER": ...}``), never
by editing suite text. The run time of a result is the time of the data it validated (the
last ingest that loaded a file, R20), so the same data gives the same result path and the
review page's link stays byte-identical; new data gives a new, kept result.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

SITES = {  # site name: folder relative to HOME/gx, the context's root
    False: ("billing", "../reports/gx/"),
    True: ("billing_preview", "../reports/_preview/gx/"),
}
SOURCE = "billing_gate"
RESULT_FORMAT = {"result_format": "SUMMARY"}  # counts + first 20 failing row indexes


def run_time(period: str, data_time: dt.datetime | None) -> dt.datetime:
    """The result's run time: the data's time (R20), else midnight UTC on the 1st."""
    if data_time is not None:
        if data_time.tzinfo is None:  # a naive TIMESTAMP in the warehouse is UTC
            data_time = data_time.replace(tzinfo=dt.UTC)
        return data_time.astimezone(dt.UTC).replace(microsecond=0)
    return dt.datetime.fromisoformat(f"{period}-01T00:00:00+00:00")


def context(gx, home: Path | None):
    """An ephemeral context, or the file context in ``HOME/gx`` with the Data Docs site."""
    from great_expectations.data_context.types.base import ProgressBarsConfig

    if home is None:
        ctx = gx.get_context(mode="ephemeral")
    else:
        ctx = gx.get_context(mode="file", project_root_dir=str(home))
        sites = ctx.get_config().data_docs_sites or {}
        if "local_site" in sites:  # GX's default site lives in uncommitted/; ours in reports/
            ctx.delete_data_docs_site("local_site")
        for site, folder in SITES.values():
            if site not in sites:
                ctx.add_data_docs_site(site, {
                    "class_name": "SiteBuilder", "show_how_to_buttons": False,
                    "store_backend": {"class_name": "TupleFilesystemStoreBackend",
                                      "base_directory": folder},
                    "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"}})
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    return ctx


def checkpoint(gx, ctx, name: str, spec: dict):
    """Suite (from the repository's JSON, the source of truth), validation definition and
    checkpoint for one suite. The stored checkpoint is used as it is when its suite equals
    the repository's; otherwise each is added or updated, so a changed suite file takes
    effect. (Every update rewrites the context's files: about a third of a small gate.)"""
    suite = gx.ExpectationSuite(name=spec["name"], expectations=spec["expectations"],
                                meta=spec.get("meta", {}))
    stored = _stored_checkpoint(ctx, name)
    if stored is not None and _same_suite(stored.validation_definitions[0].suite, suite):
        return stored
    try:  # added once: adding the data source again would drop its other assets
        source = ctx.data_sources.get(SOURCE)
    except KeyError:
        source = ctx.data_sources.add_pandas(SOURCE)
    try:
        asset = source.get_asset(name)
    except LookupError:
        asset = source.add_dataframe_asset(name=name)
    batch_def = next((b for b in asset.batch_definitions if b.name == f"{name}_month"), None)
    if batch_def is None:
        batch_def = asset.add_batch_definition_whole_dataframe(f"{name}_month")
    suite = ctx.suites.add_or_update(suite)
    vd = ctx.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=f"gate_{name}", data=batch_def, suite=suite))
    return ctx.checkpoints.add_or_update(gx.Checkpoint(
        name=f"gate_{name}", validation_definitions=[vd], actions=[],
        result_format=RESULT_FORMAT))


def _stored_checkpoint(ctx, name: str):
    """The checkpoint kept in the context for ``name``, if it is the gate's own shape (one
    validation definition of the suite's asset, no action); else None."""
    try:
        stored = ctx.checkpoints.get(f"gate_{name}")
        vd, = stored.validation_definitions
        data = vd.data
        if (vd.name == f"gate_{name}" and data.name == f"{name}_month"
                and data.data_asset.name == name and data.data_asset.datasource.name == SOURCE
                and not stored.actions and stored.result_format == RESULT_FORMAT):
            return stored
    except Exception:  # noqa: BLE001 - missing, unreadable or of another shape: rebuilt
        pass
    return None


def _same_suite(stored, suite) -> bool:
    """The same expectations in the same order (ids aside) and the same meta."""
    def configs(s):
        return [{k: v for k, v in e.configuration.to_json_dict().items() if k != "id"}
                for e in s.expectations]
    return stored.name == suite.name and stored.meta == suite.meta and \
        configs(stored) == configs(suite)


def run_id(period: str, preview: bool, when: dt.datetime):
    from great_expectations.core.run_identifier import RunIdentifier

    return RunIdentifier(run_name=f"{period}-preview" if preview else period, run_time=when)


def build_docs(ctx, keys: list, preview: bool) -> dict[str, str]:
    """Render the pages of this run's results (and the site's index) only, not the whole
    site; {suite: page path relative to ``HOME/reports``} for the review page's links
    (an approved month's report moves from reports/_preview to reports/, its pages stay)."""
    if not keys:
        return {}
    name, folder = SITES[bool(preview)]
    ctx.build_data_docs(site_names=[name], resource_identifiers=keys)
    site = (Path(ctx.root_directory) / folder).resolve()
    reports = (Path(ctx.root_directory) / "../reports").resolve()
    pages = {}
    for key in keys:
        suite, run_name, run_t, batch = key.to_tuple()
        page = site / "validations" / suite / run_name / run_t / f"{batch}.html"
        pages[suite] = page.relative_to(reports).as_posix()
    return pages


__all__ = ["SITES", "build_docs", "checkpoint", "context", "run_id", "run_time"]
