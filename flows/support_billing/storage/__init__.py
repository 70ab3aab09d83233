"""Storage: the warehouse file, the dbt build that keeps its models current (R20) and the
ledger beside it (R19). Every stage reads and writes through these."""
