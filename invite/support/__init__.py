"""Support pages: pending invitations (search, page, resend, revoke) and members, for support staff and admins."""
