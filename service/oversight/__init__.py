"""Supervision's read-only view (村务监督委员会): every service record and award of a community."""
