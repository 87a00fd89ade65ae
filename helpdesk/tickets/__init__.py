"""Ticket rules: intake, threading, stages and agent actions (see ``service``)."""
