"""Stage: report (to be built by a later issue)."""
