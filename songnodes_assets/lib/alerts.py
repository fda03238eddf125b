"""Alerts: conditions evaluated by the sensors become alerts only when their state changes (firing /
cleared), with the state kept in the sensor cursor. Every alert is written to the lakehouse table
``ops.alerts``, to the run log, and to a webhook (Slack-compatible JSON) when one is configured.
Secret values are scrubbed from every alert text before it leaves the process.

The webhook goes through the URL policy (``lib.http.url_policy``): a URL with an ambiguous authority
(backslash, userinfo, whitespace, control characters, a non-canonical host) is refused before anything is
sent; redirects are followed by hand only on the webhook's own origin (scheme, host, port), re-POSTing
the payload, at most ``WEBHOOK_MAX_REDIRECTS`` hops; a redirect elsewhere is an error, never followed.
Error texts name origins only (a webhook URL's path is often its secret)."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import uuid
from dataclasses import asdict, dataclass, field
from urllib.parse import urljoin

import requests

from .http.redact import Redactor
from .http.url_policy import REDIRECT_STATUSES, UrlRefused, next_hop, parse_origin, send_checked
from .lakehouse import Lakehouse
from .schemas import OPS_ALERTS

SEVERITY_RANK = {"ok": 0, "warning": 1, "critical": 2}
_SECRET_ENV_RE = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD|CLIENT_ID)", re.IGNORECASE)
WEBHOOK_MAX_REDIRECTS = 3


@dataclass
class Condition:
    """One evaluated rule instance (e.g. "enrichment success of spotify")."""

    key: str  # stable id of the rule instance, e.g. "enrichment_success:spotify"
    severity: str  # ok | warning | critical
    message: str
    value: float | None = None
    threshold: float | None = None


@dataclass
class Alert:
    alert_id: str
    fired_at: dt.datetime
    sensor: str
    key: str
    severity: str
    state: str  # firing | cleared
    message: str
    value: float | None
    threshold: float | None


@dataclass
class AlertState:
    """Per condition key: current severity and since when (JSON in the sensor cursor)."""

    states: dict[str, dict] = field(default_factory=dict)

    @classmethod
    def load(cls, cursor: str | None) -> "AlertState":
        if not cursor:
            return cls()
        try:
            data = json.loads(cursor)
        except ValueError:
            return cls()
        return cls(states=data.get("states", {}) if isinstance(data, dict) else {})

    def dump(self) -> str:
        return json.dumps({"states": self.states}, sort_keys=True)

    def apply(self, sensor: str, conditions: list[Condition], now: dt.datetime) -> list[Alert]:
        """Alerts for the conditions whose severity changed; conditions not evaluated keep their state."""
        out = []
        for c in conditions:
            prev = self.states.get(c.key, {"severity": "ok", "since": None})
            if c.severity == prev["severity"]:
                continue
            if c.severity == "ok":
                since = prev.get("since")
                took = f" (firing since {since})" if since else ""
                out.append(Alert(uuid.uuid4().hex, now, sensor, c.key, prev["severity"], "cleared",
                                 f"RESOLVED {c.key}: {c.message}{took}", c.value, c.threshold))
                self.states[c.key] = {"severity": "ok", "since": now.isoformat()}
            else:
                out.append(Alert(uuid.uuid4().hex, now, sensor, c.key, c.severity, "firing",
                                 f"{c.severity.upper()} {c.key}: {c.message}", c.value, c.threshold))
                self.states[c.key] = {"severity": c.severity, "since": now.isoformat()}
        return out


def scrub(text: str, secrets: list[str] | None = None) -> str:
    """Remove secret values (explicit ones and every *KEY/TOKEN/SECRET* environment value) from text."""
    values = list(secrets or [])
    values += [v for k, v in os.environ.items() if _SECRET_ENV_RE.search(k) and v and len(v) >= 4]
    return Redactor(values).text(text)  # the redaction the API clients use (also encoded forms, any case)


def write_alerts(lake: Lakehouse, alerts: list[Alert]) -> None:
    if not alerts:
        return
    rows = []
    for a in alerts:
        row = asdict(a)
        row["message"] = scrub(row["message"])
        row["alert_date"] = a.fired_at.date().isoformat()
        rows.append({c: row[c] for c in OPS_ALERTS.column_names})
    by_day: dict[str, list[dict]] = {}
    for r in rows:
        by_day.setdefault(r["alert_date"], []).append(r)
    for day, day_rows in by_day.items():
        lake.write(OPS_ALERTS, OPS_ALERTS.conform(day_rows), day, file_name=f"alerts-{uuid.uuid4().hex}.parquet")


def post_webhook(url: str | None, alerts: list[Alert], timeout_s: float = 10.0) -> str | None:
    """POST the alerts to a webhook (Slack incoming-webhook shape: {"text": …, "alerts": […]}).
    Returns an error description, or None on success / when no webhook is configured."""
    if not url or not alerts:
        return None
    text = "\n".join(scrub(a.message) for a in alerts)
    payload = {"text": text, "alerts": [{**{k: v for k, v in asdict(a).items() if k != "fired_at"},
                                         "message": scrub(a.message), "fired_at": a.fired_at.isoformat()}
                                        for a in alerts]}
    try:
        own = parse_origin(url)
    except UrlRefused as exc:
        return scrub(f"webhook URL refused: {exc.reason}")
    current = url
    with requests.Session() as session:
        for hop in range(WEBHOOK_MAX_REDIRECTS + 1):
            try:
                resp = send_checked(session, "POST", current, own, json=payload, timeout=timeout_s)
                resp.close()
            except UrlRefused as exc:
                return scrub(f"webhook request refused: {exc.reason}")
            except requests.RequestException as exc:
                return f"webhook unreachable: {type(exc).__name__}"
            if resp.status_code not in REDIRECT_STATUSES:
                break
            if resp.status_code == 303:
                return "webhook answered HTTP 303 (See Other): alerts not delivered"
            try:
                current, _ = next_hop(current, resp.headers.get("Location"), own=own)
            except UrlRefused:
                target = _target_origin(current, resp.headers.get("Location"))
                return scrub(f"webhook redirect (HTTP {resp.status_code}) to {target} refused: only the webhook's "
                             f"own origin {own} is followed")
            if hop == WEBHOOK_MAX_REDIRECTS:
                return f"webhook redirected more than {WEBHOOK_MAX_REDIRECTS} times: alerts not delivered"
    if resp.status_code >= 300:
        return f"webhook answered HTTP {resp.status_code}"
    return None


def _target_origin(current: str, location: str | None) -> str:
    """Where a refused redirect pointed, as an origin (never its path or userinfo), for error texts."""
    if not location:
        return "(no Location)"
    try:
        return str(parse_origin(urljoin(current, location)))
    except UrlRefused as exc:
        return f"an unsafe URL ({exc.reason})"


def open_alerts(lake: Lakehouse) -> list[dict]:
    """Alerts firing now: the newest row of each alert key in ``ops.alerts`` whose state is ``firing``,
    most severe first."""
    rows = lake.read(OPS_ALERTS, columns=["fired_at", "sensor", "key", "severity", "state", "message"])
    if rows.empty:
        return []
    newest = rows.sort_values("fired_at").drop_duplicates("key", keep="last")
    firing = newest[newest["state"] == "firing"]
    out = [{"key": r.key, "severity": r.severity, "sensor": r.sensor, "since": r.fired_at.isoformat(),
            "message": r.message} for r in firing.itertuples(index=False)]
    return sorted(out, key=lambda a: (-SEVERITY_RANK.get(a["severity"], 0), a["key"]))
