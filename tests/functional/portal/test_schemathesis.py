"""schemathesis against the served OpenAPI document, as a system admin (the widest
rights): no 5xx, no response outside the document, no schema-valid input refused and no
invalid one accepted. Bounded: 10 examples per operation, a fixed seed (reproducible)."""

from __future__ import annotations

import subprocess

from tests.functional.portal.web_support import admin
from tests.harness import BIN, Server


def test_schemathesis_finds_nothing(server: Server) -> None:
    key = admin(server).api_key("schemathesis")
    result = subprocess.run(
        [
            str(BIN / "schemathesis"),
            "run",
            f"{server.portal_url}/api/openapi.json",
            "--header",
            f"Authorization: Bearer {key}",
            "--checks",
            "all",
            "--max-examples",
            "10",
            "--seed",
            "1",
            "--request-timeout",
            "10",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "Internal Server Error" not in result.stdout
    assert "Traceback" not in server.log()
