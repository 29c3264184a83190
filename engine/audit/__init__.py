"""Audit: process diagrams, deterministic replay of histories, export bundles."""
