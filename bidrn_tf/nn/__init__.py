"""The paper's units: binarizers (``quantizers``), small layers (RPReLU, shifts, Hardtanh, the binary conv
factory; ``layers``) and the BiDRB modules (Base LCR, G-DScR, G-FUR, G-FDR, G-DSaR, BR; ``blocks``).

Layering: ``nn`` imports nothing of the package but itself.
"""
