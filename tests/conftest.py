"""Shared pytest configuration for the whole suite."""

from __future__ import annotations


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: compiles or runs a chain; part of `make test` all the same")
