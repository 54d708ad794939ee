"""Fixtures of the audit tests: a synthetic event catalogue and a consistent record stream."""

from __future__ import annotations

import pytest
from audit_synthetic import catalog, records

from pylender.audit.events import EventCatalog
from pylender.audit.records import Record


@pytest.fixture(scope="session")
def synthetic_catalog() -> EventCatalog:
    return catalog()


@pytest.fixture()
def synthetic_records(synthetic_catalog: EventCatalog) -> list[Record]:
    return records(cat=synthetic_catalog)
