"""Reply statistics: how often and how fast outreach gets an answer, per channel and attempt."""
