"""PyTorch baselines (CleanRL style) for the side-by-side benchmarks; needs the ``bench``
extra (``pip install -e '.[bench]'``)."""
