import bidrn_tf  # noqa: F401,I001  (before TensorFlow: selects tf-keras)
import ctypes
import gc
import os
import time

import numpy as np
import pytest
import tensorflow as tf


@pytest.fixture(autouse=True)
def _fresh_session():
    tf.keras.backend.clear_session()
    tf.keras.utils.set_random_seed(0)
    yield
    # Keras models sit in reference cycles, and the garbage collector runs on object counts, not bytes: without
    # a collection, the large models of finished tests pile up in a long-lived xdist worker (one was OOM-killed
    # at 13 GB). A full collection costs ~1 s in a large worker, so it runs only once memory grew by
    # GC_GROWTH_MB since the last one (most tests allocate little and ran ~1.5 s of collections each).
    rss = _rss_mb()[0]
    if rss - _last_collect[0] >= GC_GROWTH_MB:
        gc.collect()
        _LIBC.malloc_trim(0)  # hand the freed heap back to the system (glibc keeps it otherwise)
        _last_collect[0] = _rss_mb()[0]


GC_GROWTH_MB = 150
_LIBC = ctypes.CDLL("libc.so.6")
_last_collect = [0]


def _rss_mb() -> tuple[int, int]:
    fields = dict(line.split(":", 1) for line in open("/proc/self/status"))
    return int(fields["VmRSS"].split()[0]) // 1024, int(fields["VmHWM"].split()[0]) // 1024


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """With ``BIDRN_MEMLOG=FILE``, append one line per test: worker, seconds, RSS and peak RSS after it (MB), id.

    The suite runs close to the 2-core machines' 24 GiB; this finds the tests that hold or spike memory.
    """
    path = os.environ.get("BIDRN_MEMLOG")
    start = time.perf_counter()
    yield
    if path:
        rss, hwm = _rss_mb()
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        with open(path, "a") as log:
            log.write(f"{worker}\t{time.perf_counter() - start:.1f}\t{rss}\t{hwm}\t{item.nodeid}\n")


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture(scope="session")
def smplx_model_path(tmp_path_factory):
    """The generated SMPL-X-format model, written once per test session."""
    from bidrn_tf.smplx import write_synthetic_model

    return write_synthetic_model(str(tmp_path_factory.mktemp("smplx") / "SMPLX_NEUTRAL.npz"))


@pytest.fixture(scope="session")
def backbone():
    """``backbone(method, depth[, input_shape])``: ``build_resnet`` (default input ``BACKBONE_INPUT``), shared by
    consecutive tests.

    Building a BiDRN ResNet-50 takes ~20 s, so tests that ask for the same (method, depth) in a row share one
    model; only the last ``KEEP`` models are kept (holding every model of a session cost several GB per xdist
    worker). Tests may calibrate its BatchNorm statistics but must not train it.
    """
    from collections import OrderedDict

    from helpers import BACKBONE_INPUT

    from bidrn_tf.models.backbones import build_resnet

    keep = 2
    built = OrderedDict()

    def get(method: str, depth: int, input_shape=BACKBONE_INPUT):
        key = (method, depth, tuple(input_shape))
        if key in built:
            built.move_to_end(key)
        else:
            while len(built) >= keep:
                built.popitem(last=False)
            tf.keras.utils.set_random_seed(0)
            built[key] = build_resnet(depth=depth, method=method, input_shape=input_shape)
        return built[key]

    return get
