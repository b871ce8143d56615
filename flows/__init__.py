"""Prefect flows of the glorot pipeline (thin: they call the ``glorot`` library)."""
