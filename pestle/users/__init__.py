"""Users: customer users and pharmacy staff."""
