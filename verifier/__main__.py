"""``python -m verifier ...``: the offline auditor's CLI (see verifier.cli)."""

from __future__ import annotations

from verifier.cli import main

raise SystemExit(main())
