"""Products and Materials Inventory: lots, their links to products, the quantity ledger."""
