"""The action-center pages, one module per area."""
