"""The executive report: its figures (``figures``), its period (``period``) and its document (``render``).

``compute_report`` reads every figure from the store; ``Report.to_dict()`` is the JSON form
the document is made from.  Importing this package loads only the period parser; the
figures need the store (the ``server`` extra) and the document the ``report`` extra.
"""

from groundshare.report.forms import ReportFormat, ReportLanguage
from groundshare.report.period import PeriodKind, ReportPeriod, parse_period, report_period

__all__ = ["PeriodKind", "ReportFormat", "ReportLanguage", "ReportPeriod", "parse_period", "report_period"]
