"""`support-billing notebooks` and `support-billing docs`: one command each for the
analysts (SPEC section 1), so nobody sets paths or environment variables by hand.

- ``notebooks`` starts JupyterLab in the project's ``notebooks/`` folder with
  ``SUPPORT_BILLING_HOME`` set to the home, so every notebook reads that warehouse.
  ``--print-command`` shows what it would run, without starting anything.
- ``docs`` builds dbt's documentation site for the home's warehouse (``dbt docs generate``
  with the project's profiles dir and the home in the environment, as every build) and
  copies it to ``HOME/reports/dbt-docs/``: ``static_index.html`` is one file that opens
  from disk with no server and no network; ``index.html`` with ``manifest.json`` and
  ``catalog.json`` is the classic site for ``python -m http.server``.
"""

from __future__ import annotations

import importlib.util
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from support_billing.storage.dbt_parse import PROJECT_ROOT
from support_billing.storage.dbt_runner import run_dbt
from support_billing.storage.warehouse import warehouse_path

NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
DOCS_SUBDIR = Path("reports") / "dbt-docs"
DOCS_FILES = ("static_index.html", "index.html", "manifest.json", "catalog.json")
INSTALL_HINT = 'pip install -e ".[analyst]"'


def err(message: str) -> None:
    """One clear line on stderr (the CLI's error convention)."""
    print(f"error: {message}", file=sys.stderr)


def notebooks_command(home: Path, port: int | None, no_browser: bool) -> list[str]:
    """The JupyterLab command line (run with SUPPORT_BILLING_HOME=home)."""
    cmd = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={NOTEBOOKS_DIR}"]
    if port is not None:
        cmd.append(f"--ServerApp.port={int(port)}")
    if no_browser:
        cmd.append("--ServerApp.open_browser=False")
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # containers and CI run as root;
        cmd.append("--ServerApp.allow_root=True")  # Jupyter refuses root without this
    return cmd


def cli_notebooks(home: Path, port: int | None, no_browser: bool, print_command: bool) -> int:
    """Start JupyterLab on the notebooks with the home set; or print the command."""
    home = Path(home).resolve()
    cmd = notebooks_command(home, port, no_browser)
    shown = f"SUPPORT_BILLING_HOME={shlex.quote(str(home))} " + shlex.join(cmd)
    if print_command:
        print(shown)
        return 0
    if not NOTEBOOKS_DIR.is_dir():
        err(f"no notebooks folder at {NOTEBOOKS_DIR}: install the project from its checkout")
        return 1
    if importlib.util.find_spec("jupyterlab") is None:
        err(f"JupyterLab is not installed: run {INSTALL_HINT}")
        return 1
    if not warehouse_path(home).exists():
        print(f"note: no warehouse in {home} yet; run 'support-billing demo' or 'ingest' first")
    print(f"JupyterLab on {NOTEBOOKS_DIR}, home {home} (Ctrl-C to stop)", flush=True)
    env = {**os.environ, "SUPPORT_BILLING_HOME": str(home)}
    try:
        return subprocess.call(cmd, env=env, cwd=NOTEBOOKS_DIR)
    except KeyboardInterrupt:
        return 0


def cli_docs(home: Path) -> int:
    """dbt docs generate for the home's warehouse, copied to HOME/reports/dbt-docs/."""
    home = Path(home).resolve()
    if not warehouse_path(home).exists():
        err(f"no warehouse at {warehouse_path(home)}: run 'support-billing demo' or 'bill' first")
        return 1
    result = run_dbt(home, ["docs", "generate", "--static"])
    if not result.success:
        err("dbt docs generate failed: " + "; ".join(result.failures or ["see HOME/.dbt/logs"]))
        return 1
    target = home / ".dbt" / "target"
    out = home / DOCS_SUBDIR
    out.mkdir(parents=True, exist_ok=True)
    for name in DOCS_FILES:
        shutil.copyfile(target / name, out / name)
    print(out / "static_index.html")
    return 0
