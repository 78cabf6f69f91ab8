"""Point-in-time feature engineering: contract tables -> one row per (cooperative, year), each feature in a group."""
