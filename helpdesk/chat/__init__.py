"""Web chat: sites, visitors' conversations, presence and the live event log."""
