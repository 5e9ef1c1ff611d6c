"""Stores and their staff: POS API keys, clerks at the counter."""
