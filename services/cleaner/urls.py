"""Canonical URLs and registered domains."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from tld import get_fld

# Query parameters that only track a click (campaigns, ad networks, newsletters, share buttons).
_TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "igshid", "mc_cid", "mc_eid", "_ga", "_gl",
        "ocid", "cmpid", "xtor", "ito", "smid", "s_cid", "sr_share", "ref_src", "ref_url", "at_medium", "at_campaign",
        "at_custom1", "at_custom2", "at_custom3", "at_custom4", "twclid", "ttclid", "li_fat_id", "mkt_tok", "vero_id",
        "oly_anon_id", "oly_enc_id", "rb_clickid", "spm", "share", "ns_mchannel", "ns_source", "ns_campaign",
        "ns_linkname", "ns_fee",
    }
)  # fmt: skip
_TRACKING_PREFIXES = ("utm_", "pk_", "hsa_", "mtm_")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_HOST_LIKE = re.compile(r"^[\w.-]+$")


def strip_tracking(url: str) -> str | None:
    """Return `url` without tracking parameters and fragment, scheme and host lowercased; None if not http(s)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    query = [
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if key.lower() not in _TRACKING_PARAMS and not key.lower().startswith(_TRACKING_PREFIXES)
    ]
    return urlunsplit((scheme, netloc, parts.path or "/", urlencode(query, doseq=True), ""))


def canonical_url(page_canonical: str | None, url: str | None) -> str | None:
    """The page's own canonical link (resolved against `url`), else `url` without tracking parameters."""
    if page_canonical:
        resolved = urljoin(url, page_canonical.strip()) if url else page_canonical.strip()
        cleaned = strip_tracking(resolved)
        if cleaned is not None:
            return cleaned
    return strip_tracking(url) if url else None


def registered_domain(url: str | None) -> str | None:
    """Registered domain (`bbc.co.uk` for `https://www.bbc.co.uk/news`) from the public suffix list."""
    if not url:
        return None
    domain = get_fld(url, fail_silently=True)
    if isinstance(domain, str):
        return domain.lower()
    host = urlsplit(url).hostname
    return host.lower() if host and _HOST_LIKE.match(host) else None
