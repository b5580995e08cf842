# Quick start: `make demo`, then `make test`. Both create the virtual environment and install the pinned
# stack (requirements.txt) on first use.
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export TF_USE_LEGACY_KERAS := 1
export TF_CPP_MIN_LOG_LEVEL := 2
# test workers (pytest-xdist): one per core of the project's 2-core machines
TEST_WORKERS ?= 2

.PHONY: venv demo test test-fast bench profile compare overfit classification keypoints diagnose census check-install clean

venv: $(STAMP)

$(STAMP): requirements.txt setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip==24.2"
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

demo: venv
	$(PY) -m bidrn_tf.apps.end_to_end --out out/demo

# The suite runs in two pytest sessions, each with fresh workers: the whole-model fixtures of one half and the
# training subprocesses of the other never hold memory at the same time (one session peaked at 23.6 of 24 GB).
# The first session takes everything the second does not list, so a new test folder is never left out.
SECOND_HALF := tests/deploy tests/train tests/apps tests/data
PYTEST := $(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadgroup --durations=15

test: venv
	@rc=0; \
	$(PYTEST) tests $(addprefix --ignore=,$(SECOND_HALF)) || rc=1; \
	$(PYTEST) $(SECOND_HALF) || rc=1; \
	exit $$rc

test-fast: venv
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadgroup -m "not slow" tests

profile: venv
	$(PY) -m bidrn_tf.deploy.counts

bench: venv
	$(PY) benchmarks/bench_backbone.py
	$(PY) benchmarks/bench_smplx.py

compare: venv
	$(PY) benchmarks/compare_methods.py --methods fp bnn bidrn --seeds 0 1 2 --steps 1500 --eval-every 250 \
		--lr 1e-3 --preset tiny --num-train 512 --num-val 32 --feature-bn --rotation-init rest --pose-loss geodesic \
		--root-pose-weight 1 --fp-init he --diagnose --out out/compare_geodesic

# memorise 16 generated people without augmentation, evaluate on them (README "Overfit check")
overfit: venv
	$(PY) benchmarks/overfit_check.py --method fp --num-people 16 --steps 800 --lr 1e-3 --preset tiny --feature-bn \
		--rotation-init rest --fp-init he --pose-loss geodesic --root-pose-weight 1 --out out/overfit

classification: venv
	$(PY) benchmarks/classification.py --epochs 6 --fp-init he --out out/classification_he

keypoints: venv
	$(PY) benchmarks/keypoints.py --epochs 24 --out out/keypoints

diagnose: venv
	$(PY) benchmarks/diagnose_training.py --out out/diagnose

census: venv
	$(PY) -m bidrn_tf.apps.census --out out/census

# `pip install .` into a fresh virtual environment (ranges of setup.cfg, not the pins), then import and build
check-install:
	rm -rf /tmp/bidrn-install-check && $(PYTHON) -m venv /tmp/bidrn-install-check
	/tmp/bidrn-install-check/bin/python -m pip install --quiet --upgrade "pip==24.2"
	/tmp/bidrn-install-check/bin/python -m pip install --quiet .
	cd /tmp && /tmp/bidrn-install-check/bin/python -c "import bidrn_tf; \
	from bidrn_tf.smplx.synthetic import write_synthetic_model; write_synthetic_model('/tmp/bidrn-install-check/m.npz'); \
	from bidrn_tf.models.config import PRESETS; \
	m = bidrn_tf.build_model(method='bidrn', smplx_model='/tmp/bidrn-install-check/m.npz', config=PRESETS['tiny']); \
	print('bidrn_tf', bidrn_tf.__version__, 'from', bidrn_tf.__file__, '->', type(m).__name__, m.count_params(), 'parameters')"

clean:
	rm -rf $(VENV) out .pytest_cache
