"""The seed check-in script the seeding build runs (checkin.py; embedded by generator/blocks/seeding.py)."""
