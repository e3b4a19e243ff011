"""The audit log: who did what, when, from which address, and what changed; append-only.

Call `record(action, target=..., changes=...)` where an audited action happens; the rest comes from the
request or the command line.
"""
from app.audit.service import DIRECTORY_SYNC, Actor, Target, acting_as, difference, flatten, record

__all__ = ["DIRECTORY_SYNC", "Actor", "Target", "acting_as", "difference", "flatten", "record"]
