"""A failed dbt command is reported in one line that names its cause (section 6: one line
on stderr a person can act on), not only dbt's heading of the error."""

from support_billing.storage import dbt_runner

# dbt's message for a model whose SQL failed in the database (as a full disk gave it)
RUNTIME = ('Runtime Error in model invoice_lines (models/marts/invoice_lines.sql)\n'
           '  IO Error: Could not write file "HOME/warehouse.duckdb.tmp/x.tmp": '
           'No space left on device\n')


def test_the_cause_follows_dbts_heading():
    assert dbt_runner.failure_text(RUNTIME) == (
        "Runtime Error in model invoice_lines (models/marts/invoice_lines.sql): IO Error: "
        'Could not write file "HOME/warehouse.duckdb.tmp/x.tmp": No space left on device')
    assert dbt_runner.failure_text("Runtime Error\n  Catalog Error: no table t\n\n  LINE 3") \
        == "Runtime Error: Catalog Error: no table t"


def test_a_one_line_message_stays_as_it_is():
    assert dbt_runner.failure_text("Got 3 results, configured to fail if != 0") == \
        "Got 3 results, configured to fail if != 0"
    assert dbt_runner.failure_text("Compilation Error in model x (models/x.sql)") == \
        "Compilation Error in model x (models/x.sql)"
    assert dbt_runner.failure_text("\n  \n") == ""


def test_a_real_failed_command_names_its_cause(tmp_path):
    """A warehouse without the raw tables: dbt stops with a bare "Runtime Error" heading;
    the reported failure carries the database's own words."""
    res = dbt_runner.run_dbt(tmp_path, ["run", "--select", "stg_exports__customers"])
    assert not res.success
    assert any(f.startswith("Runtime Error: Catalog Error: Table with name")
               for f in res.failures), res.failures
