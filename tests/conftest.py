"""Suite-wide settings. With TINYGRAD_EDU_REQUIRE_TORCH=1 (as CI sets it) the run stops
at once if PyTorch cannot be imported, instead of skipping every comparison with it.
With TINYGRAD_EDU_REQUIRE_BROWSER=1 (CI too) the browser tests of the stepper page fail
instead of skipping when Chromium, chromedriver or selenium is missing (see
tests/test_stepper_browser.py)."""

from __future__ import annotations

import importlib.util
import os

import pytest


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("TINYGRAD_EDU_REQUIRE_TORCH") == "1" and \
            importlib.util.find_spec("torch") is None:
        raise pytest.UsageError(
            "TINYGRAD_EDU_REQUIRE_TORCH=1 but PyTorch is not installed: the comparison "
            "tests would all be skipped. Install it (pip install torch==2.13.0) first.")
