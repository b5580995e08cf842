"""The package's layout rules: thin commands, imports that follow the data flow, one home per fact."""
import ast
import configparser
import importlib
import importlib.metadata
import os
import runpy

import pytest
from helpers import REPO

PACKAGE = os.path.join(REPO, "bidrn_tf")
SCRIPTS = {"training/train.py": "bidrn_tf.train.loop", "training/evaluate.py": "bidrn_tf.evaluate.loop",
           "convert/lce_convert.py": "bidrn_tf.deploy.convert", "convert/benchmark.py": "bidrn_tf.deploy.latency",
           "convert/arm/run_arm.py": "bidrn_tf.deploy.arm"}
# stage -> stages of the package it must not import (data flows nn -> models -> data -> train)
FORBIDDEN = {"nn": {"ops", "smplx", "models", "data", "train", "evaluate", "deploy", "apps", "inference"},
             "ops": {"models", "data", "train", "evaluate", "deploy", "apps", "inference"},
             "smplx": {"models", "data", "train", "evaluate", "deploy", "apps", "inference"},
             "models": {"data", "train", "evaluate", "deploy", "apps", "inference"},
             "data": {"train", "evaluate", "deploy", "apps"},
             "evaluate": {"train", "deploy", "apps"}, "deploy": {"train", "evaluate", "apps"}}


def _python_files(root):
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d != "__pycache__"]
        yield from (os.path.join(folder, f) for f in files if f.endswith(".py"))


def _package_imports():
    """(file, stage, imported bidrn_tf module) for every absolute import inside the package."""
    for path in _python_files(PACKAGE):
        stage = os.path.relpath(path, PACKAGE).split(os.sep)[0].removesuffix(".py")
        for node in ast.walk(ast.parse(open(path).read())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else [])
            for name in names:
                if name.startswith("bidrn_tf."):
                    yield path, stage, name


def test_imports_follow_the_data_flow():
    bad = [f"{os.path.relpath(p, REPO)} imports {m}" for p, stage, m in _package_imports()
           if m.split(".")[1] in FORBIDDEN.get(stage, ())]
    assert not bad, bad


def test_nothing_edits_sys_path():
    offenders = [os.path.relpath(p, REPO) for d in ("bidrn_tf", "training", "convert", "benchmarks")
                 for p in _python_files(os.path.join(REPO, d)) if "sys.path" in open(p).read()]
    assert not offenders, offenders


@pytest.mark.parametrize("script,module", sorted(SCRIPTS.items()))
def test_scripts_are_thin(script, module):
    """Each documented command is the package's ``main`` and nothing else."""
    namespace = runpy.run_path(os.path.join(REPO, script), run_name="imported_by_test")
    assert namespace["main"] is importlib.import_module(module).main
    tree = ast.parse(open(os.path.join(REPO, script)).read())
    assert [type(n).__name__ for n in tree.body if not isinstance(n, (ast.Import, ast.ImportFrom, ast.Expr))] == ["If"]


def test_console_scripts_are_installed_and_resolve():
    cfg = configparser.ConfigParser()
    cfg.read(os.path.join(REPO, "setup.cfg"))
    declared = dict(line.split(" = ") for line in cfg["options.entry_points"]["console_scripts"].strip().splitlines())
    assert set(declared) == {"bidrn-train", "bidrn-evaluate", "bidrn-convert", "bidrn-benchmark", "bidrn-profile",
                             "bidrn-demo"}
    installed = {e.name: e.value for e in importlib.metadata.entry_points(group="console_scripts")
                 if e.name.startswith("bidrn-")}
    assert installed == declared
    for target in declared.values():
        module, func = target.split(":")
        assert callable(getattr(importlib.import_module(module), func))


@pytest.mark.parametrize("name", ["JOINT_NAMES", "PARENTS", "NUM_JOINTS", "PARAM_SIZES", "POSE_JOINTS", "HAND_MCP",
                                  "FLIP_PERM", "GROUP_ROOT", "HAND_CHAINS", "BODY_POSITION_JOINTS", "PELVIS",
                                  "FACE_ROOT", "HAND_ROOTS", "J14_FROM_SMPLX", "LEFT_HAND_JOINTS", "PRESETS"])
def test_each_fact_is_defined_once(name):
    homes = []
    for path in _python_files(PACKAGE):
        for node in ast.parse(open(path).read()).body:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
                node, ast.AnnAssign) else []
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                homes.append(os.path.relpath(path, REPO))
    assert len(homes) == 1, homes
