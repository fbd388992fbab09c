"""followups: a self-hosted follow-up engine for job-search outreach."""

__version__ = "0.1.0"
