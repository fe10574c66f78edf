"""Stage: sim (to be built by a later issue)."""
