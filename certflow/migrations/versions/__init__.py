"""Revision files; each is loaded by Alembic by path (this file only makes the folder a package)."""
