"""atscale."""
