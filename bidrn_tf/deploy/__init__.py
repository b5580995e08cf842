"""Deployment: conversion to ``.tflite`` (``convert``), reading and running flatbuffers (``flatbuffer``), latency
on this machine (``latency``) and on ARM boards (``arm``), Params / OPs counts (``counts``)."""
