"""Challenge, then trial: the promotion gate a candidate bundle must pass, the shadow trial of
the challenger beside the champion, acceptance (activation plus the ratchet step of the
requirements) or rejection, and the undoing of an acceptance on rollback."""
