"""Atomic file writes: a crash or a kill never leaves a half-written output behind."""
from __future__ import annotations

import os
import tempfile


def write_atomic(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and an atomic rename."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix="-" + os.path.basename(path))
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_report(prefix: str, data, table: str) -> None:
    """``<prefix>.json`` (``data``) and ``<prefix>.md`` (``table``), each written atomically."""
    import json

    write_atomic(prefix + ".json", json.dumps(data, indent=1).encode())
    write_atomic(prefix + ".md", table.encode())
    print(f"wrote {prefix}.json and {prefix}.md")
