"""Deployment: conversion to ``.tflite`` or OpenVINO IR (``convert``, ``openvino_ir``), reading and running
flatbuffers (``flatbuffer``), latency on this machine (``latency``) and on ARM boards (``arm``), Params / OPs
counts (``counts``)."""
