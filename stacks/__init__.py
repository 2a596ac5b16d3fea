"""Deployable units of one environment; they compose constructs from ``ml_constructs``."""
