"""A short schemathesis run: every operation of /api/openapi.json against the real server, without
credentials and with an administrator's token. Each answer must fit the document (status, content
type, headers, body) and nothing may be a server error; data outside the schema must be refused."""

from __future__ import annotations

import asyncio

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi import checks

# A bounded number of examples per operation and mode: the whole run takes about 30 s on a quiet
# machine. (A longer, random run: EXAMPLES = 40 and derandomize=False.)
EXAMPLES = 4
CHECKS = [checks.status_code_conformance, checks.content_type_conformance, checks.response_headers_conformance,
          checks.response_schema_conformance]
# Logging out with the token would revoke it for the rest of the run (it is tested in test_roles.py).
SKIP_WITH_TOKEN = {("POST", "/api/logout")}


def _fuzz(url: str, token: str | None) -> list[str]:
    schema = schemathesis.openapi.from_url(f"{url}/api/openapi.json")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if token and (operation.method.upper(), operation.path) in SKIP_WITH_TOKEN:
            continue
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            extra = [checks.negative_data_rejection] if mode is GenerationMode.NEGATIVE else []

            # The token is part of what is generated, fixed: a negative case then never differs from a
            # valid one only by a header the call would replace.
            @given(case=operation.as_strategy(generation_mode=mode, headers=headers or None))
            @settings(max_examples=EXAMPLES, deadline=None, database=None, phases=[Phase.generate],
                      suppress_health_check=list(HealthCheck), derandomize=True)
            def run(case):
                response = case.call(timeout=30)
                assert response.status_code < 500, f"{response.status_code}: {response.text[:300]}"
                case.validate_response(response, checks=[*CHECKS, *extra])

            try:
                run()
            except Unsatisfiable:  # nothing to make invalid (no parameters, no body)
                pass
            except (Exception, BaseExceptionGroup) as exc:  # schemathesis' FailureGroup; reported together below
                failures.append(f"{operation.method.upper()} {operation.path} ({mode.value}): {str(exc)[:1500]}")
    return failures


async def test_openapi_document_matches_the_server(server):
    admin = await server.token("admin", "admin123")
    failures = await asyncio.to_thread(_fuzz, server.url, None)
    failures += await asyncio.to_thread(_fuzz, server.url, admin)
    assert failures == [], "\n\n".join(failures)
