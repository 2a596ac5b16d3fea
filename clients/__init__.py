"""Command-line clients for a deployed environment."""
