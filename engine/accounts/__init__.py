"""Accounts and the org tree: people, organisations, memberships and the review chain."""
