"""Readers' and staff accounts: the custom User (email is the login), magic
links, profile and shipping address."""
