"""The business database: schema, seed data, the async store and the domain queries."""

from agents.db.orders import NOT_FOUND, OutOfStockError
from agents.db.seed import SAMPLE_PHONES
from agents.db.store import BusinessStore, ToolAction

__all__ = ["NOT_FOUND", "SAMPLE_PHONES", "BusinessStore", "OutOfStockError", "ToolAction"]
