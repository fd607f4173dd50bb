"""Login throttling per account and per client address, and the bound on argon2 hashes at once."""

from __future__ import annotations

import asyncio
import threading

import aiohttp
import pytest

from signaling.store import store as store_module


async def login(http, server, username, password, headers=None):
    async with http.post(f"{server.url}/api/login", json={"username": username, "password": password},
                         headers=headers or {}) as r:
        body = await r.json()
        return r.status, body.get("error", {}).get("code"), r.headers.get("Retry-After")


async def test_an_account_is_locked_after_five_failures_even_for_the_right_password(server):
    async with aiohttp.ClientSession() as http:
        for _ in range(5):
            assert (await login(http, server, "admin", "wrong"))[:2] == (401, "invalid_credentials")
        status, code, retry = await login(http, server, "admin", "admin123")
        assert (status, code) == (429, "too_many_requests") and 1 <= int(retry) <= 60
        assert (await login(http, server, "demo", "demo123"))[0] == 200  # another account, same address


async def test_a_success_clears_the_accounts_failures(server):
    async with aiohttp.ClientSession() as http:
        for _ in range(4):
            assert (await login(http, server, "demo", "wrong"))[0] == 401
        assert (await login(http, server, "demo", "demo123"))[0] == 200
        for _ in range(4):
            assert (await login(http, server, "demo", "wrong"))[0] == 401
        assert (await login(http, server, "demo", "demo123"))[0] == 200


@pytest.mark.parametrize("server", [{"login_address_limits": "6/minute", "trusted_proxies": ["127.0.0.1"]}],
                         indirect=True)
async def test_an_address_is_limited_across_accounts_and_proxies_are_believed(server):
    async with aiohttp.ClientSession() as http:
        behind = {"X-Forwarded-For": "203.0.113.7"}
        for _ in range(8):  # successes do not count: an office behind one NAT signs in at 9:00
            assert (await login(http, server, "demo", "demo123", behind))[0] == 200
        for name in ("a", "b", "c", "d", "e", "f"):
            assert (await login(http, server, name, "wrong", behind))[0] == 401
        status, code, retry = await login(http, server, "demo", "demo123", behind)
        assert (status, code) == (429, "too_many_requests") and retry
        # Another client behind the same proxy is not affected; a spoofed hop before the proxy's is ignored.
        assert (await login(http, server, "demo", "demo123", {"X-Forwarded-For": "203.0.113.7, 198.51.100.2"}))[0] == 200


async def test_concurrent_guesses_hash_at_most_the_limit(server, monkeypatch):
    """40 guesses at once for one account: at most 5 are checked (each an argon2 hash; at most 8 run
    at once per address), the rest refused at once; never more than HASH_CONCURRENCY hashes at a time."""
    running, peak, lock = 0, 0, threading.Lock()
    real = store_module._verify

    def counting(password_hash, password):
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        try:
            return real(password_hash, password)
        finally:
            with lock:
                running -= 1

    monkeypatch.setattr(store_module, "_verify", counting)
    async with aiohttp.ClientSession() as http:
        results = await asyncio.gather(*(login(http, server, "admin", f"guess-{i}") for i in range(40)))
    statuses = sorted(r[0] for r in results)
    assert 1 <= statuses.count(401) <= 5 and statuses.count(401) + statuses.count(429) == 40
    assert 1 <= peak <= store_module.HASH_CONCURRENCY
    async with aiohttp.ClientSession() as http:  # other logins are still served
        assert (await login(http, server, "demo", "demo123"))[0] == 200
