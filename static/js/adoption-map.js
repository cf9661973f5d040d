// Draws the adoption layers on the folium/Leaflet map. Every string from the server is put on
// the page with textContent or as a DOM text node, never as HTML: names and notes are typed by
// people, and Leaflet's bindPopup/bindTooltip would parse a string as HTML.
//
// What the eye needs first comes first: the states (the outline the page holds as an SVG,
// then Leaflet's light outline, then the full 33 KB states shaded by the figures), then the
// markers, clustered in small chunks so the page keeps answering input. The county boundaries (200 KB compressed) load only when
// their layer is turned on, or the first time the map is zoomed in to county level.
// Tooltips and popups are made when a marker is first pointed at or clicked, not for all
// ~15,000 up front; a popup's detail is fetched per click.
//
// The data arrives columnar (campaign/map/encoding.py, whose decode_payload is the Python twin
// of decodePayload below).
//
// Another overlay fed by its own JSON URL (say, 287(g) agreements) is one call on the object
// campaignAdoptionMap returns:
//
//   adoption.addLazyOverlay("287(g) agreements", url, function (json, layer) {
//     L.geoJSON(json, { pane: adoption.areaPane }).addTo(layer);
//   });
//
// It is listed in the layer control, fetched the first time someone turns it on, and drawn by
// the function into its layer group; addLazyOverlay returns { layer, load }.
(function () {
  "use strict";

  var STAGE_COLOURS = ["#6b6d76", "#1d4f91", "#7a3fa0", "#1f6b3a", "#8a4b00"];
  var SHADES = ["#f1eef6", "#d4b9da", "#c994c7", "#df65b0", "#dd1c77", "#980043"];
  var COUNTY_ZOOM = 6;

  function text(tag, content, className) {
    var node = document.createElement(tag);
    if (content !== undefined && content !== null) { node.textContent = String(content); }
    if (className) { node.className = className; }
    return node;
  }

  function breaks(values) {
    var max = 1;
    values.forEach(function (v) { if (v > max) { max = v; } });
    var steps = [];
    for (var i = 1; i <= SHADES.length - 1; i++) { steps.push(Math.ceil((max * i) / (SHADES.length - 1))); }
    return steps;
  }

  function shade(value, steps) {
    if (!value) { return null; }
    for (var i = 0; i < steps.length; i++) { if (value <= steps[i]) { return SHADES[i + 1]; } }
    return SHADES[SHADES.length - 1];
  }

  // Resolves once the browser has painted what the page holds now. Without it the outlines,
  // drawn as their data arrives, waited for the markers to be made in the same task before
  // anything showed (a 190 ms long task at national size).
  function afterPaint(value) {
    return new Promise(function (resolve) {
      requestAnimationFrame(function () { setTimeout(function () { resolve(value); }, 0); });
    });
  }

  function fetchJSON(url) {
    return fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); });
  }

  function undelta(deltas, scale) {
    var out = new Float64Array(deltas.length), total = 0;
    for (var i = 0; i < deltas.length; i++) { total += deltas[i]; out[i] = total / scale; }
    return out;
  }

  // The columnar payload back into figures: points as columns, counties as {fips: count}.
  function decodePayload(encoded) {
    var p = encoded.points, c = encoded.counties;
    var counties = {}, code = 0;
    for (var i = 0; i < c.fips.length; i++) {
      code += c.fips[i];
      counties[String(code).padStart(c.width, "0")] = c.count[i];
    }
    return {
      stages: encoded.stages,
      states: encoded.states,
      counties: counties,
      points: {
        count: p.count,
        lat: undelta(p.lat, p.precision),
        lon: undelta(p.lon, p.precision),
        stage: p.stage,
        key: p.columns.key,
        label: function (i) { return p.name[i] + p.suffixes[p.suffix[i]]; },
        commitments: p.columns.commitments
      }
    };
  }

  function legend(map, stages, stateSteps) {
    var control = L.control({ position: "bottomright" });
    control.onAdd = function () {
      var box = text("div", null, "map-legend");
      box.appendChild(text("strong", "Commitments per state"));
      var prev = 0;
      stateSteps.forEach(function (step, i) {
        var row = text("div");
        var swatch = text("span", null, "swatch");
        swatch.style.background = SHADES[i + 1];
        row.appendChild(swatch);
        row.appendChild(document.createTextNode(" " + (prev + 1) + (step > prev + 1 ? "–" + step : "")));
        prev = step;
        box.appendChild(row);
      });
      box.appendChild(text("strong", "Furthest stage (markers)"));
      stages.forEach(function (label, i) {
        var row = text("div");
        var dot = text("span", null, "dot");
        dot.style.background = STAGE_COLOURS[i];
        row.appendChild(dot);
        row.appendChild(document.createTextNode(" " + label));
        box.appendChild(row);
      });
      return box;
    };
    control.addTo(map);
  }

  function popupContent(detail) {
    var box = text("div", null, "map-popup");
    box.appendChild(text("strong", detail.label));
    box.appendChild(text("div", detail.kind, "muted"));
    var list = text("ul");
    detail.commitments.forEach(function (c) {
      var item = text("li");
      item.appendChild(text("span", c.policy + ": "));
      item.appendChild(text("strong", c.stage));
      item.appendChild(text("span", " — " + c.official + (c.office ? ", " + c.office : "")));
      list.appendChild(item);
    });
    box.appendChild(list);
    return box;
  }

  window.campaignAdoptionMap = function (map, config) {
    // Without a tile layer Leaflet has no zoom bounds, which clustering needs.
    if (!map.options.maxZoom) { map.setMaxZoom(12); }
    if (!map.options.minZoom) { map.setMinZoom(2); }
    map.attributionControl.addAttribution("Boundaries: U.S. Census Bureau via us-atlas; places: GeoNames");
    // Areas drawn later (counties, other overlays) go under the states' outlines.
    var areaPane = map.createPane("campaignAreas");
    areaPane.style.zIndex = 350;
    var statesLayer = L.layerGroup().addTo(map);
    var markers = L.markerClusterGroup({
      chunkedLoading: true, chunkInterval: 40, chunkDelay: 1, showCoverageOnHover: false
    });
    map.addLayer(markers);
    var control = L.control.layers(null, { "States": statesLayer }, { collapsed: false }).addTo(map);
    var data = fetchJSON(config.dataUrl).then(decodePayload);
    var adoption = { map: map, control: control, data: data, areaPane: "campaignAreas" };

    adoption.addLazyOverlay = function (name, url, draw) {
      var layer = L.layerGroup(), loading = null;
      function load() {
        if (!loading) {
          loading = fetchJSON(url).then(function (json) { return draw(json, layer); });
        }
        return loading;
      }
      layer.on("add", load);
      control.addOverlay(layer, name);
      return { layer: layer, load: load };
    };

    var counties = adoption.addLazyOverlay("Counties", config.countiesUrl, function (topo, layer) {
      return data.then(function (figures) {
        var steps = breaks(Object.values(figures.counties));
        L.geoJSON(topojson.feature(topo, topo.objects.counties), {
          pane: adoption.areaPane,
          style: function (f) {
            var fill = shade(figures.counties[f.id], steps);
            return { color: "#9a9ca5", weight: 0.3, fillColor: fill || "#ffffff", fillOpacity: fill ? 0.75 : 0 };
          },
          interactive: false
        }).addTo(layer);
        map.getContainer().setAttribute("data-counties", "drawn");
      });
    });
    // Counties appear by themselves the first time the map is zoomed in to them, unless the
    // person has already turned the layer on or off.
    var countiesByZoom = true;
    map.on("overlayadd overlayremove", function (e) { if (e.layer === counties.layer) { countiesByZoom = false; } });
    map.on("zoomend", function () {
      if (countiesByZoom && map.getZoom() >= COUNTY_ZOOM) { countiesByZoom = false; counties.layer.addTo(map); }
    });
    control.addOverlay(markers, "Cities and other bodies");

    // A light outline of the states is drawn as soon as it arrives (a third of the points:
    // Leaflet's first drawing is its slowest), and painted before anything else is done.
    // The full states then replace it, shaded and labelled, joined by the markers.
    // The page holds the same outline as an SVG, painted before this script ran
    // (campaign/map/sketch.py); it goes once Leaflet's own is drawn, or when the map moves.
    var sketch = map.getContainer().querySelector(".map-sketch");
    function removeSketch() { if (sketch) { sketch.remove(); sketch = null; } }
    map.once("movestart zoomstart", removeSketch);
    var outlineStyle = { color: "#3a3b40", weight: 1, fillColor: "#ffffff", fillOpacity: 0 };
    var outline = fetchJSON(config.outlineUrl).then(function (topo) {
      return L.geoJSON(topojson.feature(topo, topo.objects.states), {
        style: outlineStyle, interactive: false
      }).addTo(statesLayer);
    }).then(afterPaint).then(function (drawn) { removeSketch(); return drawn; });
    var states = outline.then(function () { return fetchJSON(config.statesUrl); });
    Promise.all([states, data])
      .then(function (loaded) {
        var statesTopo = loaded[0], figures = loaded[1];
        var outlines = L.geoJSON(topojson.feature(statesTopo, statesTopo.objects.states), {
          style: outlineStyle
        });
        statesLayer.clearLayers();
        outlines.addTo(statesLayer);
        var stateSteps = breaks(Object.values(figures.states));
        outlines.eachLayer(function (layer) {
          var f = layer.feature, fill = shade(figures.states[f.id], stateSteps);
          layer.setStyle({ fillColor: fill || "#ffffff", fillOpacity: fill ? 0.35 : 0 });
          var label = text("span", f.properties.name + ": " + (figures.states[f.id] || 0) + " commitments");
          layer.bindTooltip(label, { sticky: true });
        });
        legend(map, figures.stages, stateSteps);
        addMarkers(figures.points);
      })
      .catch(function () {
        map.getContainer().setAttribute("data-loaded", "error");
      });

    function addMarkers(points) {
      var layers = new Array(points.count);
      for (var i = 0; i < points.count; i++) {
        layers[i] = L.circleMarker([points.lat[i], points.lon[i]], {
          radius: 5 + Math.min(7, points.commitments[i]),
          color: "#ffffff", weight: 1.5, fillOpacity: 0.9, className: "campaign-marker",
          fillColor: STAGE_COLOURS[+points.stage[i]] || STAGE_COLOURS[0],
          campaignIndex: i
        });
      }
      // The first time a marker is pointed at or clicked, it gets its tooltip or popup.
      markers.on("mouseover", function (e) {
        var marker = e.layer;
        if (!marker.getTooltip()) {
          marker.bindTooltip(text("span", points.label(marker.options.campaignIndex))).openTooltip();
        }
      });
      markers.on("click", function (e) {
        var marker = e.layer;
        if (marker.getPopup()) { return; }
        var key = points.key[marker.options.campaignIndex];
        marker.bindPopup(text("span", "Loading…"));
        marker.on("popupopen", function (event) {
          fetchJSON(config.detailUrl.replace("__KEY__", encodeURIComponent(key)))
            .then(function (detail) { event.popup.setContent(popupContent(detail)); })
            .catch(function () { event.popup.setContent(text("span", "Could not load details.")); });
        });
        marker.openPopup();
      });
      markers.options.chunkProgress = function (processed, total) {
        if (processed === total) { map.getContainer().setAttribute("data-loaded", String(total)); }
      };
      markers.addLayers(layers);
      if (!points.count) { map.getContainer().setAttribute("data-loaded", "0"); }
    }

    return adoption;
  };
})();
