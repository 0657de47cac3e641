"""The budget study's runner and report (``experiments/budget/``, not a package), imported
with that folder on the path, as the study's scripts run them."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from types import ModuleType

import pytest

from tests.conftest import REPO

BUDGET = REPO / "experiments" / "budget"


def _budget_module(name: str) -> Iterator[ModuleType]:
    sys.path.insert(0, str(BUDGET))
    try:
        yield importlib.import_module(name)
    finally:
        sys.path.remove(str(BUDGET))


@pytest.fixture(scope="module")
def runner() -> Iterator[ModuleType]:
    yield from _budget_module("run")


@pytest.fixture(scope="module")
def report() -> Iterator[ModuleType]:
    yield from _budget_module("report")
