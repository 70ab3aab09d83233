"""The export files rendered in DuckDB SQL (SPEC section 5, R2, R14): one implementation
for both entry points of ``exporters.py`` (the warehouse's ``main.*`` tables of a period,
or plain rows loaded into an in-memory DuckDB with the same shapes).

Every file's fields come out of SQL already formatted as text; ``exporters.py`` only turns
them into CSV bytes. Money is DECIMAL all the way (never DOUBLE): a DECIMAL cast to
varchar gives exactly 2 decimals (``10.00``, ``-500.00``) and, being a scaled integer, has
no ``-0.00``; ``round()`` on a DECIMAL rounds halves away from zero, which is Python's
ROUND_HALF_UP (R2).
"""

from __future__ import annotations

from dataclasses import dataclass

WHOLE_QUANTITY_SQL = (
    "'support_subscription', 'additional_incident_subscription', "
    "'additional_incident_upfront', 'prior_period_adjustment'"
)


# ---------------------------------------------------------------- formatting fragments
def money(expr: str) -> str:
    """Exactly 2 decimals, half up (R2); NULL is ``0.00`` as before."""
    return f"cast(cast(coalesce({expr}, 0) as decimal(38, 2)) as varchar)"


def dated(expr: str, system: str) -> str:
    """A date in the accounting system's format from the settings (section 8):
    ``$quickbooks_date`` / ``$xero_date`` are strftime patterns."""
    return f"strftime({expr}, ${system}_date)"


# Incidents (and adjustments) as whole numbers, hours with 2 decimals (section 5); a
# fractional incident quantity is an error, not a rounding.
QUANTITY_TEXT = f"""
    case
        when line_type in ({WHOLE_QUANTITY_SQL}) then
            case
                when coalesce(quantity, 0) = trunc(coalesce(quantity, 0))
                    then cast(cast(coalesce(quantity, 0) as bigint) as varchar)
                else error(line_type || ' quantity ' || cast(quantity as varchar)
                           || ' is not a whole number')
            end
        else {money('quantity')}
    end"""


# ---------------------------------------------------------------- where the rows come from
@dataclass(frozen=True)
class Source:
    """The month's documents, lines and prepaid deductions as three SELECTs."""

    invoices: str
    lines: str
    deductions: str
    params: dict


def warehouse_source(period: str) -> Source:
    """The built models of one period (R14)."""
    return Source(
        invoices="select * from main.invoices where period = $period",
        lines="select * from main.invoice_lines where period = $period",
        deductions="select * from main.prepaid_deductions where period = $period",
        params={"period": period},
    )


# Plain rows loaded by ``exporters.load_rows`` into an in-memory database: every row given
# is exported (no period filter), as the dict entry points always did.
ROWS_SOURCE = Source(
    invoices="select * from export_invoices",
    lines="select * from export_invoice_lines",
    deductions="select * from export_prepaid_deductions",
    params={},
)

# The shapes of main.invoices, main.invoice_lines and main.prepaid_deductions.
ROW_TABLES = {
    "export_invoices": (
        ("period", "varchar"), ("invoice_number", "varchar"), ("document_type", "varchar"),
        ("customer_id", "varchar"), ("customer_name", "varchar"),
        ("accounting_ref", "varchar"), ("email", "varchar"), ("invoice_date", "date"),
        ("due_date", "date"), ("currency", "varchar"), ("total", "decimal(18, 2)"),
        ("line_count", "integer"),
    ),
    "export_invoice_lines": (
        ("period", "varchar"), ("invoice_number", "varchar"), ("document_type", "varchar"),
        ("customer_id", "varchar"), ("line_number", "integer"), ("line_type", "varchar"),
        ("description", "varchar"), ("quantity", "decimal(18, 2)"),
        ("unit_price", "decimal(18, 2)"), ("amount", "decimal(18, 2)"),
        ("source_ref", "varchar"), ("rule", "varchar"), ("adjusts_period", "varchar"),
        ("adjusts_line_type", "varchar"),
    ),
    "export_prepaid_deductions": (
        ("period", "varchar"), ("customer_id", "varchar"), ("block_id", "varchar"),
        ("hours_taken", "decimal(18, 2)"), ("hours_left", "decimal(18, 2)"),
        ("invoice_number", "varchar"),
    ),
}


# ---------------------------------------------------------------- the month, prepared
def export_prelude(source: Source) -> str:
    """CTEs shared by the files and the manifest. Parameters: the source's, plus
    ``$item_types``/``$item_names`` (QuickBooks items), ``$xero_item_names`` (Xero item
    codes, same order), ``$account_code``, ``$tax_type`` (Xero), ``$qbo_tax_type``,
    ``$terms_label`` and the date patterns (``exporters._config_params``)."""
    return f"""
with month_invoices as ({source.invoices}),
month_lines as ({source.lines}),
-- section 5 order: invoices before credit notes, then by number
docs as (
    select *,
           case when document_type = 'invoice' then 0 else 1 end as doc_rank,
           coalesce(nullif(currency, ''), 'USD') as currency_text
    from month_invoices
),
lines as (
    select *, {QUANTITY_TEXT} as quantity_text
    from month_lines
),
-- one accounting-system line per non-zero line of a document (section 5: zero-amount
-- lines are left out of the accounting files)
accounting as (
    select d.document_type, d.invoice_number, d.accounting_ref, d.email, d.period,
           d.invoice_date, d.due_date, d.currency_text, l.line_number,
           coalesce(list_element(cast($item_names as varchar[]),
                                 list_position(cast($item_types as varchar[]), l.line_type)),
                    l.line_type) as item,
           coalesce(list_element(cast($xero_item_names as varchar[]),
                                 list_position(cast($item_types as varchar[]), l.line_type)),
                    '') as xero_item,
           -- the period the line bills: an R15 adjustment's own month, else the invoice's
           -- (QuickBooks service date, section 8)
           coalesce(last_day(try_strptime(l.adjusts_period || '-01', '%Y-%m-%d')),
                    d.invoice_date) as service_date,
           'Support ' || d.period as period_label,
           coalesce(l.description, '') as description,
           l.quantity_text,
           coalesce(l.unit_price, 0) as unit_price,
           coalesce(l.amount, 0) as amount,
           cast(coalesce(l.quantity, 0) as decimal(38, 2)) * coalesce(l.unit_price, 0)
               as full_month
    from docs as d
    inner join lines as l on l.invoice_number = d.invoice_number
    where coalesce(l.amount, 0) <> 0
),
-- section 5 (R7): where amount <> quantity x unit price (a prorated month), the line is
-- quantity 1 at unit price = amount, the full-month figure (rounded half up, R2) and the
-- billed amount in its description
accounting_lines as (
    select *,
           case when full_month = amount then description
                else description || ' (prorated: ' || quantity_text || ' x '
                     || {money('unit_price')} || ' = ' || {money('round(full_month, 2)')}
                     || ' for the full month; billed ' || {money('amount')} || ')'
           end as item_description,
           case when full_month = amount then quantity_text else '1' end as item_quantity,
           case when full_month = amount then unit_price else amount end as rate,
           $account_code as account_code,
           $tax_type as tax_type
    from accounting
)"""


@dataclass(frozen=True)
class FileSql:
    """One file: a SELECT over the prelude's CTEs whose columns are named as the file's
    header (plus sort columns), and the order of its rows. ``group``: the column whose
    rows stay together when the file is split into parts (a document's lines, section 5).
    ``system``: the accounting system whose setting switches the file on (section 8)."""

    name: str
    select: str
    order_by: str
    group: str | None = None
    system: str | None = None


INVOICES_CSV = FileSql("invoices.csv", f"""
    select invoice_number, document_type, customer_id, customer_name, accounting_ref, period,
           cast(invoice_date as varchar) as invoice_date,
           cast(due_date as varchar) as due_date,
           currency_text as currency,
           {money('total')} as total,
           cast(line_count as varchar) as line_count,
           doc_rank
    from docs""", "doc_rank, invoice_number")

# Every line, in its document's order; lines without a document come last (by number).
INVOICE_LINES_CSV = FileSql("invoice_lines.csv", f"""
    select l.invoice_number, cast(l.line_number as varchar) as line_number, l.customer_id,
           l.line_type, l.description, l.quantity_text as quantity,
           {money('l.unit_price')} as unit_price, {money('l.amount')} as amount,
           l.source_ref, l.rule,
           coalesce(d.doc_rank, 2) as doc_rank, l.line_number as line_order
    from lines as l
    left join (select invoice_number, max(doc_rank) as doc_rank
               from docs group by invoice_number) as d
        on d.invoice_number = l.invoice_number""", "doc_rank, invoice_number, line_order")

QUICKBOOKS_INVOICES_CSV = FileSql("quickbooks_invoices.csv", f"""
    select invoice_number as "InvoiceNo", accounting_ref as "Customer",
           {dated('invoice_date', 'quickbooks')} as "InvoiceDate",
           {dated('due_date', 'quickbooks')} as "DueDate",
           replace($terms_label, '{{days}}', cast(due_date - invoice_date as varchar))
               as "Terms",
           period_label as "Memo",
           item as "Item(Product/Service)", item_description as "ItemDescription",
           item_quantity as "ItemQuantity", {money('rate')} as "ItemRate",
           {money('amount')} as "ItemAmount", $qbo_tax_type as "ItemTaxCode",
           {dated('service_date', 'quickbooks')} as "ServiceDate",
           line_number as line_order
    from accounting_lines
    where document_type = 'invoice'""", '"InvoiceNo", line_order', '"InvoiceNo"', "quickbooks")

# QuickBooks Online (US) imports no credit memos from a file (docs/accounting.md): this is
# the sheet finance enters them from by hand, in the form's own terms (positive amounts).
QUICKBOOKS_CREDIT_MEMOS_CSV = FileSql("quickbooks_credit_memos.csv", f"""
    select invoice_number as "CreditMemoNo", accounting_ref as "Customer",
           {dated('invoice_date', 'quickbooks')} as "CreditMemoDate",
           period_label as "Memo",
           item as "Item(Product/Service)", item_description as "ItemDescription",
           item_quantity as "ItemQuantity", {money('-rate')} as "ItemRate",
           {money('-amount')} as "ItemAmount", $qbo_tax_type as "ItemTaxCode",
           {dated('service_date', 'quickbooks')} as "ServiceDate",
           line_number as line_order
    from accounting_lines
    where document_type = 'credit_note'""", '"CreditMemoNo", line_order', '"CreditMemoNo"',
    "quickbooks")

# Xero's sales invoice template; the period in Reference (section 8).
XERO_INVOICE_SELECT = f"""
    select accounting_ref as "ContactName", email as "EmailAddress",
           invoice_number as "InvoiceNumber", period_label as "Reference",
           {dated('invoice_date', 'xero')} as "InvoiceDate",
           {dated('due_date', 'xero')} as "DueDate",
           xero_item as "InventoryItemCode",
           item_description as "Description", item_quantity as "Quantity",
           {money('rate')} as "UnitAmount", account_code as "AccountCode",
           tax_type as "TaxType", currency_text as "Currency",
           line_number as line_order
    from accounting_lines"""

XERO_INVOICES_CSV = FileSql(
    "xero_invoices.csv", XERO_INVOICE_SELECT + "\n    where document_type = 'invoice'",
    '"InvoiceNumber", line_order', '"InvoiceNumber"', "xero")

# Credit notes in the same template with the document's own (negative) total: Xero's
# sales import makes a document whose total is negative a credit note.
XERO_CREDIT_NOTES_CSV = FileSql(
    "xero_credit_notes.csv", XERO_INVOICE_SELECT + "\n    where document_type = 'credit_note'",
    '"InvoiceNumber", line_order', '"InvoiceNumber"', "xero")

EXPORT_FILES_SQL = (
    INVOICES_CSV, INVOICE_LINES_CSV, QUICKBOOKS_INVOICES_CSV, QUICKBOOKS_CREDIT_MEMOS_CSV,
    XERO_INVOICES_CSV, XERO_CREDIT_NOTES_CSV,
)

# The manifest's counts, first/last numbers and totals (section 5), on DECIMAL.
MANIFEST_SELECT = f"""
    select
        count(*) filter (where document_type = 'invoice') as invoice_count,
        count(*) filter (where document_type is distinct from 'invoice')
            as credit_note_count,
        count(*) as document_count,
        min(invoice_number) filter (where document_type = 'invoice')
            as first_invoice_number,
        max(invoice_number) filter (where document_type = 'invoice') as last_invoice_number,
        min(invoice_number) filter (where document_type is distinct from 'invoice')
            as first_credit_note_number,
        max(invoice_number) filter (where document_type is distinct from 'invoice')
            as last_credit_note_number,
        {money('sum(total)')} as grand_total,
        {money("sum(total) filter (where document_type = 'invoice')")} as invoiced_total,
        {money("-sum(total) filter (where document_type is distinct from 'invoice')")}
            as credited_total
    from month_invoices"""


def prepaid_prelude(source: Source) -> str:
    return f"\nwith month_deductions as ({source.deductions})"


# reports/prepaid_YYYY-MM.csv (R14): every block deduction, blank invoice number where no
# invoice was issued.
PREPAID_CSV = FileSql("prepaid", f"""
    select period, customer_id, block_id, {money('hours_taken')} as hours_taken,
           {money('hours_left')} as hours_left, invoice_number
    from month_deductions""", "customer_id, block_id, hours_taken, hours_left, invoice_number")


# ---------------------------------------------------------------- rows ready for csv
def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def csv_field(expr: str) -> str:
    """One field as RFC 4180 writes it (section 5): quoted, its quotes doubled, when it
    holds a comma, a quote, CR or LF; NULL empty. A lone CR is quoted too (Python's
    csv.writer with a ``\\n`` terminator would not quote it)."""
    return (f"case when {expr} is null then '' "
            f"when contains({expr}, ',') or contains({expr}, '\"') "
            f"or contains({expr}, chr(10)) or contains({expr}, chr(13)) "
            f"then '\"' || replace({expr}, '\"', '\"\"') || '\"' else {expr} end")


def rendered_rows_sql(prelude: str, file: FileSql, header: list[str]) -> str:
    """The file's rows in order, each as ``(line, group)``: ``line`` the CSV record with
    its ``\\n`` (RFC 4180 quoting done here, the one place that decides it), ``group``
    the value of the file's ``group`` column (NULL when it has none)."""
    cols = [_ident(h) for h in header]
    quoted = ", ',', ".join(csv_field(c) for c in cols)
    plain = ", ',', ".join(cols)  # concat() writes NULL as empty, as csv_field does
    group = file.group or "null"
    # Most rows hold no character that needs quoting: one test over the whole row spares
    # them the per-field CASE (the same bytes either way).
    return f"""{prelude},
file_rows as ({file.select}
),
checked as (
    select *, concat({", ".join(cols)}) as _all_text
    from file_rows
)
select case
           when contains(_all_text, ',') or contains(_all_text, '"')
                or contains(_all_text, chr(10)) or contains(_all_text, chr(13))
               then concat({quoted}, chr(10))
           else concat({plain}, chr(10))
       end as line,
       cast({group} as varchar) as part_group
from checked
order by {file.order_by}"""


def csv_line(fields: list[str]) -> str:
    """A record of plain Python strings quoted as ``csv_field`` quotes in SQL (the
    headers): the same RFC 4180 rule."""
    def one(value: str) -> str:
        if any(c in value for c in ',"\n\r'):
            return '"' + value.replace('"', '""') + '"'
        return value

    return ",".join(one(f) for f in fields) + "\n"
