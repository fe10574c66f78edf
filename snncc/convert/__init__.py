"""Stage: convert (to be built by a later issue)."""
