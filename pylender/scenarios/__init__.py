"""Scripted runs on an embedded chain: ``schema`` (the YAML scenario files of ``pylender run``), ``runner`` (runs one
deterministically and reports the final state) and ``demo`` (a year of a co-lending portfolio, ``pylender demo``)."""
