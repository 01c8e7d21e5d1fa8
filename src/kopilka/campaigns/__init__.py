"""Campaigns, their audiences and persistent control groups: analytics measures them, messaging
sends them; neither owns them."""
