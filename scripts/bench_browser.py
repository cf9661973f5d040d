"""The map in a real browser, beside folium's own maps of the same points.

    make bench                                   # runs this after scripts/bench.py
    .venv/bin/python scripts/bench_browser.py --jurisdictions 2000 --commitments 10000 \\
        --rounds 2 --throttled-rounds 1          # a quick look while developing

1. Builds the national campaign with the demo generator (20,000 jurisdictions, 100,000
   commitments), or reuses it: scripts/loadtest.py's `prepare`, keeping the SQLite file in
   instance/bench/<size>/ between runs (a changed schema or generator builds afresh).
2. Serves it with gunicorn and the production config, as deployed: static files precompressed
   (brotli and gzip), the map's data compressed once per figure.
3. Writes folium's maps of the points our map draws at national zoom (the same viewer's
   /map/data.json, signed out): `FastMarkerCluster` (folium's quickest marker map) and the
   naive one (a `Marker` with a `Popup` each), with every asset folium loads from CDNs taken
   from the same versions' npm packages (package.json) and served from loopback:
   - *as saved*: folium's HTML and assets as plain files from a plain HTTP/1.1 server, no
     compression (how the issue's baseline was measured);
   - *compressed*: the same files behind WhiteNoise with brotli and gzip copies, as our own
     static files are served: the best a folium user could do.
4. Loads each page in Debian's headless Chromium, a fresh browser context (empty cache) every
   time, the pages interleaved round by round in a rotating order, and records through the
   DevTools protocol: bytes over the wire by kind (encodedDataLength, headers included),
   time from navigation to the first shape drawn in the map's box (and, apart, the first
   shape Leaflet draws) and to the first marker or cluster drawn (the animation frame after
   it enters the page), long tasks (when the last one ended:
   the page answers input after it; and the total blocking time), and the JS heap after a
   garbage collection once the page is quiet.
5. Does it again on a throttled connection (Chromium's network emulation: 1.6 Mbit/s down,
   750 kbit/s up, 150 ms round trip). The naive map is left out there: its 16 MB would take
   minutes per load.
6. Prints medians as Markdown tables with each page's ratio to FastMarkerCluster measured in
   the same run, for docs/performance.md. Absolute times on a shared machine are noise;
   ratios within one run are not.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import statistics
import sys
import threading
import time
from pathlib import Path
from urllib.request import urlopen

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import loadtest  # noqa: E402

from campaign.map.encoding import decode_payload  # noqa: E402

NODE = ROOT / "node_modules"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
THROTTLED = {  # Chromium's network emulation, bytes per second
    "offline": False,
    "latency": 150,
    "downloadThroughput": 1_600_000 / 8,
    "uploadThroughput": 750_000 / 8,
}
# folium's CDN URLs (folium 0.20) and the npm files of the same versions that stand in for
# them. Whole folders are copied where a stylesheet refers to images or fonts beside it.
FOLIUM_ASSETS = {
    "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js": "folium-leaflet/dist/leaflet.js",
    "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.css":
        "folium-leaflet/dist/leaflet.css",
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery/dist/jquery.min.js",
    "https://cdn.jsdelivr.net/npm/bootstrap@5.2.2/dist/js/bootstrap.bundle.min.js":
        "bootstrap/dist/js/bootstrap.bundle.min.js",
    "https://cdn.jsdelivr.net/npm/bootstrap@5.2.2/dist/css/bootstrap.min.css":
        "bootstrap/dist/css/bootstrap.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/Leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.js":
        "drmonty-leaflet-awesome-markers/js/leaflet.awesome-markers.js",
    "https://cdnjs.cloudflare.com/ajax/libs/Leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.css":
        "drmonty-leaflet-awesome-markers/css/leaflet.awesome-markers.css",
    "https://cdn.jsdelivr.net/npm/@fortawesome/fontawesome-free@6.2.0/css/all.min.css":
        "@fortawesome/fontawesome-free/css/all.min.css",
    # Bootstrap 3.0.0's glyphicons stylesheet is on no registry; this package's is its like.
    "https://netdna.bootstrapcdn.com/bootstrap/3.0.0/css/bootstrap-glyphicons.css":
        "glyphicons-only-bootstrap/css/bootstrap.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/leaflet.markercluster.js":
        "folium-markercluster/dist/leaflet.markercluster.js",
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/MarkerCluster.css":
        "folium-markercluster/dist/MarkerCluster.css",
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/MarkerCluster.Default.css":
        "folium-markercluster/dist/MarkerCluster.Default.css",
}  # fmt: skip
FOLIUM_FOLDERS = [
    "folium-leaflet/dist/images",
    "drmonty-leaflet-awesome-markers/css/images",
    "@fortawesome/fontawesome-free/webfonts",
]
# folium's leaflet.awesome.rotate.min.css (its GitHub repository, on no registry), written out.
ROTATE_URL = (
    "https://cdn.jsdelivr.net/gh/python-visualization/folium/folium/templates/"
    "leaflet.awesome.rotate.min.css"
)
ROTATE_CSS = ".fa-rotate-0{transform:rotate(0)}.fa-rotate-45{transform:rotate(45deg)}"

# Runs before the page's own scripts: when the first shape (an SVG path or canvas) and the
# first marker (an icon, a cluster, or one of our circle markers) enter the map's box, the
# time of the next animation frame (when the browser paints it); and every long task. The
# first shape Leaflet itself draws is timed apart (`leafletShape`): our page's first shape
# is the outline it holds itself (campaign/map/sketch.py), painted before Leaflet runs.
PROBE = """
(() => {
  const b = window.__bench = { shape: null, leafletShape: null, marker: null, longTasks: [] };
  const at = (key) => {
    if (b[key] !== null) return;
    b[key] = -1;
    requestAnimationFrame(() => { b[key] = performance.now(); });
  };
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) b.longTasks.push([e.startTime, e.duration]);
  }).observe({ type: "longtask", buffered: true });
  const seen = (node) => {
    if (node.nodeType !== 1 || !node.closest || node.classList.contains("leaflet-pane")) return;
    if (node.closest(".leaflet-marker-pane")) return at("marker");
    const paths = node.matches("path, canvas") ? [node] : node.querySelectorAll("path, canvas");
    for (const p of paths) {
      if (!p.closest(".folium-map")) continue;
      if (p.classList.contains("campaign-marker")) { at("marker"); continue; }
      at("shape");
      if (p.closest(".leaflet-pane")) at("leafletShape");
    }
  };
  new MutationObserver((records) => {
    for (const r of records) for (const n of r.addedNodes) seen(n);
  }).observe(document, { childList: true, subtree: true });
})();
"""
QUIET_MS = 1500
PAGES_VERSION = 2  # of folium_pages below: 2 gave the maps a maxZoom


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- folium's pages -------------------------------------------------------------------


def our_points(address: str) -> list[tuple[float, float, str]]:
    """The markers our map draws for a signed-out visitor: (lat, lon, label)."""
    with urlopen(f"{address}/map/data.json", timeout=60) as response:  # noqa: S310 - loopback
        payload = decode_payload(json.load(response))
    fields = {name: i for i, name in enumerate(payload["fields"])}
    return [(p[fields["lat"]], p[fields["lon"]], p[fields["label"]]) for p in payload["points"]]


def folium_pages(points, folder: Path) -> dict[str, Path]:
    """folium's two maps of the points, with local assets, in `folder/plain` (kept while
    the points are the same: rendering 15,000 Markers takes folium a while)."""
    import folium
    from folium.plugins import FastMarkerCluster

    # The pages are rebuilt when the points or the way they are written change.
    digest = hashlib.sha256(json.dumps([PAGES_VERSION, points]).encode()).hexdigest()[:12]
    plain = folder / "plain"
    stamp = plain / f"points-{digest}"
    pages = {"fast": plain / "fast.html", "naive": plain / "naive.html"}
    if stamp.exists():
        return pages
    shutil.rmtree(folder, ignore_errors=True)
    assets = plain / "assets"
    local = {}
    for url, source in FOLIUM_ASSETS.items():
        target = assets / source
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(NODE / source, target)
        local[url] = f"assets/{source}"
    for source in FOLIUM_FOLDERS:
        shutil.copytree(NODE / source, assets / source, dirs_exist_ok=True)
    (assets / "leaflet.awesome.rotate.min.css").write_text(ROTATE_CSS)
    local[ROTATE_URL] = "assets/leaflet.awesome.rotate.min.css"

    def new_map():
        # No tiles (no third-party host), so the map needs its own maxZoom, which a tile
        # layer would have given: without it Leaflet.markercluster throws "Map has no
        # maxZoom specified" and FastMarkerCluster draws nothing. Ours stops at 12 too.
        return folium.Map(location=[39.5, -98.35], zoom_start=4, tiles=None, maxZoom=12)

    def save(fmap, path: Path) -> None:
        html = fmap.get_root().render()
        for url, target in local.items():
            html = html.replace(url, target)
        assert "https://" not in html.split("<body>")[0], "a CDN URL was not replaced"
        path.write_text(html)

    fast = new_map()
    FastMarkerCluster(data=[[lat, lon] for lat, lon, _ in points]).add_to(fast)
    save(fast, pages["fast"])
    log(f"rendering folium's naive map of {len(points):,} markers...")
    naive = new_map()
    for lat, lon, label in points:
        folium.Marker([lat, lon], popup=folium.Popup(label)).add_to(naive)
    save(naive, pages["naive"])
    stamp.touch()
    return pages


def serve_folium(folder: Path) -> tuple[str, object]:
    """folium's files on loopback: /plain/ as saved, /compressed/ behind WhiteNoise."""
    from werkzeug.serving import make_server
    from whitenoise import WhiteNoise
    from whitenoise.compress import Compressor

    compressed = folder / "compressed"
    if not (compressed / "fast.html.br").exists():
        shutil.rmtree(compressed, ignore_errors=True)
        shutil.copytree(folder / "plain", compressed)
        compressor = Compressor(quiet=True)
        for path in compressed.rglob("*"):
            if path.is_file() and compressor.should_compress(path.name):
                compressor.compress(str(path))

    def not_found(environ, start_response):
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found"]

    app = WhiteNoise(not_found, max_age=None, allow_all_origins=False)
    plain_app = WhiteNoise(not_found, max_age=None, allow_all_origins=False)
    plain_app.add_files(str(folder / "plain"), "/plain/")
    app.add_files(str(compressed), "/compressed/")

    def dispatch(environ, start_response):
        if environ["PATH_INFO"].startswith("/plain/"):
            environ = {**environ, "HTTP_ACCEPT_ENCODING": ""}  # as saved: no compression
            return plain_app(environ, start_response)
        return app(environ, start_response)

    server = make_server("127.0.0.1", 0, dispatch, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}", server


# --- one page load --------------------------------------------------------------------


def kind_of(resource_type: str, url: str) -> str:
    if resource_type == "Document":
        return "document"
    # JSON fetched by script, or preloaded for it (Chromium calls those "Other").
    if resource_type in ("Fetch", "XHR") or url.split("?")[0].endswith(".json"):
        return "data"
    if resource_type == "Script":
        return "scripts"
    if resource_type == "Stylesheet":
        return "styles"
    return "other"


def load(browser, url: str, throttled: bool, ready: str | None, timeout_s: float) -> dict:
    """One cold load of `url`: bytes by kind, draw times, long tasks, heap."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.add_init_script(PROBE)
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    if throttled:
        cdp.send("Network.emulateNetworkConditions", THROTTLED)
    types: dict[str, str] = {}
    urls: dict[str, str] = {}
    sizes: dict[str, int] = {}
    cdp.on(
        "Network.responseReceived",
        lambda e: (
            types.__setitem__(e["requestId"], e["type"]),
            urls.__setitem__(e["requestId"], e["response"]["url"]),
        ),
    )
    cdp.on(
        "Network.loadingFinished",
        lambda e: sizes.__setitem__(e["requestId"], int(e["encodedDataLength"])),
    )
    origin = url.split("/", 3)[:3]
    page.goto(url, wait_until="commit", timeout=timeout_s * 1000)
    deadline = time.monotonic() + timeout_s
    condition = "window.__bench && window.__bench.marker > 0"
    if ready:
        condition += f" && document.querySelector('{ready}') !== null"
    page.wait_for_function(f"() => {condition}", timeout=timeout_s * 1000, polling=100)
    # Quiet: no long task and no network response for QUIET_MS.
    while time.monotonic() < deadline:
        idle = page.evaluate(
            """() => {
              const b = window.__bench;
              const ends = b.longTasks.map(([s, d]) => s + d);
              const net = performance.getEntriesByType("resource").map((r) => r.responseEnd);
              return performance.now() - Math.max(0, ...ends, ...net);
            }"""
        )
        if idle > QUIET_MS:
            break
        page.wait_for_timeout(250)
    bench = page.evaluate("() => window.__bench")
    cdp.send("HeapProfiler.enable")
    cdp.send("HeapProfiler.collectGarbage")
    heap = cdp.send("Runtime.getHeapUsage")["usedSize"]
    foreign = [
        u for u in urls.values() if u.split("/", 3)[:3] != origin and not u.startswith("data:")
    ]
    context.close()
    if foreign:
        raise SystemExit(f"{url} requested another host: {foreign[:3]}")
    by_kind = {"document": 0, "data": 0, "scripts": 0, "styles": 0, "other": 0}
    for request_id, size in sizes.items():
        by_kind[kind_of(types.get(request_id, "Other"), urls.get(request_id, ""))] += size
    long_tasks = bench["longTasks"]
    return {
        **by_kind,
        "total": sum(by_kind.values()),
        "requests": len(sizes),
        "shape_ms": bench["shape"] if bench["shape"] and bench["shape"] > 0 else None,
        "leaflet_shape_ms": bench["leafletShape"]
        if bench["leafletShape"] and bench["leafletShape"] > 0
        else None,
        "marker_ms": bench["marker"],
        "first_ms": min(t for t in (bench["shape"], bench["marker"]) if t and t > 0),
        "busy_until_ms": max((s + d for s, d in long_tasks), default=0.0),
        "blocking_ms": sum(max(0.0, d - 50) for _, d in long_tasks),
        "heap_mb": heap / 1e6,
    }


# --- the runs and the tables ----------------------------------------------------------


def run_rounds(browser, targets: dict, rounds: int, throttled: bool) -> dict[str, list[dict]]:
    results: dict[str, list[dict]] = {name: [] for name in targets}
    names = list(targets)
    for number in range(rounds):
        order = names[number % len(names) :] + names[: number % len(names)]
        for name in order:
            url, ready, timeout_s = targets[name]
            result = load(browser, url, throttled, ready, timeout_s)
            results[name].append(result)
            log(
                f"{'throttled ' if throttled else ''}round {number + 1}/{rounds} {name}: "
                f"{result['total'] / 1000:,.0f} KB, first drawn {result['first_ms']:,.0f} ms, "
                f"markers {result['marker_ms']:,.0f} ms"
            )
    return results


def median(runs: list[dict], key: str):
    values = [r[key] for r in runs if r[key] is not None]
    return statistics.median(values) if values else None


def table(results: dict[str, list[dict]], labels: dict[str, str], baseline: str) -> str:
    base_total = median(results[baseline], "total")
    base_first = median(results[baseline], "first_ms")
    lines = [
        "| page | runs | document KB | data (JSON) KB | scripts KB | styles KB | other KB "
        "| total KB | × FMC bytes | first shape ms | Leaflet's first shape ms | first marker ms "
        "| first drawn ms | × FMC first drawn | long tasks end ms | blocking ms | JS heap MB |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
        "| ---: | ---: | ---: | ---: |",
    ]

    def ms(value):
        return "–" if value is None else f"{value:,.0f}"

    for name, runs in results.items():
        m = {key: median(runs, key) for key in runs[0]}
        lines.append(
            f"| {labels[name]} | {len(runs)} | {m['document'] / 1000:,.1f} | "
            f"{m['data'] / 1000:,.1f} | {m['scripts'] / 1000:,.1f} | {m['styles'] / 1000:,.1f} | "
            f"{m['other'] / 1000:,.1f} | {m['total'] / 1000:,.1f} | "
            f"{m['total'] / base_total:.2f} | {ms(m['shape_ms'])} | "
            f"{ms(m['leaflet_shape_ms'])} | {ms(m['marker_ms'])} | "
            f"{ms(m['first_ms'])} | {m['first_ms'] / base_first:.2f} | "
            f"{ms(m['busy_until_ms'])} | {ms(m['blocking_ms'])} | {m['heap_mb']:.1f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jurisdictions", type=int, default=20_000)
    parser.add_argument("--commitments", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--naive-rounds", type=int, default=3)
    parser.add_argument("--throttled-rounds", type=int, default=3)
    parser.add_argument("--rebuild", action="store_true", help="Build the campaign afresh.")
    args = parser.parse_args()
    args.accounts, args.official_accounts, args.workers, args.threads = 100, 100, None, None
    size = f"j{args.jurisdictions}-c{args.commitments}"
    folder = ROOT / "instance" / "bench" / size
    url = loadtest.prepare("sqlite:///unused", args, cache_dir=folder)
    from playwright.sync_api import sync_playwright

    server, address, _log = loadtest.serve(url, folder, args)
    try:
        points = our_points(address)
        pages = folium_pages(points, folder / "folium")
        folium_address, folium_server = serve_folium(folder / "folium")
        targets = {
            "ours": (f"{address}/map/", ".folium-map[data-loaded]", 120),
            "fast": (f"{folium_address}/plain/fast.html", None, 120),
            "fast_compressed": (f"{folium_address}/compressed/fast.html", None, 120),
        }
        naive = {
            "naive": (f"{folium_address}/plain/naive.html", None, 300),
            "naive_compressed": (f"{folium_address}/compressed/naive.html", None, 300),
        }
        labels = {
            "ours": "our `/map/`",
            "fast": "folium `FastMarkerCluster`, as saved (the baseline)",
            "fast_compressed": "folium `FastMarkerCluster`, compressed like ours",
            "naive": "folium naive (`Marker` + `Popup` each), as saved",
            "naive_compressed": "folium naive, compressed like ours",
        }
        assert pages["fast"].exists()
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM,
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                      "--disable-component-update", "--no-first-run", "--disable-sync"],
            )  # fmt: skip
            load(browser, targets["ours"][0], False, targets["ours"][1], 120)  # warm the server
            fast = run_rounds(browser, targets, args.rounds, throttled=False)
            slow = (
                run_rounds(browser, naive, args.naive_rounds, throttled=False)
                if args.naive_rounds
                else {}
            )
            throttled = run_rounds(browser, targets, args.throttled_rounds, throttled=True)
            browser.close()
        folium_server.shutdown()
    finally:
        loadtest.stop(server)
    print(
        f"\n{args.jurisdictions:,} jurisdictions, {args.commitments:,} commitments; "
        f"{len(points):,} markers on our map and on folium's; medians; "
        "× FMC: against FastMarkerCluster as saved, in the same run\n"
    )
    print("Loopback, no throttling:\n")
    print(table({**fast, **slow}, labels, "fast"))
    print(f"\nThrottled (1.6 Mbit/s down, 750 kbit/s up, {THROTTLED['latency']} ms):\n")
    print(table(throttled, labels, "fast"))
    ours, base = fast["ours"], fast["fast"]
    bytes_ratio = median(ours, "total") / median(base, "total")
    time_ratio = median(ours, "first_ms") / median(base, "first_ms")
    verdict = "met" if bytes_ratio <= 0.5 and time_ratio <= 0.5 else "NOT met"
    print(
        f"\nTarget (at most half of FastMarkerCluster's bytes and time to first draw): "
        f"{verdict}: {bytes_ratio:.2f}× the bytes, {time_ratio:.2f}× the time."
    )
    leaflet_first = median(ours, "leaflet_shape_ms")
    if leaflet_first is not None:
        print(
            "Our first shape is the outline the page holds; the first Leaflet draws came at "
            f"{leaflet_first / median(base, 'first_ms'):.2f}× FastMarkerCluster's first draw."
        )


if __name__ == "__main__":
    main()
