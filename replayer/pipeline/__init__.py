"""The stages of a run between the public API and the modules that own the data flow:
``prepare`` (overrides, run directory, server build, run facts), ``execute`` (the
session through an executor, the gate's extra repetitions, the synthetic calibration)
and ``meta`` (what the summary builder needs besides the records). See docs/architecture.md."""
