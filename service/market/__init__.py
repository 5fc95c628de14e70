"""Love supermarkets (爱心超市): catalogue, stock, baskets, refunds and the cashier's day."""
