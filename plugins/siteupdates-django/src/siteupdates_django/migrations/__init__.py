"""The migrations: the unmanaged model of the provider permission only."""
