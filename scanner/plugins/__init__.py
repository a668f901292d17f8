"""Plugins that put jts' detection engine inside other secret scanners (detect-secrets)."""
