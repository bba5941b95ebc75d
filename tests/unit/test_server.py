"""The supervisor imports none of the application: it would carry that heap for the
life of the server beside every worker."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("sqlalchemy", "alembic", "jinja2", "uvicorn", "uvloop", "cryptography", "cumulo.app")


def test_the_supervisor_does_not_import_the_application() -> None:
    code = (
        "import sys, cumulo.cli, cumulo.server; "
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r} or m in {HEAVY!r}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
