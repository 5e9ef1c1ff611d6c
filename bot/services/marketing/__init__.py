"""The marketer's console: segments (saved definitions over members) and who a marketing send may reach."""
