"""Settings (SPEC section 8): optional HOME/settings.toml, documented defaults, unknown key
or bad value a usage error (exit 2) naming the key, environment variables override."""

from __future__ import annotations

import pytest
from support_billing.cli import app
from support_billing.settings import (
    Settings,
    SettingsError,
    load_settings,
    load_with_sources,
    rows_in_force,
)
from typer.testing import CliRunner

NO_ENV: dict[str, str] = {}


def write(home, text: str):
    (home / "settings.toml").write_text(text, encoding="utf-8")
    return home


def test_defaults_without_a_file(tmp_path):
    s = load_settings(tmp_path, NO_ENV)
    assert s == Settings()
    assert (s.company.country, s.company.currency) == ("US", "USD")
    assert s.billing.approval == "required"
    assert (s.quickbooks.enabled, s.quickbooks.date_format, s.quickbooks.max_invoices_per_file,
            s.quickbooks.max_rows_per_file) == (True, "MM/DD/YYYY", 100, 999)
    assert (s.xero.enabled, s.xero.date_format, s.xero.account_code, s.xero.tax_type,
            s.xero.max_invoices_per_file) == (True, "MM/DD/YYYY", "400", "Tax Exempt", 500)
    assert s.quickbooks.items.training_hours == "Training hours"
    assert s.xero.items.training_hours == ""
    assert {src for _, _, src in rows_in_force(tmp_path, NO_ENV)} == {"default"}


def test_file_then_environment_with_sources(tmp_path):
    write(tmp_path, '[billing]\napproval = "auto"\n[xero]\ndate_format = "DD/MM/YYYY"\n'
                    'max_invoices_per_file = 250\n')
    env = {"SUPPORT_BILLING_XERO__DATE_FORMAT": "YYYY-MM-DD", "SUPPORT_BILLING_HOME": "/x",
           "SUPPORT_BILLING_QUICKBOOKS__ITEMS__TRAINING_HOURS": "Training",
           "support_billing_quickbooks__enabled": "false"}
    s, sources = load_with_sources(tmp_path, env)
    assert (s.billing.approval, s.xero.date_format, s.xero.max_invoices_per_file) == (
        "auto", "YYYY-MM-DD", 250)
    assert (s.quickbooks.items.training_hours, s.quickbooks.enabled) == ("Training", False)
    rows = {k: (v, src) for k, v, src in rows_in_force(tmp_path, env)}
    assert rows["billing.approval"] == ('"auto"', "settings.toml")
    assert rows["xero.date_format"] == ('"YYYY-MM-DD"', "env SUPPORT_BILLING_XERO__DATE_FORMAT")
    assert rows["xero.max_invoices_per_file"] == ("250", "settings.toml")
    assert rows["quickbooks.enabled"] == ("false", "env support_billing_quickbooks__enabled")
    assert rows["company.country"] == ('"US"', "default")


def test_legacy_variables_and_the_new_form_wins():
    env = {"SUPPORT_BILLING_XERO_ACCOUNT_CODE": "4100",
           "SUPPORT_BILLING_XERO_TAX_TYPE": "No VAT",
           "SUPPORT_BILLING_XERO__TAX_TYPE": "Tax on Sales"}
    s = load_settings("/nonexistent-home", env)
    assert (s.xero.account_code, s.xero.tax_type) == ("4100", "Tax on Sales")


@pytest.mark.parametrize(("text", "env", "message"), [
    ('[xero]\ndate_format = "31/12/2026"\n', NO_ENV,
     "settings.toml: xero.date_format: Input should be 'MM/DD/YYYY', 'DD/MM/YYYY' or "
     "'YYYY-MM-DD'"),
    ("[xero]\ncolour = 1\n", NO_ENV, "settings.toml: xero.colour: unknown key"),
    ("[accounting]\nx = 1\n", NO_ENV, "settings.toml: accounting: unknown key"),
    ('[billing]\napproval = "maybe"\n', NO_ENV,
     "settings.toml: billing.approval: Input should be 'required' or 'auto'"),
    ("[quickbooks]\nmax_invoices_per_file = 101\n", NO_ENV,
     "settings.toml: quickbooks.max_invoices_per_file: Input should be less than or equal "
     "to 100"),
    ('[quickbooks.items]\ntraining_hours = "=HYPERLINK(1)"\n', NO_ENV,
     "settings.toml: quickbooks.items.training_hours: begins with '=', which a spreadsheet "
     "runs as a formula"),
    ('[billing]\npayment_terms_label = "Net {n}"\n', NO_ENV,
     "settings.toml: billing.payment_terms_label: may hold no braces other than the "
     "placeholder {days}"),
    ('[company]\ncountry = "usa"\n', NO_ENV,
     "settings.toml: company.country: String should match pattern '^[A-Z]{2}$'"),
    ("", {"SUPPORT_BILLING_BILLING__APPROVAL": "sometimes"},
     "SUPPORT_BILLING_BILLING__APPROVAL: billing.approval: Input should be 'required' or "
     "'auto'"),
    ("", {"SUPPORT_BILLING_XERO__NOPE": "1"}, "SUPPORT_BILLING_XERO__NOPE: xero.nope: unknown key"),
    ("[xero\n", NO_ENV, "settings.toml: not valid TOML"),
])
def test_bad_settings_name_the_key(tmp_path, text, env, message):
    write(tmp_path, text)
    with pytest.raises(SettingsError) as err:
        load_settings(tmp_path, env)
    assert str(err.value).startswith(message)


def test_cli_settings_prints_sources_and_exits_2_on_a_bad_key(tmp_path, monkeypatch):
    for name in ("SUPPORT_BILLING_XERO_ACCOUNT_CODE", "SUPPORT_BILLING_XERO_TAX_TYPE"):
        monkeypatch.delenv(name, raising=False)
    write(tmp_path, '[xero]\naccount_code = "200"\n')
    monkeypatch.setenv("SUPPORT_BILLING_BILLING__APPROVAL", "auto")
    result = CliRunner().invoke(app, ["--home", str(tmp_path), "settings"])
    assert result.exit_code == 0, result.output
    lines = {line.split(" = ")[0].strip(): line for line in result.output.splitlines()}
    assert ' = "200" ' in lines["xero.account_code"]
    assert lines["xero.account_code"].endswith("# settings.toml")
    assert lines["billing.approval"].endswith("# env SUPPORT_BILLING_BILLING__APPROVAL")
    assert lines["company.currency"].endswith("# default")
    write(tmp_path, "[xero]\nfoo = 1\n")
    result = CliRunner().invoke(app, ["--home", str(tmp_path), "settings"])
    assert result.exit_code == 2
    assert "settings.toml: xero.foo: unknown key" in result.output


def test_bill_refuses_bad_settings_with_exit_2(tmp_path):
    write(tmp_path, '[xero]\ndate_format = "MM-DD-YY"\n')
    result = CliRunner().invoke(app, ["--home", str(tmp_path), "bill", "--period", "2026-05"])
    assert result.exit_code == 2
    assert "settings.toml: xero.date_format" in result.output


def test_a_command_that_lets_a_settings_error_through_exits_2(monkeypatch, capsys):
    """cli.main turns a SettingsError raised by any command into exit 2 (section 8)."""
    from support_billing import cli
    def boom(*_args, **_kwargs):
        raise SettingsError("settings.toml: xero.foo: unknown key")

    monkeypatch.setattr(cli, "app", boom)
    with pytest.raises(SystemExit) as exit_:
        cli.main()
    assert exit_.value.code == 2
    assert capsys.readouterr().err == "error: settings.toml: xero.foo: unknown key\n"
