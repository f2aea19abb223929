"""/access (issue 27): plan an access file against the org, apply exactly that plan, and the drift check's
latest report."""
