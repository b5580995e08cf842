"""Seed Table 5 as an experiment: the digits data and the table."""
import numpy as np
import pytest

from bidrn_tf.apps.classification import TEST_SIZE, digits, format_table, train_one


def test_digits_are_real_scans_split_once_and_stratified():
    x_tr, y_tr, x_te, y_te = digits()
    assert x_tr.shape == (1797 - TEST_SIZE, 32, 32, 3) and x_te.shape == (TEST_SIZE, 32, 32, 3)
    assert 0.0 <= x_tr.min() and x_tr.max() <= 1.0 and np.array_equal(x_tr[..., 0], x_tr[..., 2])
    counts = np.bincount(y_te, minlength=10)
    share = np.bincount(np.concatenate([y_tr, y_te]), minlength=10) / 1797
    assert np.abs(counts - TEST_SIZE * share).max() <= 1.0  # stratified: each digit in its share of the data
    again = digits()
    np.testing.assert_array_equal(again[3], y_te)  # one fixed split, whatever the training seed


def test_table_reports_the_share_of_the_gap_closed():
    rows = {"fp": {"mean": 1.0, "std": 0.1, "errors": [1.0], "minutes_per_run": 1.0},
            "bnn": {"mean": 5.0, "std": 0.5, "errors": [5.0], "minutes_per_run": 1.0},
            "bidrn": {"mean": 2.0, "std": 0.2, "errors": [2.0], "minutes_per_run": 1.0}}
    assert "closes 75 % of the FP-BNN gap" in format_table(rows, seeds=[0], epochs=1, lr=1e-3)


def test_one_short_training_learns_the_digits():
    x_tr, y_tr, x_te, y_te = digits()
    res = train_one("fp", (x_tr[:512], y_tr[:512], x_te, y_te), seed=0, epochs=3)
    assert res["test_error"] < 50.0  # chance is 90 %


def test_fp_init_switch_reaches_every_classifier_and_keeps_old_run_keys(tmp_path, monkeypatch):
    """``--fp-init he`` builds every classifier with it, under keys of their own in runs.json; runs stored
    before the switch (Hand4Whole's init) keep their keys and are reused, not retrained."""
    import bidrn_tf.apps.classification as app

    seen = []

    def fake_train(method, data, *, seed, epochs, lr, fp_init, xnor_activation_scale):
        seen.append((method, seed, fp_init) + (("K",) if xnor_activation_scale else ()))
        return {"test_error": 10.0, "test_error_moving_bn": 10.0, "train_accuracy": 90.0, "seconds": 6.0}

    monkeypatch.setattr(app, "train_one", fake_train)
    monkeypatch.setattr(app, "digits", lambda: None)
    from bidrn_tf.fileio import load_runs, save_runs

    out = tmp_path / "cls"
    out.mkdir()
    save_runs(str(out / "runs.json"), {"fp/0/1/0.001": {"method": "fp", "seed": 0, "test_error": 4.0,
                                                         "test_error_moving_bn": 4.0, "train_accuracy": 99.0,
                                                         "seconds": 6.0}})
    assert app.main(["--methods", "fp", "bnn", "--seeds", "0", "--epochs", "1", "--out", str(out)]) == 0
    assert seen == [("bnn", 0, "hand4whole")]  # fp/0 reused
    assert app.main(["--methods", "fp", "--seeds", "0", "--epochs", "1", "--out", str(out), "--fp-init", "he"]) == 0
    assert seen[-1] == ("fp", 0, "he")
    assert "fp/0/1/0.001/fp_init=he" in load_runs(str(out / "runs.json"))
    assert "start He-normal" in (out / "classification.md").read_text()
    # XNOR-Net's K reaches xnor only, under a key and a row name of its own
    assert app.main(["--methods", "bnn", "xnor", "--seeds", "0", "--epochs", "1", "--out", str(out),
                     "--xnor-activation-scale"]) == 0
    assert seen[-1] == ("xnor", 0, "hand4whole", "K")  # bnn/0 reused, and it never takes K
    assert "xnor/0/1/0.001/xnor_k" in load_runs(str(out / "runs.json"))
    assert "| xnor+K |" in (out / "classification.md").read_text()
    with pytest.raises(SystemExit):
        app.main(["--methods", "bnn", "--seeds", "0", "--out", str(out), "--xnor-activation-scale"])
