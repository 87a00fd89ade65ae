"""Reports managers read: the service load per journey stage."""
