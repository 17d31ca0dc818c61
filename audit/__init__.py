"""Audit: visit verification, anomaly rules, ledger verification, reports and exports."""
