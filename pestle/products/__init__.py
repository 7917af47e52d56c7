"""Products and materials: the catalogue of three kinds, their formulas and derived stock."""
