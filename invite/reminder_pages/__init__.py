"""The reminders' pages (issue 26): the plan of the next 7 days, the pause, the stale invitations, and the
per-invitation switch used from /invitations."""
