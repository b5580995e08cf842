"""Training: the loop (``loop.train``, ``bidrn-train``) and the losses."""
