"""Atomic file writes: a crash or a kill never leaves a half-written output, nor half of an output set."""
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


def write_folder(folder: str, fill) -> None:
    """Make ``folder`` atomically: ``fill(tmp)`` writes into a fresh temporary folder beside it, which then
    replaces ``folder`` (an existing one is moved aside first and removed last), so a failure in ``fill``
    leaves the old folder as it was."""
    import shutil

    folder = os.path.abspath(folder)
    tmp, old = folder + ".tmp", folder + ".old"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    try:
        fill(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)
    if os.path.exists(folder):
        os.replace(folder, old)
    os.replace(tmp, folder)
    shutil.rmtree(old, ignore_errors=True)


def versioned(data: dict) -> dict:
    """``data`` with ``bidrn_tf_version``: every report the package writes records the version that wrote it."""
    import bidrn_tf

    return {**data, "bidrn_tf_version": bidrn_tf.__version__}


def write_report(prefix: str, data, table: str) -> None:
    """``<prefix>.json`` (``data``, with the package version when it is a dict) and ``<prefix>.md``
    (``table``), written as one set (:func:`write_set`)."""
    import json

    if isinstance(data, dict):
        data = versioned(data)
    write_set({prefix + ".json": json.dumps(data, indent=1).encode(), prefix + ".md": table.encode()})
    print(f"wrote {prefix}.json and {prefix}.md")


def write_set(files: dict) -> None:
    """Write several files as one output set, ``{path: bytes}``: every file is written and synced under a
    temporary name first, and only then are they renamed into place, so a failure while writing (a full
    disk, a bad path) leaves none of them; if a rename fails, the files already renamed are removed."""
    temps = {}
    try:
        for path, data in files.items():
            directory = os.path.dirname(os.path.abspath(path))
            os.makedirs(directory, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix="-" + os.path.basename(path))
            temps[path] = tmp
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o644)
    except BaseException:
        for tmp in temps.values():
            if os.path.exists(tmp):
                os.unlink(tmp)
        raise
    done = []
    try:
        for path, tmp in temps.items():
            os.replace(tmp, path)
            done.append(path)
    except BaseException:
        for path in done:
            os.unlink(path)
        for tmp in temps.values():
            if os.path.exists(tmp):
                os.unlink(tmp)
        raise


def load_runs(path: str) -> dict:
    """The results of an experiment's finished runs, ``{key: result}``, saved by :func:`save_runs` (empty if
    ``path`` does not exist yet): each run is saved as it finishes, so a killed experiment continues."""
    import json

    if not os.path.isfile(path):
        return {}
    with open(path) as f:
        try:
            return json.load(f)["runs"]
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            raise ValueError(f"{path} is not a runs file written by bidrn_tf ({e}); move it away to start over") from e


def save_runs(path: str, runs: dict, **extra) -> None:
    """Write ``{"runs": runs, **extra}`` (with the package version) to ``path`` atomically."""
    import json

    write_atomic(path, json.dumps(versioned({"runs": runs, **extra}), indent=1).encode())
