"""Spending time-bank hours: service providers, their services, redemptions and family transfers."""
