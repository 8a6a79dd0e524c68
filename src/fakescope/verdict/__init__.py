"""Verdicts: models that answer only inside their domain, at stated error rates (DESIGN.md section 8)."""

from .guarded import DECISIONS, GuardedModel, ModelJudgement

__all__ = ["DECISIONS", "GuardedModel", "ModelJudgement"]
