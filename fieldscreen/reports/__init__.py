"""Aggregates and exports, Qt-free: what coordinators and the central team see without reading
a single case (counts with small cells suppressed) and the central team's decrypted exports.

Errors: :class:`~fieldscreen.reports.errors.ReportError` (``aggregate-*`` and ``export-*``
codes)."""
