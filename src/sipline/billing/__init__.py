"""Money: pure rating (``rating``), rate decks, the ledger and its reservations, fraud limits."""
