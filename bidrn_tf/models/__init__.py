"""Networks: backbones for every method, Hand4Whole's heads, the whole-body model, its configuration and
checkpoints. Imports ``nn``, ``ops``, ``smplx`` and itself only."""
