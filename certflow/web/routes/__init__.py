"""The web's routes, by area: the account pages (login, logout, links, password) and the start pages."""

from . import account, home

__all__ = ["account", "home"]
