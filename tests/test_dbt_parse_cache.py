"""A brand-new home starts from the machine's saved dbt parse (storage/dbt_parse.py):
dbt checks it and parses only what differs; a damaged cache costs a full parse, never a
failed run."""

import json

import pytest
from helpers import empty_warehouse, run_customers_model
from support_billing.storage import dbt_parse, dbt_runner


def parse_log(home) -> str:
    return (home / ".dbt" / "logs" / "dbt.log").read_text()


def test_a_new_home_reuses_the_saved_parse(tmp_path, monkeypatch):
    monkeypatch.setenv("SUPPORT_BILLING_CACHE", str(tmp_path / "cache"))
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    assert dbt_runner.run_dbt(first, ["parse"]).success
    cached = dbt_parse.parse_cache()
    assert cached == (tmp_path / "cache" / "dbt"
                      / f"partial_parse-{dbt_parse.project_digest()[:16]}.msgpack")
    assert cached.read_bytes() == (first / ".dbt/target/partial_parse.msgpack").read_bytes()
    assert "Unable to do partial parsing" in parse_log(first)  # nothing saved yet

    assert dbt_runner.run_dbt(second, ["parse"]).success
    log = parse_log(second)
    assert "Unable to do partial parsing" not in log
    assert "Partial parsing enabled: 0 files deleted, 0 files added, 0 files changed" in log


@pytest.mark.slow
def test_a_damaged_cache_means_a_full_parse(tmp_path, monkeypatch):
    monkeypatch.setenv("SUPPORT_BILLING_CACHE", str(tmp_path / "cache"))
    cached = dbt_parse.parse_cache()
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"not a parse")
    home = tmp_path / "home"
    home.mkdir()
    assert dbt_runner.run_dbt(home, ["parse"]).success
    assert "Failed to load parsed file from disk" in parse_log(home)  # dbt parsed it all
    # the home's good parse replaces the damaged one
    assert cached.read_bytes() == (home / ".dbt/target/partial_parse.msgpack").read_bytes()


def test_a_parse_of_other_project_files_is_not_used(tmp_path, monkeypatch):
    """The cache is named by the project's digest: a parse saved by another version of the
    project is neither copied into a new home nor kept beside the current one."""
    monkeypatch.setenv("SUPPORT_BILLING_CACHE", str(tmp_path / "cache"))
    other = tmp_path / "cache" / "dbt" / "partial_parse-0123456789abcdef.msgpack"
    other.parent.mkdir(parents=True)
    other.write_bytes(b"another version's parse")
    home = tmp_path / "home"
    home.mkdir()
    saved = home / ".dbt" / "target" / "partial_parse.msgpack"
    dbt_parse.seed_parse(saved)
    assert not saved.exists()
    saved.parent.mkdir(parents=True)
    saved.write_bytes(b"this version's parse")
    dbt_parse.keep_parse(saved)
    assert sorted(p.name for p in other.parent.iterdir()) == [dbt_parse.parse_cache().name]
    assert dbt_parse.parse_cache().read_bytes() == b"this version's parse"


def run_customers(home):
    return run_customers_model(home, reuse_parse=True)


def test_a_process_parses_the_project_once(tmp_path, monkeypatch):
    """The billing build hands dbt this process's parse: a second home builds with no
    parse at all; changed project files (another digest) are parsed again."""
    monkeypatch.setenv("SUPPORT_BILLING_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(dbt_parse, "_PARSED", {})
    first = empty_warehouse(tmp_path / "a")
    second = empty_warehouse(tmp_path / "b")
    assert run_customers(first).success
    assert "partial parsing" in parse_log(first).lower()  # dbt checked or made a parse
    assert run_customers(second).success
    log = parse_log(second)
    assert "partial parsing" not in log.lower()
    assert "OK created sql view model main.stg_exports__customers" in log

    monkeypatch.setattr(dbt_parse, "project_digest", lambda: "other project files")
    third = empty_warehouse(tmp_path / "c")
    assert run_customers(third).success
    assert "partial parsing" in parse_log(third).lower()


def test_a_command_on_the_process_parse_writes_run_results_only(tmp_path, monkeypatch):
    """Handed this process's parse, a command writes run_results.json (what ran, read by the
    benchmark) and the saved parse, and no manifest.json: serialising the manifest again
    would only repeat what the parse described."""
    monkeypatch.setenv("SUPPORT_BILLING_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(dbt_parse, "_PARSED", {})
    home = empty_warehouse(tmp_path / "a")
    assert run_customers(home).success
    target = home / ".dbt" / "target"
    ran = json.loads((target / "run_results.json").read_text())["results"]
    assert [(r["unique_id"], r["status"]) for r in ran] == [
        ("model.support_billing.stg_exports__customers", "success"),
        ("operation.support_billing.support_billing-on-run-end-0", "success")]
    assert (target / "partial_parse.msgpack").exists()
    assert not (target / "manifest.json").exists()
