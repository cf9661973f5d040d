"""Staff follow-up: who needs a call, who owns it, and what was said."""
