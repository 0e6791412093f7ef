"""The report files: the nomination report as PDF (Jinja2 + WeasyPrint, ``templates/report/``) and XLSX (openpyxl),
and the statistics as XLSX. They render the results of :mod:`certflow.services.reports` and read nothing else."""

from .pdf import nomination_pdf
from .spreadsheets import nomination_xlsx, statistics_xlsx

__all__ = ["nomination_pdf", "nomination_xlsx", "statistics_xlsx"]
