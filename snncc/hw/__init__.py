"""Stage: hw (to be built by a later issue)."""
