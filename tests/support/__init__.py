"""Test support shared by tests/ and benchmarks/, kept out of the `harness` package (the wheel):
single-operator model builders (single_op.py: fixed, random_ops.py: randomized, kernel_model.py:
the kernel tests' minimal builder), the batch tflite-micro reference and the report PNG check.
Importable as `tests.support` with the repository root on sys.path (pytest's `pythonpath`)."""
