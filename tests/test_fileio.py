"""Atomic writes: one file, and a set of files that is written whole or not at all."""
import errno
import os

import pytest

from bidrn_tf import fileio


def test_write_set_writes_every_file(tmp_path):
    files = {str(tmp_path / "a.obj"): b"mesh", str(tmp_path / "sub" / "b.png"): b"png"}
    fileio.write_set(files)
    assert {p: open(p, "rb").read() for p in files} == files


def test_a_full_disk_leaves_no_file_of_the_set(tmp_path, monkeypatch):
    calls = []
    real_fsync = os.fsync

    def fsync(fd):  # the second file does not fit
        calls.append(fd)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    names = ["mesh.obj", "overlay.png", "params.json"]
    with pytest.raises(OSError, match="No space left"):
        fileio.write_set({str(tmp_path / n): b"x" for n in names})
    assert os.listdir(tmp_path) == []  # neither outputs nor temporary files


def test_a_failed_rename_takes_back_the_files_already_in_place(tmp_path):
    os.makedirs(tmp_path / "taken.png")  # a folder where the second file should go
    with pytest.raises(OSError):
        fileio.write_set({str(tmp_path / "mesh.obj"): b"m", str(tmp_path / "taken.png"): b"p"})
    assert os.listdir(tmp_path) == ["taken.png"] and os.listdir(tmp_path / "taken.png") == []


def test_reports_record_the_package_version(tmp_path):
    import json

    import bidrn_tf
    from bidrn_tf.fileio import write_report

    write_report(str(tmp_path / "r"), {"rows": [1, 2]}, "| a |")
    data = json.loads((tmp_path / "r.json").read_text())
    assert data == {"rows": [1, 2], "bidrn_tf_version": bidrn_tf.__version__}
    assert (tmp_path / "r.md").read_text() == "| a |"


def test_runs_round_trip_and_a_foreign_file_is_refused(tmp_path):
    path = str(tmp_path / "runs.json")
    assert fileio.load_runs(path) == {}
    fileio.save_runs(path, {"fp/0": {"error": 1.5}}, control=2.0)
    assert fileio.load_runs(path) == {"fp/0": {"error": 1.5}}
    assert [n for n in os.listdir(tmp_path)] == ["runs.json"]  # no temporary file left
    (tmp_path / "other.json").write_text('{"something": 1}')
    with pytest.raises(ValueError, match="not a runs file"):
        fileio.load_runs(str(tmp_path / "other.json"))


def test_write_folder_replaces_a_folder_whole_or_not_at_all(tmp_path):
    """A successful fill replaces the old folder's contents entirely; a fill that fails half-way leaves the old
    folder as it was and no temporary folder behind."""
    from bidrn_tf.fileio import write_folder

    folder = tmp_path / "run"

    def fill(names):
        def write(tmp):
            for name in names:
                if name == "boom":
                    raise OSError("disk full")
                (tmp_path / tmp / name).write_text(name)
        return write

    write_folder(str(folder), fill(["a", "b"]))
    assert sorted(p.name for p in folder.iterdir()) == ["a", "b"]
    with pytest.raises(OSError, match="disk full"):
        write_folder(str(folder), fill(["c", "boom"]))
    assert sorted(p.name for p in folder.iterdir()) == ["a", "b"]
    write_folder(str(folder), fill(["c"]))
    assert sorted(p.name for p in folder.iterdir()) == ["c"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
