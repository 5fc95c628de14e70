"""Good conduct (积分制): indicators, awards and deductions, caps, issuance budgets, notice period."""
