"""The dbt project's files and their parse, reused so that a command does not parse again
what an earlier one parsed.

A home without a saved parse starts from the last one any home on this machine saved
(``parse_cache``): dbt checks it against the project's files, the profile and the dbt
version, and parses again whatever differs. A process that builds more than once parses
the project once (``parsed_project``).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[3]
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
# What a build's result depends on besides the data (dbt_runner.build compares the digest).
PROJECT_PARTS = ("dbt_project.yml", "profiles.yml", "models", "seeds", "macros", "tests")


def project_digest() -> str:
    digest = hashlib.sha256()
    for part in PROJECT_PARTS:
        root = DBT_PROJECT_DIR / part
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in files:
            digest.update(str(path.relative_to(DBT_PROJECT_DIR)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


PARSE_FILE = "partial_parse.msgpack"


def parse_cache() -> Path:
    """Where this machine keeps the last saved dbt parse of this very project (the user's
    cache folder; ``SUPPORT_BILLING_CACHE`` moves it). The file is named by the project's
    digest, so a home only starts from a parse of the same files: dbt never has to
    re-parse part of a project from another version's parse."""
    from platformdirs import user_cache_dir

    root = os.environ.get("SUPPORT_BILLING_CACHE") or user_cache_dir("support-billing")
    return Path(root) / "dbt" / f"partial_parse-{project_digest()[:16]}.msgpack"


def seed_parse(saved: Path) -> None:
    """A brand-new home starts from the machine's saved parse: a full parse of the project
    costs ~2.5 s, checking a saved one ~0.2 s. Best effort: without it dbt parses."""
    if saved.exists():
        return
    try:
        cached = parse_cache()
        if cached.exists():
            saved.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(cached, saved)
    except OSError:
        pass


def keep_parse(saved: Path) -> None:
    """Keep the home's saved parse as the machine's (written aside and renamed, so homes
    running at once never read half a file); other versions' parses are removed."""
    try:
        cached = parse_cache()
        if not saved.exists() or (cached.exists() and _same_file(saved, cached)):
            return
        cached.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cached.parent, prefix=".parse-")
        os.close(fd)
        shutil.copyfile(saved, tmp)
        os.replace(tmp, cached)
        for other in cached.parent.glob("partial_parse-*.msgpack"):
            if other != cached:
                other.unlink(missing_ok=True)
    except OSError:
        pass


def _same_file(a: Path, b: Path) -> bool:
    sa, sb = a.stat(), b.stat()
    return sa.st_size == sb.st_size and a.read_bytes() == b.read_bytes()


# A process that builds more than once (``serve``, a test session, billing month after month
# in one run) parses the project once: the billing build hands dbt the manifest this process
# parsed (dbt's programmatic "reusing objects": ``dbtRunner(manifest=...)``) instead of
# checking its saved parse again on every command (~1-2 s). Keyed by the project's digest, so
# changed project files are parsed again. Other commands (docs, the project's own tests)
# parse as usual and write their manifest.json.
_PARSED: dict[str, object] = {}


def parsed_project(flags: list[str], saved_parse: Path):
    """This process's parse of the project (None: the parse failed; the command then parses
    itself and reports what is wrong). Only a parse made here reads or keeps the saved one."""
    from dbt.cli.main import dbtRunner

    digest = project_digest()
    if digest not in _PARSED:
        seed_parse(saved_parse)
        # no manifest.json: the manifest is kept in this process (``_PARSED``); the saved
        # parse (partial_parse.msgpack) is written all the same
        res = dbtRunner().invoke(["parse", "--no-write-json", *flags])
        keep_parse(saved_parse)
        if not res.success or res.result is None:
            return None
        _PARSED.clear()
        _PARSED[digest] = res.result
    return _PARSED[digest]
