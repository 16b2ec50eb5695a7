"""Shared fixtures. Fixtures that start real servers live in tests/fixtures/ per part."""

import pytest

pytest_plugins = [
    "tests.fixtures.servers",
    "tests.fixtures.smtp",
    "tests.fixtures.feeds",
    "tests.fixtures.radicale",
]


@pytest.fixture
def account(db):
    from tests.factory import make_account

    return make_account(handle="ada", name="Ada Host", email="ada@example.com", timezone="UTC")


@pytest.fixture
def token(account):
    from tests.factory import make_token

    return make_token(account)
