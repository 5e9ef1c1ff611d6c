"""Membership: LINE users, joining, binding, account link, SMS verification, erasure, import."""
