"""Reserve online, pick up at the counter (预约兑换).

A resident reserves goods on their phone: the coins move from their wallet to their own hold
account (held, not spent) and the stock is taken off the shelf count, both as recorded postings and
stock movements. At the counter the cashier scans the reservation code: the hold is released and the
basket is redeemed the ordinary way, in one unit of work, so receipts, close-outs and refunds work as
for any basket. A reservation not picked up by its deadline lapses (nightly, or when anyone looks at
it): coins and stock go back, again as postings and movements. Pickup and lapse both lock the
reservation first, so a race between them resolves exactly once.
"""
