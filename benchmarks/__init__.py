"""The benchmarks and data builders of the source tree: `python -m benchmarks NAME`."""
