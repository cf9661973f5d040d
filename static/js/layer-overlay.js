// Reference layers (public lists such as ICE's 287(g) agreements) as overlays on the adoption
// map. Self-contained: it finds the Leaflet map folium made, and draws each layer whose switch
// (a checkbox with data-layer-url) is on. Every string from the server goes on the page as a
// DOM text node, never as HTML.
(function () {
  "use strict";

  var MODEL_COLOURS = {
    "Jail Enforcement Model": "#8b1a1a",
    "Warrant Service Officer": "#b35806",
    "Task Force Model": "#542788"
  };
  var SEVERAL = "#111111";
  var ENDED = "#6b6d76";
  var overlays = {};

  function text(tag, content, className) {
    var node = document.createElement(tag);
    if (content !== undefined && content !== null) { node.textContent = String(content); }
    if (className) { node.className = className; }
    return node;
  }

  function colour(place) {
    if (place.status === "ended") { return ENDED; }
    if (place.models.length === 1 && MODEL_COLOURS[place.models[0]]) { return MODEL_COLOURS[place.models[0]]; }
    return place.models.length > 1 ? SEVERAL : MODEL_COLOURS["Task Force Model"];
  }

  function tooltip(place) {
    var box = text("div", null, "map-popup");
    box.appendChild(text("strong", place.label));
    box.appendChild(text("div", place.status_label + (place.models.length ? ": " + place.models.join(", ") : "")));
    box.appendChild(text("div", place.agencies.join("; "), "muted"));
    return box;
  }

  function legend(map, layer) {
    var control = L.control({ position: "bottomleft" });
    control.onAdd = function () {
      var box = text("div", null, "map-legend layer-legend");
      box.appendChild(text("strong", layer.name + (layer.as_of ? " (as of " + layer.as_of + ")" : "")));
      var rows = Object.keys(MODEL_COLOURS).map(function (m) { return [MODEL_COLOURS[m], m, true]; });
      rows.push([SEVERAL, "Several models", true], [ENDED, "No longer listed", false]);
      rows.forEach(function (row) {
        var line = text("div");
        var dot = text("span", null, "dot");
        dot.style.background = row[2] ? row[0] : "transparent";
        dot.style.border = "2px solid " + row[0];
        line.appendChild(dot);
        line.appendChild(document.createTextNode(" " + row[1]));
        box.appendChild(line);
      });
      return box;
    };
    return control;
  }

  // Draws the layer at `url` on `map`; resolves to {group, legend} once it is on the map.
  window.campaignLayerOverlay = function (map, url) {
    return fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (data) {
        var group = L.featureGroup();
        data.jurisdictions.forEach(function (place) {
          if (place.lat === null || place.lon === null) { return; }
          var stroke = colour(place);
          var marker = L.circleMarker([place.lat, place.lon], {
            radius: place.fips && place.fips.length === 2 ? 9 : 6,
            color: stroke,
            weight: 2,
            dashArray: place.status === "pending" ? "3 3" : null,
            fillColor: stroke,
            fillOpacity: place.status === "listed" ? 0.75 : 0,
            className: "layer-marker layer-" + place.status
          });
          marker.bindTooltip(tooltip(place));
          group.addLayer(marker);
        });
        var control = legend(map, data.layer);
        group.addTo(map);
        control.addTo(map);
        return { group: group, legend: control };
      });
  };

  function setUrl(slug) {
    if (!window.history || !window.URL) { return; }
    var url = new URL(window.location.href);
    if (slug) { url.searchParams.set("layer", slug); } else { url.searchParams.delete("layer"); }
    window.history.replaceState(null, "", url.toString());
  }

  function toggle(map, input) {
    var url = input.getAttribute("data-layer-url");
    if (input.checked) {
      if (overlays[url]) { return; }
      overlays[url] = "loading";
      window.campaignLayerOverlay(map, url).then(function (drawn) {
        if (!input.checked) { map.removeLayer(drawn.group); map.removeControl(drawn.legend); delete overlays[url]; return; }
        overlays[url] = drawn;
        input.setAttribute("data-layer-loaded", "1");
      }).catch(function () { delete overlays[url]; input.setAttribute("data-layer-loaded", "error"); });
    } else if (overlays[url] && overlays[url] !== "loading") {
      map.removeLayer(overlays[url].group);
      map.removeControl(overlays[url].legend);
      delete overlays[url];
      input.removeAttribute("data-layer-loaded");
    }
  }

  function start() {
    var frame = document.querySelector(".folium-map");
    var map = frame && window[frame.id];
    var form = document.querySelector("[data-layer-switch]");
    if (!map || !form) { return; }
    var inputs = Array.prototype.slice.call(form.querySelectorAll("input[data-layer-url]"));
    inputs.forEach(function (input) {
      input.addEventListener("change", function () {
        toggle(map, input);
        var on = inputs.filter(function (i) { return i.checked; })[0];
        setUrl(on ? on.value : null);
      });
      if (input.checked) { toggle(map, input); }
    });
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
