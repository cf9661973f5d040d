"""The policy toolkit: priorities and the policies officials commit to."""
