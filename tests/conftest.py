"""Shared fixtures. Fixtures that start real servers live in tests/fixtures/ per part."""

import pytest

pytest_plugins = [
    "tests.fixtures.servers",
    "tests.fixtures.smtp",
    "tests.fixtures.feeds",
    "tests.fixtures.radicale",
    "tests.fixtures.webhooks",
]


@pytest.fixture
def account(db):
    from tests.factory import make_account

    return make_account(handle="ada", name="Ada Host", email="ada@example.com", timezone="UTC")


@pytest.fixture
def token(account):
    from tests.factory import make_token

    return make_token(account)


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with an empty cache: rate-limit counters and cached busy copies must
    not leak between tests, nor between runs when the cache is a shared Redis."""
    from django.core.cache import cache

    from scheduler.calendars import builtin

    cache.clear()
    builtin.forget_recent()  # this process's copies too: tests reuse ids and frozen clocks
    yield
