"""The officials directory: who has committed, where, and (for staff) how to reach them."""
