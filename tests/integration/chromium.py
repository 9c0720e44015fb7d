"""Headless Chromium for the dashboard tests, driven through chromedriver's
W3C WebDriver HTTP API with the standard library only (no Selenium).

    with Chromium() as browser:
        browser.get("http://127.0.0.1:8080/")
        browser.wait(lambda b: b.js("return document.querySelectorAll('.story').length") >= 3)
        print(browser.title())

Debian's `chromium` and `chromium-driver` packages provide /usr/bin/chromium and
/usr/bin/chromedriver (scripts/install-deps.sh --test installs them). Every
wait has a deadline; nothing here sleeps without a condition.
"""
import base64
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,900",
]


def available():
    """True when both binaries are installed (the tests skip otherwise)."""
    return (shutil.which(CHROMIUM) or os.path.exists(CHROMIUM)) and (
        shutil.which(CHROMEDRIVER) or os.path.exists(CHROMEDRIVER))


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class WebDriverError(RuntimeError):
    pass


class Chromium:
    def __init__(self, timeout=30.0):
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="ws-chromium-")
        self.port = _free_port()
        self.log = open(os.path.join(self.profile, "chromedriver.log"), "w+")
        self.driver = subprocess.Popen(
            [CHROMEDRIVER, "--port=%d" % self.port, "--allowed-ips=127.0.0.1"],
            stdout=self.log, stderr=subprocess.STDOUT)
        self.base = "http://127.0.0.1:%d" % self.port
        self.session = None
        try:
            self._wait_driver()
            caps = {"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "binary": CHROMIUM,
                    "args": FLAGS + ["--user-data-dir=" + os.path.join(self.profile, "profile")],
                },
            }}}
            value = self._call("POST", "/session", caps)
            self.session = value["sessionId"]
        except Exception:
            self.close()
            raise

    # -- plumbing ---------------------------------------------------------

    def _wait_driver(self):
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.driver.poll() is not None:
                raise WebDriverError("chromedriver exited: " + self._driver_log())
            try:
                with urllib.request.urlopen(self.base + "/status", timeout=2) as r:
                    if json.load(r)["value"].get("ready"):
                        return
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(0.05)
        raise WebDriverError("chromedriver did not start: " + self._driver_log())

    def _driver_log(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()[-2000:]

    def _call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as r:
                return json.load(r).get("value")
        except urllib.error.HTTPError as e:
            detail = e.read().decode(errors="replace")
            raise WebDriverError("%s %s: %s %s" % (method, path, e.code, detail[:500]))

    def _s(self, path):
        return "/session/%s%s" % (self.session, path)

    # -- the API the tests use ---------------------------------------------

    def get(self, url):
        self._call("POST", self._s("/url"), {"url": url})

    def js(self, script, *args):
        """Runs a function body in the page and returns its JSON result."""
        return self._call("POST", self._s("/execute/sync"), {"script": script, "args": list(args)})

    def title(self):
        return self._call("GET", self._s("/title"))

    def screenshot(self, path):
        png = self._call("GET", self._s("/screenshot"))
        with open(path, "wb") as f:
            f.write(base64.b64decode(png))

    def wait(self, cond, timeout=None, what="condition"):
        deadline = time.monotonic() + (timeout or self.timeout)
        last = None
        while time.monotonic() < deadline:
            last = cond(self)
            if last:
                return last
            time.sleep(0.1)
        raise AssertionError("timed out waiting for %s (last: %r)" % (what, last))

    def close(self):
        if self.session:
            try:
                self._call("DELETE", self._s(""))
            except Exception:
                pass
            self.session = None
        if self.driver.poll() is None:
            self.driver.terminate()
            try:
                self.driver.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.driver.kill()
                self.driver.wait()
        self.log.close()
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


if __name__ == "__main__":
    # Manual use: python3 tests/integration/chromium.py URL [screenshot.png]
    import sys
    with Chromium() as b:
        b.get(sys.argv[1])
        time.sleep(float(os.environ.get("WAIT", "2")))
        if len(sys.argv) > 2:
            b.screenshot(sys.argv[2])
        print(b.title())
