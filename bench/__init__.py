"""pylender benchmarks (``python -m bench``, ``make bench``): gas, throughput and audit speed.

Modules: :mod:`bench.chain` (the anvil, ledger and loan factories), :mod:`bench.fast` (setup
transactions at node speed, never measured), :mod:`bench.gas`, :mod:`bench.throughput`,
:mod:`bench.audit_speed` (the three sections), :mod:`bench.goals` (targets and verdicts),
:mod:`bench.report` (``report.md`` / ``report.json``). Reference contracts live in ``contracts/``.
"""
