"""The pharmacy's side of an order: the staff transitions (data verification with its clinical
check, compounding with its stock), shipments and delivery."""
