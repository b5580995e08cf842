"""Programs built on the package: the photo demo (``photo_demo``, ``bidrn-demo``), the end-to-end job of
``make demo`` (``end_to_end``) and the backbone census (``census``)."""
