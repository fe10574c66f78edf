"""Stage: backend (to be built by a later issue)."""
