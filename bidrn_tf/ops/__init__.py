"""Tensor math of the heads built from TF Lite builtin ops only: soft-argmax, feature sampling, boxes, RoIAlign
crops and the camera (``geometry``), rotation conversions (``rotations``)."""
