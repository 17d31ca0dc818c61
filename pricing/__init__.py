"""Pricing: billing units, price snapshots, tariffs, subsidies and the subsidy ledger."""
