"""The built-in policy library, shipped with gatekeeper as data."""
