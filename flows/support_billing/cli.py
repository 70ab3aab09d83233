"""The `support-billing` command line (SPEC section 6).

Each subcommand is a thin wrapper: it resolves the home folder and calls a ``cli_*``
function in the module that owns the job; that function returns the exit status
(0 success, 1 failure). Usage errors exit 2 (Typer/Click). Any unexpected error is
reported as one line on stderr, never a bare traceback.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from support_billing.storage.warehouse import resolve_home

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Billing warehouse for the hh2 Pro-Support Plus agreement (see SPEC.md).",
    pretty_exceptions_enable=False,
)

FORMATS = ("table", "csv", "json")


class State:
    home: Path = resolve_home(None)


def fail(message: str, code: int = 1) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@app.callback()
def _main(
    home: Path | None = typer.Option(
        None,
        "--home",
        help="Folder holding inbox/, warehouse.duckdb, exports/ and reports/ "
        "(default: $SUPPORT_BILLING_HOME or ./data).",
    ),
    debug: bool = typer.Option(
        False, "--debug", help="Print the traceback of a failure on stderr too "
        "(it always goes to a file under HOME/logs/)."
    ),
) -> None:
    State.home = resolve_home(home)
    os.environ["SUPPORT_BILLING_HOME"] = str(State.home)
    if debug:
        os.environ["SUPPORT_BILLING_DEBUG"] = "1"


@app.command()
def ingest(
    paths: list[Path] | None = typer.Argument(
        None, help="CSV files or folders to ingest (default: HOME/inbox)."
    ),
) -> None:
    """Load CSV exports into the warehouse (R-IN1..R-IN5)."""
    from support_billing.ingest.flow import cli_ingest

    code = cli_ingest(State.home, list(paths or []))
    _record_ingests()
    raise typer.Exit(code)


def _record_ingests() -> None:
    """R19: the order of the ingests goes to HOME/ledger/ for ``rebuild`` (a failure here is
    a warning; the next bill records them)."""
    from support_billing.storage.ledger import record_ingests
    from support_billing.storage.warehouse import open_warehouse, warehouse_path

    if not warehouse_path(State.home).exists():
        return
    try:
        with open_warehouse(State.home) as con:
            record_ingests(con, State.home)
    except Exception as exc:  # noqa: BLE001 - the ingest itself succeeded
        typer.echo(f"warning: ingest order not recorded in the ledger: {exc}", err=True)


@app.command()
def bill(
    period: str | None = typer.Option(
        None, "--period", help="Month to bill, YYYY-MM (default: previous month, Mountain time)."
    ),
    preview: bool = typer.Option(
        False, "--preview", help="Compute and check only; write to exports/_preview, finalize "
        "nothing; the preview is the month's draft (R17)."
    ),
    yes: bool = typer.Option(
        False, "--yes", help="Bill a month that comes before the last finalized month."
    ),
) -> None:
    """Ingest the inbox, build the models, run the quality gate and export invoices."""
    from support_billing.billing.flow import cli_bill

    raise typer.Exit(cli_bill(State.home, period, preview, yes=yes))


@app.command()
def refresh(
    year: int = typer.Option(..., "--year", help="The year to open; closes the year before."),
    preview: bool = typer.Option(False, "--preview", help="Allow a year whose Jan 1 has not come."),
) -> None:
    """The January 1 run: close year Y-1, open year Y (R8, R11)."""
    from support_billing.yearend.refresh import cli_refresh

    raise typer.Exit(cli_refresh(State.home, year, preview))


@app.command()
def usage(
    year: int = typer.Option(..., "--year", help="Calendar year."),
    customer: str | None = typer.Option(None, "--customer", help="Only this customer_id."),
    format: str = typer.Option("table", "--format", help="table, csv or json."),
) -> None:
    """Incident usage per customer: allotment, covered, overage, remaining, expired."""
    if format not in FORMATS:
        fail(f"--format must be one of {', '.join(FORMATS)}, not {format!r}", 2)
    from support_billing.reporting.usage import cli_usage

    raise typer.Exit(cli_usage(State.home, year, customer, format))


@app.command()
def demo(
    customers: int = typer.Option(25, "--customers", help="How many sample customers."),
    seed: int = typer.Option(7, "--seed", help="Random seed of the sample data."),
) -> None:
    """Generate sample data and bill one month end to end."""
    from sample_exports.demo import cli_demo

    raise typer.Exit(cli_demo(State.home, customers, seed))


@app.command()
def serve(
    run_once: str | None = typer.Option(
        None, "--run-once", help="Trigger one job now instead of serving: 'bill' or 'refresh'."
    ),
) -> None:
    """Run the schedules: monthly billing 06:00 on the 1st, refresh 00:05 on Jan 1 (Denver)."""
    from support_billing.schedules import cli_serve

    raise typer.Exit(cli_serve(State.home, run_once))


@app.command()
def notebooks(
    port: int | None = typer.Option(None, "--port", help="JupyterLab's port (default: its own)."),
    no_browser: bool = typer.Option(False, "--no-browser", help="Do not open a browser."),
    print_command: bool = typer.Option(
        False, "--print-command", help="Print the command that would run, start nothing."
    ),
) -> None:
    """Open the analysts' notebooks in JupyterLab on this home (needs the analyst extra)."""
    from support_billing.reporting.analyst_tools import cli_notebooks

    raise typer.Exit(cli_notebooks(State.home, port, no_browser, print_command))


@app.command()
def docs() -> None:
    """Build dbt's documentation site for this home into HOME/reports/dbt-docs/."""
    from support_billing.reporting.analyst_tools import cli_docs

    raise typer.Exit(cli_docs(State.home))


@app.command()
def approve(
    period: str = typer.Option(
        ..., "--period", help="Month whose latest draft to finalize, YYYY-MM."
    ),
    yes: bool = typer.Option(
        False, "--yes", help="Approve a month that comes before the last finalized month."
    ),
) -> None:
    """Finalize the reviewed draft: bill the month only if it equals its latest draft (R17)."""
    from support_billing.billing.flow import cli_approve

    raise typer.Exit(cli_approve(State.home, period, yes))


@app.command()
def verify(
    path: Path = typer.Argument(
        ..., help="An export folder, e.g. exports/2026-05 (here, or under HOME)."),
) -> None:
    """Check an export folder against its manifest.json before importing it (section 5)."""
    from support_billing.exports.verify import cli_verify

    raise typer.Exit(cli_verify(path, State.home))


@app.command("settings")
def show_settings() -> None:
    """Print the settings in force and where each came from (section 8)."""
    from support_billing.settings import cli_settings

    raise typer.Exit(cli_settings(State.home))


@app.command()
def statement(
    customer: str = typer.Option(..., "--customer", help="The customer_id."),
    year: int = typer.Option(..., "--year", help="Calendar year; the year so far."),
    format: str = typer.Option("html", "--format", help="html, pdf or json."),
    output: str | None = typer.Option(
        None, "--output",
        help="File to write (default HOME/reports/statements/statement_<ID>_<YEAR>.<format>); "
        "'-' for stdout (html, json)."),
) -> None:
    """One customer's statement for the year so far (SPEC section 5)."""
    from support_billing.exports.statement_year import cli_statement

    raise typer.Exit(cli_statement(State.home, customer, year, format, output))


@app.command()
def rebuild() -> None:
    """A new warehouse from the inbox files and HOME/ledger/ (R19)."""
    from support_billing.rebuild import cli_rebuild

    raise typer.Exit(cli_rebuild(State.home))


def main() -> None:
    # Without PREFECT_API_URL every flow run starts Prefect's temporary server; on a busy
    # machine its default 20 s startup limit is too tight (seen here), so allow more.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    if "--debug" not in sys.argv[1:]:
        # Section 6: one line, not Prefect's console log of a failed task or flow run with
        # its traceback (the run log in the Prefect API keeps everything). Set before
        # Prefect configures its logging (prefect/logging/logging.yml, overridable by env).
        os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "CRITICAL")
        os.environ.setdefault("PREFECT_LOGGING_HANDLERS_DEBUG_LEVEL", "CRITICAL")
    try:
        app(standalone_mode=True)
    except SystemExit:
        raise
    except KeyboardInterrupt:
        typer.echo("error: interrupted", err=True)
        sys.exit(1)
    except Exception as exc:  # one clear line, the traceback in HOME/logs (section 6)
        from support_billing.console import failure_line, first_line

        if getattr(exc, "exit_code", None) == 2:  # a usage error (settings): no traceback
            typer.echo(f"error: {first_line(exc)}", err=True)
            sys.exit(2)
        typer.echo(f"error: {failure_line(_log_home(), _command(), exc)}", err=True)
        sys.exit(1)


def _command() -> str:
    names = {c.name or (c.callback.__name__ if c.callback else "") for c in
             getattr(app, "registered_commands", [])}
    return next((a for a in sys.argv[1:] if a in names), "support-billing")


def _log_home() -> Path | None:
    """The home the logs go to (None when it cannot be written: the line stands alone)."""
    home = State.home
    return home if home.is_dir() else None


def entry() -> None:
    """The ``support-billing`` command: ``main``, then a quick exit once the run's work is
    done and flushed (``fast_start.exit_now``). ``main`` itself raises ``SystemExit``, so
    it can be called within another Python program."""
    from support_billing.fast_start import exit_now

    try:
        main()
    except SystemExit as done:
        exit_now(done.code)
    exit_now(0)


if __name__ == "__main__":
    entry()
