"""Evaluation: the paper's metrics (``metrics``) and the loop over a dataset (``loop.evaluate``, ``bidrn-evaluate``)."""
