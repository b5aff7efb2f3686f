"""Offline what-if: runs the pure interpreter on a virtual clock, for one scripted account
(`engine`, `scenario`, `report`) or many synthetic ones (`montecarlo`). No Temporal, no database."""
