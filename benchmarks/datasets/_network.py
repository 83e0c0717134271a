"""Whether a download host answers, decided in seconds: one TCP connection per host, all tried together.

Used before a download that would otherwise spend minutes in retries when there is no network
(tensorflow-datasets' builders, the named archives, ``runners.suite``'s choice of what it can run).
"""

from __future__ import annotations

import queue
import socket
import threading
import urllib.parse
import urllib.request

__all__ = ["CONNECT_TIMEOUT_S", "address", "connect", "unreachable"]

CONNECT_TIMEOUT_S = 5.0
_PORTS = {"http": 80, "https": 443, "ftp": 21}


def connect(host: str, port: int, timeout: float) -> None:
    """Open and close one TCP connection to ``host:port``; an OSError says why it could not."""
    with socket.create_connection((host, port), timeout=timeout):
        pass


def address(url: str) -> tuple[str, int] | None:
    """The host and port a download of ``url`` connects to (its proxy's, where one is set); None if unknown."""
    parsed = urllib.parse.urlsplit(url)
    proxy = urllib.request.getproxies().get(parsed.scheme)
    if proxy and not urllib.request.proxy_bypass(parsed.hostname or ""):
        parsed = urllib.parse.urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    if not parsed.hostname or parsed.scheme not in _PORTS:
        return None
    try:
        return parsed.hostname, parsed.port or _PORTS[parsed.scheme]
    except ValueError:  # a port that is not a number
        return None


def unreachable(addresses: list[tuple[str, int]], timeout: float = CONNECT_TIMEOUT_S) -> str | None:
    """None once one of ``addresses`` answers (tried together); else which could not be reached and why."""
    answers: queue.Queue[tuple[tuple[str, int], str | None]] = queue.Queue()

    def attempt(address: tuple[str, int]) -> None:
        try:
            connect(*address, timeout)
            answers.put((address, None))
        except OSError as error:
            answers.put((address, " ".join(str(error).split()) or type(error).__name__))
        except Exception as error:  # a failed check must still name the address
            answers.put((address, " ".join(f"{type(error).__name__}: {error}".split())))

    for address in addresses:  # daemon threads: a slow host never holds the process at exit
        threading.Thread(target=attempt, args=(address,), daemon=True).start()
    failures: dict[tuple[str, int], str] = {}
    for _ in addresses:
        try:
            address, why = answers.get(timeout=timeout + 1)
        except queue.Empty:
            break
        if why is None:
            return None
        failures[address] = why
    named = [f"{host}:{port} ({failures.get((host, port), 'timed out')})" for host, port in addresses[:3]]
    more = f" and {len(addresses) - 3} more" if len(addresses) > 3 else ""
    return "; ".join(named) + more
