"""Public reference lists (ICE's 287(g) agreements, detention contracts...) as layers beside
the commitments: where the thing a policy fights exists, snapshot by snapshot."""
