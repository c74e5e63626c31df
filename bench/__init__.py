"""Side-by-side benchmarks: each runs this project and its peer in one run and prints one JSON
line per figure (see :mod:`bench._common`)."""
