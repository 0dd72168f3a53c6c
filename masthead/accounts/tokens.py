"""Random tokens for links sent by email, and the hash that is stored."""

import hashlib
import secrets


def new_token():
    """A fresh token (256 random bits, URL-safe) and its SHA-256 hex digest.

    The raw token goes in the email only; the database keeps the digest.
    """
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)


def hash_token(token):
    return hashlib.sha256(token.encode()).hexdigest()
