"""Bulk invites: a pasted or uploaded list, previewed row by row, sent as a durable background job."""
