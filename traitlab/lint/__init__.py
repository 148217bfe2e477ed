"""Data lint: statistical pre-scan, scan -> cluster -> autorate, report, filter, CI gate."""
