"""Database failures told to an admin without leaking what a statement carried.

SQLAlchemy's messages include the statement's parameters (here: ciphertexts and
tokens); only the driver's own first line is shown.
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, SQLAlchemyError


def describe(exc: SQLAlchemyError) -> str:
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        text = str(exc.orig).strip().splitlines()
        return text[0] if text else type(exc.orig).__name__
    return type(exc).__name__
