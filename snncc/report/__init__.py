"""report.json assembly (stable keys, see the design notes), efficiency figures, atomic writes."""

from snncc.report.build import efficiency, network_section, new_report, write_json

__all__ = ["efficiency", "network_section", "new_report", "write_json"]
