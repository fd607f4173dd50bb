"""Staff tokens carry a version; AccountVersions caches the accounts' versions (auth.py)."""

from __future__ import annotations

import asyncio

import pytest

from signaling.auth import AccountVersions, Tokens
from signaling.engine.errors import Unavailable


class FakeAccounts:
    """What `Store.token_state` answers, with a switch that makes it fail, and a count of reads."""

    def __init__(self):
        self.states: dict[int, tuple[int, bool] | None] = {1: (0, False)}
        self.reads = 0
        self.down = False
        self.delay = 0.0

    async def read(self, account_id: int):
        self.reads += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.down:
            raise OSError("connection refused")
        return self.states.get(account_id)


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def accounts():
    return FakeAccounts()


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def tokens(accounts, clock):
    return Tokens("secret", 3600, AccountVersions(accounts.read, ttl_s=5, timeout_s=0.5, retry_s=2, clock=clock))


def token(tokens, version=0, role="specialist"):
    return tokens.issue({"id": 1, "role": role, "username": "demo", "token_version": version})


async def test_a_bumped_version_revokes_older_tokens(tokens, accounts, clock):
    old = token(tokens)
    assert (await tokens.check(old)).version == 0
    accounts.states[1] = (1, False)  # changed elsewhere (another node, the command line)
    assert await tokens.check(old) is not None  # cached for ttl_s
    clock.now += 5
    assert await tokens.check(old) is None
    assert (await tokens.check(token(tokens, 1))).version == 1


async def test_one_read_per_account_per_ttl(tokens, accounts, clock):
    t = token(tokens)
    for _ in range(50):
        assert await tokens.check(t) is not None
    assert accounts.reads == 1
    accounts.delay = 0.05
    clock.now += 6
    results = await asyncio.gather(*(tokens.check(t) for _ in range(20)))
    assert all(results) and accounts.reads == 2  # concurrent checks share one read


async def test_disabled_and_deleted_accounts_are_refused(tokens, accounts, clock):
    t = token(tokens)
    accounts.states[1] = (0, True)
    assert await tokens.check(t) is None
    accounts.states[1] = None
    clock.now += 6
    assert await tokens.check(t) is None


async def test_a_note_takes_effect_at_once_and_beats_a_read_in_flight(tokens, accounts):
    t = token(tokens)
    accounts.delay = 0.1
    pending = asyncio.ensure_future(tokens.check(t))  # reads (0, False) slowly
    await asyncio.sleep(0.02)
    tokens.versions.note(1, (1, False))  # this process revoked it meanwhile
    assert await pending is None  # the check ends after the revocation: it sees it
    assert await tokens.check(t) is None  # and the stale read did not overwrite the note


async def test_database_down_uses_the_last_value_and_refuses_unknown_accounts(tokens, accounts, clock):
    t = token(tokens)
    assert await tokens.check(t) is not None
    accounts.down = True
    clock.now += 6
    assert await tokens.check(t) is not None  # the last value read
    reads = accounts.reads
    for _ in range(10):
        assert await tokens.check(t) is not None
    assert accounts.reads == reads  # no read is tried again during retry_s: no wait added per request
    stranger = tokens.issue({"id": 2, "role": "admin", "username": "x"})
    with pytest.raises(Unavailable):
        await tokens.check(stranger)


async def test_slow_database_is_treated_as_down(tokens, accounts, clock):
    t = token(tokens)
    assert await tokens.check(t) is not None
    accounts.delay = 2  # more than timeout_s
    clock.now += 6
    assert await tokens.check(t) is not None


async def test_role_and_signature(tokens):
    admin = token(tokens, role="admin")
    assert await tokens.check(admin, role="specialist") is None
    assert (await tokens.check(admin, role="admin")).role == "admin"
    assert await tokens.check(admin + "x") is None
    assert await tokens.check(None) is None


def test_tokens_issued_before_versions_existed_are_version_0():
    from itsdangerous import URLSafeTimedSerializer

    legacy = URLSafeTimedSerializer("secret", salt="vw-staff").dumps({"id": 1, "role": "admin", "u": "admin"})
    assert Tokens("secret", 3600).verify(legacy).version == 0
