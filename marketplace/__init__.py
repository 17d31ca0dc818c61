"""Marketplace: geography, catalog, providers and workers, households, orders and visits."""
