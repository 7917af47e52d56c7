"""The risk-factor vocabulary: allergens, conditions and medications that free text maps to."""
