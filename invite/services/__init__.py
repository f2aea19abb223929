"""The service layer: what every channel calls to act on Junction (no Flask pages, no Click)."""
