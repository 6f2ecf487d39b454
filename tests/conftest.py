"""pytest configuration: the property tests' profiles. The helpers test files import are in
``helpers.py``."""

from __future__ import annotations

import os

from hypothesis import settings

# Property tests: a quick profile for `make test`, the long one for `make test-long`.
settings.register_profile("quick", max_examples=25)
settings.register_profile("long", max_examples=300)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "quick"))
