"""The key file: overlapping keys, failing closed without a usable key, rotation without a restart."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from generator import keys
from testkit.fake_llama import FakeLlama
from testkit.nginx import Proxy, error_json
from testkit.proxy_client import bearer, request
from tests.proxy.conftest import KEY, OTHER_KEY, StartProxy

RELOAD_SECONDS = 1  # keyReloadSeconds of every proxy these tests start


def status_with(proxy: Proxy, key: str) -> int:
    """The status of an authenticated request on a new connection (so on any worker)."""
    return request(proxy.port, "GET", "/v1/models", bearer(key)).status


def wait_for(condition: Callable[[], bool], timeout: float) -> float:
    """Poll until `condition` holds; return the seconds it took, or fail after `timeout`."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"not true within {timeout}s")
        time.sleep(0.05)
    return time.monotonic() - start


def settled(proxy: Proxy, key: str, status: int) -> bool:
    """Every worker agrees: several requests in a row, each on its own connection, get `status`."""
    return all(status_with(proxy, key) == status for _ in range(8))


def wait_for_every_worker(proxy: Proxy, key: str, status: int) -> None:
    """Wait until `key` gets `status`, then one more reload period, so that every worker has reloaded.

    `settled` alone cannot prove it: the kernel may hand every new connection to the one worker that
    already reloaded, while the other still holds the old keys for up to RELOAD_SECONDS.
    """
    wait_for(lambda: settled(proxy, key, status), RELOAD_SECONDS + 3)
    time.sleep(RELOAD_SECONDS + 0.5)
    assert settled(proxy, key, status)


def assert_fails_closed(proxy: Proxy, upstream: FakeLlama) -> None:
    """503 with the no-key error for a protected path, even with what was once a good key."""
    for headers in (bearer(KEY), []):
        reply = request(proxy.port, "POST", "/v1/chat/completions", headers, b"{}")
        assert reply.status == 503, reply.body
        error = error_json(reply.body)
        assert (error["type"], error["code"]) == ("server_error", "no_api_key_configured")
        assert "no API key configured" in error["message"]
    assert upstream.requests == []


def test_every_key_in_the_file_works(start_proxy: StartProxy) -> None:
    """One key a line; blank lines, surrounding whitespace and CRLF line ends are ignored."""
    proxy = start_proxy(key_text=f"\n  {KEY}  \r\n\n\t{OTHER_KEY}\r\n\n")
    assert status_with(proxy, KEY) == 200
    assert status_with(proxy, OTHER_KEY) == 200
    assert status_with(proxy, f"{KEY}{OTHER_KEY}") == 401


@pytest.mark.parametrize("key_text", [
    pytest.param(None, id="no-file"),
    pytest.param("", id="empty"),
    pytest.param("  \n\t\r\n\n", id="whitespace-only"),
    pytest.param("sk-short\n", id="shorter-than-16"),
    pytest.param("sk-gemma has a space in it\n", id="not-a-token"),
])
def test_without_a_usable_key_every_request_gets_503(start_proxy: StartProxy, upstream: FakeLlama, key_text: str | None) -> None:
    proxy = start_proxy(key_text=key_text)
    assert_fails_closed(proxy, upstream)
    assert "refusing every request with 503" in proxy.read_error_log()


def test_ignored_lines_are_named_by_number_never_by_content(start_proxy: StartProxy) -> None:
    proxy = start_proxy(key_text=f"sk-short\n{KEY}\nsk-gemma has a space in it\n")
    assert status_with(proxy, KEY) == 200
    log = proxy.read_error_log()
    assert "line 1 is shorter than 16 characters" in log and "line 3 is not a valid bearer token" in log
    assert "sk-short" not in log and "has a space" not in log and KEY not in log


def test_the_probe_path_still_answers_without_a_key(start_proxy: StartProxy) -> None:
    """A missing key must not fail the probes: the kubelet would restart llama-server in a loop."""
    proxy = start_proxy(key_text=None)
    assert request(proxy.port, "GET", "/health").status == 200


def test_a_key_file_that_goes_away_fails_closed_and_comes_back(start_proxy: StartProxy, upstream: FakeLlama) -> None:
    proxy = start_proxy()
    assert status_with(proxy, KEY) == 200
    proxy.keys.remove()
    wait_for_every_worker(proxy, KEY, 503)
    upstream.reset()
    assert_fails_closed(proxy, upstream)
    proxy.keys.write(f"{KEY}\n")
    wait_for_every_worker(proxy, KEY, 200)


def test_an_unreadable_key_file_fails_closed(start_proxy: StartProxy, upstream: FakeLlama) -> None:
    proxy = start_proxy()
    proxy.keys.path.resolve().chmod(0o000)
    wait_for_every_worker(proxy, KEY, 503)
    upstream.reset()
    assert_fails_closed(proxy, upstream)
    assert "Permission denied" in proxy.read_error_log()


def test_an_emptied_key_file_fails_closed(start_proxy: StartProxy, upstream: FakeLlama) -> None:
    proxy = start_proxy()
    proxy.keys.write(" \n")
    wait_for_every_worker(proxy, KEY, 503)
    upstream.reset()
    assert_fails_closed(proxy, upstream)


def test_a_rotation_takes_effect_without_a_restart(start_proxy: StartProxy) -> None:
    """The kubelet swaps `..data`: the new key works and, once removed, the old one stops, within
    keyReloadSeconds in every worker, with the same nginx processes throughout."""
    proxy = start_proxy()
    assert status_with(proxy, OTHER_KEY) == 401
    wait_for(lambda: len(proxy.pids()) == 3, 5)  # the master and two workers, each with its own key cache
    processes = proxy.pids()

    proxy.keys.write(f"{KEY}\n{OTHER_KEY}\n")  # the overlap: both keys valid
    took = wait_for(lambda: settled(proxy, OTHER_KEY, 200), RELOAD_SECONDS + 3)
    assert settled(proxy, KEY, 200)

    proxy.keys.write(f"{OTHER_KEY}\n")  # the old key retired
    took = max(took, wait_for(lambda: settled(proxy, KEY, 401), RELOAD_SECONDS + 3))
    assert settled(proxy, OTHER_KEY, 200)

    assert took <= RELOAD_SECONDS + 1.5
    assert proxy.pids() == processes  # no restart, no reload


@pytest.mark.parametrize("key_text", [
    pytest.param(KEY, id="one-key"),
    pytest.param(f"{OTHER_KEY}\n{KEY}", id="last-of-two"),
    pytest.param(f"{OTHER_KEY}\r\n{KEY}", id="last-of-two-crlf"),
])
def test_a_key_file_without_a_trailing_newline_works(start_proxy: StartProxy, key_text: str) -> None:
    """The usual shape of a Secret value: the last line has no newline, and it is a key all the same."""
    proxy = start_proxy(key_text=key_text)
    assert status_with(proxy, KEY) == 200


def test_a_15_character_key_is_refused_and_16_is_enough(start_proxy: StartProxy, upstream: FakeLlama) -> None:
    short, enough = "k" * 15, "k" * 16
    proxy = start_proxy(key_text=f"{short}\n")
    assert_fails_closed(proxy, upstream)
    assert "line 1 is shorter than 16 characters" in proxy.read_error_log()
    proxy = start_proxy(key_text=f"{enough}\n")
    assert status_with(proxy, enough) == 200
    assert status_with(proxy, short) == 401


def test_the_key_file_may_hold_64_kib_and_no_more(start_proxy: StartProxy, upstream: FakeLlama) -> None:
    """The cap is 65536 bytes: a file of exactly that size is read whole (its key is on the last line);
    one byte more and the proxy fails closed, naming the cap."""
    filler = "\n" * (65536 - len(KEY))
    proxy = start_proxy(key_text=filler + KEY)
    assert status_with(proxy, KEY) == 200
    proxy = start_proxy(key_text="\n" + filler + KEY)
    upstream.reset()
    assert_fails_closed(proxy, upstream)
    assert "over 65536 bytes" in proxy.read_error_log()


def test_a_salted_hash_accepts_its_key_only(start_proxy: StartProxy, upstream: FakeLlama) -> None:
    """`gemma-gitops hash-key` lines: the key works, the file holds no usable key, and plaintext lines
    still work beside them."""
    line = keys.hash_line(KEY, keys.new_salt())
    proxy = start_proxy(key_text=f"{line}\n")
    assert KEY not in proxy.keys.path.read_text()
    assert status_with(proxy, KEY) == 200
    assert status_with(proxy, OTHER_KEY) == 401
    assert status_with(proxy, line) == 401  # the leaked line is not a key
    assert f"key={keys.key_id(KEY)} " in proxy.read_access_log()  # the same identity as the plain key's
    proxy = start_proxy(key_text=f"{line}\n{OTHER_KEY}\n")
    assert (status_with(proxy, KEY), status_with(proxy, OTHER_KEY)) == (200, 200)


@pytest.mark.parametrize("line", [
    pytest.param("sha256:00112233:" + "ab" * 32, id="short-salt"),
    pytest.param("sha256:" + "00" * 16 + ":" + "ab" * 31, id="short-digest"),
    pytest.param("sha256:" + "0" * 33 + ":" + "ab" * 32, id="odd-salt"),
    pytest.param("sha256:" + "zz" * 16 + ":" + "ab" * 32, id="not-hex"),
    pytest.param("sha256::" + "ab" * 32, id="no-salt"),
])
def test_a_malformed_hash_line_is_ignored_by_number(start_proxy: StartProxy, line: str) -> None:
    proxy = start_proxy(key_text=f"{KEY}\n{line}\n")
    assert status_with(proxy, KEY) == 200
    log = proxy.read_error_log()
    assert "line 2 is not a valid sha256:<salt hex>:<digest hex> hash" in log
    assert line not in log
