"""The names tests/api/test_error_map.py imports from here; the error tests are test_errors_*.py."""

from __future__ import annotations

from tests.api.http import GENERATE, VERIFY, VERIFY_BODY, assert_error, post, start

__all__ = ["GENERATE", "VERIFY", "VERIFY_BODY", "assert_error", "post", "start"]
