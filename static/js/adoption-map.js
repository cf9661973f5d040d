// Draws the adoption layers on the folium/Leaflet map. Every string from the server is put on
// the page with textContent or as a DOM text node, never as HTML: names and notes are typed by
// people, and Leaflet's bindPopup/bindTooltip would parse a string as HTML.
(function () {
  "use strict";

  var STAGE_COLOURS = ["#6b6d76", "#1d4f91", "#7a3fa0", "#1f6b3a", "#8a4b00"];
  var SHADES = ["#f1eef6", "#d4b9da", "#c994c7", "#df65b0", "#dd1c77", "#980043"];

  function text(tag, content, className) {
    var node = document.createElement(tag);
    if (content !== undefined && content !== null) { node.textContent = String(content); }
    if (className) { node.className = className; }
    return node;
  }

  function breaks(values) {
    var max = Math.max.apply(null, [1].concat(values));
    var steps = [];
    for (var i = 1; i <= SHADES.length - 1; i++) { steps.push(Math.ceil((max * i) / (SHADES.length - 1))); }
    return steps;
  }

  function shade(value, steps) {
    if (!value) { return null; }
    for (var i = 0; i < steps.length; i++) { if (value <= steps[i]) { return SHADES[i + 1]; } }
    return SHADES[SHADES.length - 1];
  }

  function fetchJSON(url) {
    return fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); });
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
    var statesLayer = L.layerGroup().addTo(map);
    var countiesLayer = L.layerGroup().addTo(map);
    var markers = L.markerClusterGroup({ chunkedLoading: true, showCoverageOnHover: false });
    map.addLayer(markers);
    L.control.layers(null, { "States": statesLayer, "Counties": countiesLayer, "Cities and other bodies": markers }, { collapsed: false }).addTo(map);

    Promise.all([fetchJSON(config.statesUrl), fetchJSON(config.countiesUrl), fetchJSON(config.dataUrl)])
      .then(function (loaded) {
        var statesTopo = loaded[0], countiesTopo = loaded[1], data = loaded[2];
        var stateSteps = breaks(Object.values(data.states));
        var countySteps = breaks(Object.values(data.counties));

        L.geoJSON(topojson.feature(countiesTopo, countiesTopo.objects.counties), {
          style: function (f) {
            var fill = shade(data.counties[f.id], countySteps);
            return { color: "#9a9ca5", weight: 0.3, fillColor: fill || "#ffffff", fillOpacity: fill ? 0.75 : 0 };
          },
          interactive: false
        }).addTo(countiesLayer);

        L.geoJSON(topojson.feature(statesTopo, statesTopo.objects.states), {
          style: function (f) {
            var fill = shade(data.states[f.id], stateSteps);
            return { color: "#3a3b40", weight: 1, fillColor: fill || "#ffffff", fillOpacity: fill ? 0.35 : 0 };
          },
          onEachFeature: function (f, layer) {
            var label = text("span", f.properties.name + ": " + (data.states[f.id] || 0) + " commitments");
            layer.bindTooltip(label, { sticky: true });
          }
        }).addTo(statesLayer);

        var field = {};
        data.fields.forEach(function (name, i) { field[name] = i; });
        var layers = data.points.map(function (p) {
          var marker = L.circleMarker([p[field.lat], p[field.lon]], {
            radius: 5 + Math.min(7, p[field.commitments]),
            color: "#ffffff", weight: 1.5, fillOpacity: 0.9, className: "campaign-marker",
            fillColor: STAGE_COLOURS[p[field.stage]] || STAGE_COLOURS[0]
          });
          marker.bindTooltip(text("span", p[field.label]));
          marker.bindPopup(text("span", "Loading…"));
          marker.on("popupopen", function (event) {
            fetchJSON(config.detailUrl.replace("__KEY__", encodeURIComponent(p[field.key])))
              .then(function (detail) { event.popup.setContent(popupContent(detail)); })
              .catch(function () { event.popup.setContent(text("span", "Could not load details.")); });
          });
          marker.options.campaignKey = p[field.key];
          return marker;
        });
        markers.addLayers(layers);
        legend(map, data.stages, stateSteps);
        map.getContainer().setAttribute("data-loaded", String(layers.length));
      })
      .catch(function () {
        map.getContainer().setAttribute("data-loaded", "error");
      });
  };
})();
