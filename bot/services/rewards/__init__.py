"""Rewards: the points and stamps ledger, purchases, refunds, stamp cards, coupons, tiers and expiry."""
