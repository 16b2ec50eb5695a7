"""Django admin for every model (filled in by the foundation issue)."""
