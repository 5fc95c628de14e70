"""Volunteer hours (时间银行): stations' activities, service records, approval, certificates."""
