"""Stage: mapping (to be built by a later issue)."""
