"""办会: rooms, scheduling, invitations, sign-in, minutes, calendar feeds."""
