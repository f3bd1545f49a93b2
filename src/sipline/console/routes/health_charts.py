"""What the operator's health page shows beside the readiness checks: the trunks' states (which do
not make /readyz fail) and the charts of this node's sampled figures (services/health_samples.py)."""

from typing import TYPE_CHECKING, Any

from sipline.console.web import chart_json
from sipline.domain.trunk_health import TrunkState

if TYPE_CHECKING:
    from sipline.bootstrap import Platform


def health_extras(platform: "Platform") -> dict[str, Any]:
    """The health template's `trunks`, `trunks_up` and `samples` (JSON for console.js's charts)."""
    samples = platform.health_samples.samples()
    statuses = platform.trunk_health.statuses()
    charts = {
        "at": [int(sample.at.timestamp()) for sample in samples],
        "calls": [sample.figures.calls for sample in samples],
        "media": [sample.figures.media_sessions for sample in samples],
        "phones": [sample.figures.registered_phones for sample in samples],
        "lag": [sample.loop_lag_ms for sample in samples],
    }
    return {
        "trunks": statuses,
        "trunks_up": sum(status.health.state is TrunkState.UP for status in statuses),
        "samples": chart_json(charts),
        "sample_interval": platform.health_samples.interval,
    }
