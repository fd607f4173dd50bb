"""Signed, expiring tokens: staff logins and callers' call tokens (for resume)."""

from __future__ import annotations

from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

ROLES = ("specialist", "admin")


@dataclass(frozen=True)
class Identity:
    account_id: int
    role: str
    username: str


class Tokens:
    def __init__(self, secret_key: str, ttl_s: int):
        self._staff = URLSafeTimedSerializer(secret_key, salt="vw-staff")
        self._call = URLSafeTimedSerializer(secret_key, salt="vw-call")
        self.ttl_s = ttl_s

    def issue(self, account: dict) -> str:
        return self._staff.dumps({"id": account["id"], "role": account["role"], "u": account["username"]})

    def verify(self, token: object, role: str | None = None) -> Identity | None:
        """The identity in a valid, unexpired token (of `role` if given), else None."""
        if not isinstance(token, str) or not token:
            return None
        try:
            data = self._staff.loads(token, max_age=self.ttl_s)
        except (BadSignature, SignatureExpired):
            return None
        ident = Identity(account_id=int(data["id"]), role=data["role"], username=data["u"])
        if role is not None and ident.role != role:
            return None
        return ident

    def call_token(self, call_id: str) -> str:
        return self._call.dumps(call_id)

    def verify_call_token(self, token: object) -> str | None:
        """The call id a caller may resume, or None. Valid for a day: a session never lasts longer."""
        if not isinstance(token, str) or not token:
            return None
        try:
            return self._call.loads(token, max_age=24 * 3600)
        except (BadSignature, SignatureExpired):
            return None
