"""rbb-benchmark: the analytics pipeline of the Rijksbrede Benchmarkgroep benchmark."""

__version__ = "0.1.0"
