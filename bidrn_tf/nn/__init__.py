"""The paper's units: binarizers (``quantizers``), small layers (RPReLU, shifts, Hardtanh, the binary conv
factory; ``layers``) and the BiDRB modules (Base LCR, G-DScR, G-FUR, G-FDR, G-DSaR, BR; ``blocks``).

Layering: ``nn`` imports nothing of the package but itself.

The ``call`` of every composite layer of the package (the BiDRB modules here, the heads and the whole-body
layer in ``models``) is marked ``tf.autograph.experimental.do_not_convert``: none branches on tensor
values, so AutoGraph has nothing to convert, yet Keras would run it over every nested call when a model is
built or traced (building the whole-body model took ~60 s, most of it in AutoGraph). Layers nested in a
marked call are not converted either. (The mark hides a ``call``'s signature from Keras, so it is only put
on calls that take ``training``.)
"""
