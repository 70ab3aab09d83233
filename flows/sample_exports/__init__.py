"""Sample exports for the demo, the tests and the benchmarks: a development tool, not part of
billing. ``generator`` writes seeded exports (through ``accounts``, ``tickets`` and ``hours``);
``demo`` bills one month of them."""
