"""Transactional email and issue newsletters."""
