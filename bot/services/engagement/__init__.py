"""Engagement: daily check-ins and streaks, the lucky draw, scratch cards, and their YAML configuration."""
