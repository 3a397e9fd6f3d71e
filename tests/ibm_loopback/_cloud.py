"""The IBM Cloud calls the runtime client makes besides the runtime API.

* IAM (``IAM_URL``): ``POST /identity/token`` exchanges the API key for a
  bearer token; the client decodes the token only to read its times.
* Global Search (``GLOBAL_SEARCH_URL``): ``POST /v3/resources/search`` lists
  the account's instances, to check the one given.
* Global Catalog (``GLOBAL_CATALOG_URL``): ``GET /{plan id}`` names the plan.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qs

from ._replies import Reply, error

PLAN_ID = "loopback-open-plan"
TOKEN_LIFETIME = 3600


def _jwt(lifetime: int) -> str:
    """Return an unsigned access token shaped as IAM's."""

    def part(data: dict[str, Any]) -> str:
        raw = json.dumps(data, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    issued = int(time.time())
    header = {"alg": "RS256", "typ": "JWT"}
    claims = {"iat": issued, "exp": issued + lifetime, "sub": "loopback-user"}
    return f"{part(header)}.{part(claims)}.bG9vcGJhY2s"


class IBMCloud:
    """One account with one instance, and the bearer tokens handed out for it."""

    def __init__(
        self, *, api_key: str, crn: str, instance_name: str, backends: Iterable[str]
    ) -> None:
        self.api_key = api_key
        self.crn = crn
        self.instance_name = instance_name
        self._backends = list(backends)
        self._tokens: set[str] = set()
        self._lock = threading.Lock()

    def token(self, body: bytes) -> Reply:
        """Answer IAM's API key exchange."""
        form = parse_qs(body.decode())
        if form.get("apikey") != [self.api_key]:
            refusal = {
                "errorCode": "BXNIM0415E",
                "errorMessage": "Provided API key could not be found.",
            }
            return 400, refusal, {}
        token = _jwt(TOKEN_LIFETIME)
        with self._lock:
            self._tokens.add(token)
        answer = {
            "access_token": token,
            "refresh_token": "not_supported",
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME,
            "expiration": int(time.time()) + TOKEN_LIFETIME,
            "scope": "ibm openid",
        }
        return 200, answer, {}

    def refusal(self, headers: Mapping[str, str], *, instance: bool) -> Reply | None:
        """Return the refusal of a request without a token of ours (or the instance's CRN)."""
        auth = headers.get("Authorization", "")
        token = auth[len("Bearer ") :] if auth.startswith("Bearer ") else None
        with self._lock:
            known = token in self._tokens
        if not known:
            return error("unauthorized", "Invalid or missing bearer token.", 401)
        if instance and headers.get("Service-CRN") != self.crn:
            return error("forbidden", "Unknown Service-CRN.", 403)
        return None

    def search(self) -> Reply:
        """Answer Global Search: the one instance, with backends allocated."""
        item = {
            "crn": self.crn,
            "name": self.instance_name,
            "service_plan_unique_id": PLAN_ID,
            "doc": {"extensions": {"allocations": [{"backends": self._backends}]}},
            "tags": [],
        }
        return 200, {"items": [item], "limit": 100, "search_cursor": None}, {}

    def catalog(self) -> Reply:
        """Answer Global Catalog: the instance's plan."""
        entry = {
            "id": PLAN_ID,
            "overview_ui": {"en": {"display_name": "Open"}},
            "metadata": {"pricing": {"type": "free"}},
        }
        return 200, entry, {}
