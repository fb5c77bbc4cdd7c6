"""exabench: measure what a GPU node really does, and plan clusters of up to 100,000 GPUs from
it."""

__version__ = "0.1.0"
