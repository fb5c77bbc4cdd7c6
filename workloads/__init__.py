"""exabench.workloads: the declarative inputs (models, hardware profiles, clusters) as TOML data
with their sources, and the loaders that validate them into small typed classes."""
