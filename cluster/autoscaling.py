"""Serve autoscaling policy of the agent pool when its runs bypass Serve (``DISPATCH=direct``).

Serve's stock policy counts the requests its handles route. With direct dispatch none are
routed, so each pool replica reports its own load instead (``record_autoscaling_stats`` in
``actors/deployments.py``): the runs it has now plus its share of the runs waiting at the
ingress for a free slot. This policy applies the stock formula to that figure, desired =
total load / ``target_ongoing_requests``; Serve then applies ``min_replicas``/``max_replicas``
and the up/down-scale delays as it does for its own policy.
"""

from __future__ import annotations

from typing import Any

from ray.serve.config import AutoscalingContext

__all__ = ["LOAD_METRIC", "POLICY", "pool_policy"]

#: The custom metric the pool replicas report.
LOAD_METRIC = "ongoing"
#: Import path of :func:`pool_policy`, as the deployment config names it.
POLICY = "cluster.autoscaling:pool_policy"


def pool_policy(ctx: AutoscalingContext) -> tuple[float, dict[str, Any]]:
    """Desired replicas from the load the replicas report; keep the target until they do."""
    load = (ctx.aggregated_metrics or {}).get(LOAD_METRIC)
    if not load or ctx.config is None:
        return ctx.target_num_replicas, {}
    return sum(load.values()) / ctx.config.get_target_ongoing_requests(), {}
