"""snncc benchmarks: ``python -m benchmarks [NAME ...]``.

Each benchmark measures against a baseline run in the same invocation and reports ratios, because
machines are noisy. Results go to ``benchmarks/results/<name>.json``.
"""
