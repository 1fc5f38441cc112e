"""The JavaScript and CSS the live map page carries (inline; nothing is fetched).

The page script draws the site from ``window.CC_DATA`` on the Leaflet map folium made, and
offers the functions Python calls to update the map in place, without a reload:

- ``ccSetGaugeStates({id: {state, value}}, serial)`` — recolour gauges (state keys of
  :class:`~commandcenter.ui.alarms.overview.TileState`);
- ``ccSetHazard(feature | null, serial)`` — the zone polygon and its draggable source marker;
- ``ccSetRoutes(featureCollection, serial)`` — evacuation routes, stranded buildings, blocked
  assembly points, ways of the nearest resources;
- ``ccSetPlacing(on)`` — arm "click the map to set the hazard source";
- ``ccSetLanguage(lang)`` — relabel layers, legend and popups;
- ``ccInspect()`` — the drawn state as JSON (for checks and diagnostics).

The page answers through the ``QWebChannel`` object ``ccBridge`` with JSON text:
``{"type": "ready"}`` once the site is drawn, ``{"type": "drawn", "serial": n}`` after each
update with a serial, ``{"type": "hazard", "lat": .., "lon": .., "how": "click" | "drag"}`` when
the commander places or drags the source.
"""

from __future__ import annotations

MAP_NAME_MARK = "__CC_MAP__"
"""Replaced by the folium map's JavaScript variable name."""

PAGE_CSS = r"""
html, body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei",
  "WenQuanYi Micro Hei", sans-serif; background: #E9ECEF; }
.leaflet-container { background: #E9ECEF; font-family: inherit; font-size: 15px; }
.leaflet-control-layers { font-size: 15px; line-height: 1.5; }
.leaflet-control-layers-expanded { padding: 8px 12px 8px 8px; }
.leaflet-control-layers label { margin: 2px 0; }
.leaflet-control-scale-line { font-size: 14px; }
.leaflet-popup-content { font-size: 16px; line-height: 1.45; margin: 12px 16px; min-width: 220px; }
.leaflet-popup-content h3 { font-size: 18px; margin: 0 0 6px 0; }
.leaflet-popup-content table { border-collapse: collapse; }
.leaflet-popup-content td { padding: 1px 10px 1px 0; vertical-align: top; }
.leaflet-popup-content td.k { color: #52606D; white-space: nowrap; }
.cc-state { display: inline-block; padding: 0 6px; border-radius: 3px; font-weight: bold;
  border: 1px solid #000; }
.leaflet-tooltip.cc-blabel { background: rgba(255,255,255,0.82); border: 0; box-shadow: none;
  color: #1F2933; font: bold 13px/1.1 inherit; padding: 1px 3px; }
.leaflet-tooltip.cc-blabel::before { display: none; }
.leaflet-tooltip.cc-glabel { font: bold 15px/1.2 inherit; padding: 2px 6px; border-width: 2px;
  box-shadow: 0 1px 4px rgba(0,0,0,.5); }
.leaflet-tooltip.cc-stranded { background: #C62828; color: #FFFFFF; border: 2px solid #000;
  font: bold 16px/1.2 inherit; padding: 3px 8px; box-shadow: 0 1px 6px rgba(0,0,0,.6); }
.leaflet-tooltip.cc-route { font-size: 15px; }
.cc-ap { background: #009E3C; color: #FFFFFF; border: 2px solid #FFFFFF; border-radius: 4px;
  font: bold 15px/1.2 inherit; padding: 2px 6px; white-space: nowrap; display: inline-block;
  box-shadow: 0 0 4px #000; transform: translate(-50%, -50%); }
.cc-ap.blocked { background: #7B8794; text-decoration: line-through; border-color: #C62828; }
.cc-source { background: #C62828; border: 4px solid #FFFFFF; border-radius: 50%;
  box-shadow: 0 0 0 2px #000, 0 0 10px rgba(0,0,0,.6); cursor: move; }
.cc-source.fixed { cursor: default; }
.cc-placing, .cc-placing .leaflet-interactive { cursor: crosshair !important; }
.cc-hint { display: none; background: #1F5F99; color: #fff; font: bold 17px/1.3 inherit;
  padding: 8px 14px; border-radius: 4px; box-shadow: 0 1px 6px rgba(0,0,0,.5); }
.cc-legend { background: rgba(255,255,255,0.93); padding: 8px 12px; border-radius: 4px;
  box-shadow: 0 1px 5px rgba(0,0,0,.4); font-size: 14px; line-height: 1.55; }
.cc-legend b { display: block; margin-top: 2px; }
.cc-legend i.cc-gauge { display: inline-block; width: 12px; height: 12px; vertical-align: 0;
  margin: 0 10px 0 3px; }
.cc-gauge { box-sizing: border-box; border: 2px solid #333; transform: rotate(45deg);
  box-shadow: 0 0 2px rgba(0,0,0,.5); }
.cc-legend s { display: inline-block; width: 26px; height: 0; border-top: 5px solid;
  vertical-align: 3px; margin-right: 6px; text-decoration: none; }
.cc-wall .leaflet-tooltip.cc-blabel { font-size: 18px; }
.cc-wall .leaflet-tooltip.cc-glabel { font-size: 22px; }
.cc-wall .leaflet-tooltip.cc-stranded { font-size: 24px; }
.cc-wall .cc-ap { font-size: 20px; }
.cc-wall .cc-legend { font-size: 19px; }
.cc-wall .leaflet-control-scale-line { font-size: 18px; }
.cc-legend u { display: inline-block; width: 14px; height: 12px; border: 2px solid #B00000;
  background: rgba(255,48,48,.35); vertical-align: -2px; margin-right: 6px; }
"""

PAGE_SCRIPT = r"""
(function () {
  "use strict";
  const map = __CC_MAP__;
  const D = window.CC_DATA;
  let lang = D.lang;
  document.body.classList.toggle("cc-wall", !!D.wall);
  const S = () => D.strings[lang];
  const esc = (t) => String(t === undefined || t === null ? "" : t).replace(/[&<>"']/g,
    (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
  const nm = (o) => (o && (o[lang] || o.zh || o.en)) || "";
  const ll = (c) => [c[1], c[0]];
  const stats = {gaugeUpdates: 0, hazardUpdates: 0, routeUpdates: 0};

  // ------------------------------------------------------------------ bridge to Python
  let bridge = null;
  const outbox = [];
  function post(msg) {
    const text = JSON.stringify(msg);
    if (bridge) { bridge.post(text); } else { outbox.push(text); }
  }
  if (window.qt && window.qt.webChannelTransport && window.QWebChannel) {
    new QWebChannel(window.qt.webChannelTransport, function (channel) {
      bridge = channel.objects.ccBridge;
      outbox.splice(0).forEach((text) => bridge.post(text));
    });
  }
  function drawn(serial) {
    if (typeof serial === "number") {
      requestAnimationFrame(() => post({type: "drawn", serial: serial}));
    }
  }

  // ------------------------------------------------------------------ panes (drawing order)
  [["ccBoundary", 350], ["ccBuildings", 360], ["ccNetwork", 370], ["ccZone", 380],
   ["ccRoutes", 390], ["ccNearest", 395], ["ccResources", 610], ["ccSource", 615],
   ["ccGauges", 620]].forEach(([name, z]) => { map.createPane(name).style.zIndex = z; });

  // ------------------------------------------------------------------ popups
  let placing = false;
  function row(k, v) {
    return (v === undefined || v === null || v === "") ? "" :
      "<tr><td class='k'>" + esc(k) + "</td><td>" + v + "</td></tr>";
  }
  function buildingPopup(b) {
    const s = S();
    return "<h3>" + esc(nm(b.name)) + " (" + esc(b.id) + ")</h3><table>" +
      row(s.kind, esc(nm(b.kindName))) + row(s.people, esc(b.people)) +
      row(s.hazards, b.hazards.length ? esc(b.hazards.join("、")) : esc(s.none)) +
      (stranded[b.id] ? row("", "<b style='color:#C62828'>" + esc(s.no_route) + "</b>") : "") +
      "</table>";
  }
  function resourcePopup(r) {
    const s = S();
    return "<h3>" + esc(nm(r.name)) + " (" + esc(r.id) + ")</h3><table>" +
      row(s.kind, esc(nm(D.kinds[r.kind].name))) + row(s.spec, esc(r.spec)) +
      row(s.quantity, esc(r.quantity)) + row(s.capacity, r.capacity ? esc(r.capacity) : "") +
      row(s.building, esc(r.building)) + "</table>";
  }
  function gaugePopup(g) {
    const s = S();
    const st = gaugeState[g.id] || {state: "no_data", value: "—"};
    const look = D.states[st.state] || D.states.no_data;
    return "<h3>" + esc(nm(g.name)) + " (" + esc(g.id) + ")</h3><table>" +
      row(s.value, "<b>" + esc(st.value) + "</b>") + row(s.unit, esc(g.unit)) +
      row(s.state, "<span class='cc-state' style='background:" + look.fill + ";color:" +
          look.text + "'>" + esc(nm(look.name)) + "</span>") + "</table>";
  }
  let openPopup = null;
  function clicked(e, content) {
    L.DomEvent.stop(e);
    if (placing) { place(e.latlng); return; }
    const popup = L.popup({maxWidth: 420}).setLatLng(e.latlng).setContent(content);
    popup._ccRefresh = typeof content === "function" ? () => popup.update() : null;
    openPopup = popup.openOn(map);
  }

  // ------------------------------------------------------------------ the site
  const groups = {};
  if (D.boundary) {
    groups.boundary = L.layerGroup([L.polygon(D.boundary, {pane: "ccBoundary", color: "#333",
      weight: 3, dashArray: "8 6", fill: false, interactive: false})]);
  }
  groups.buildings = L.layerGroup();
  const buildingShapes = {};
  D.buildings.forEach((b) => {
    const shape = L.polygon(b.ring, {pane: "ccBuildings", bubblingMouseEvents: false});
    shape.on("click", (e) => clicked(e, buildingPopup(b)));
    shape.bindTooltip(esc(b.id), {permanent: true, direction: "center",
      className: "cc-blabel", interactive: false});
    buildingShapes[b.id] = shape;
    groups.buildings.addLayer(shape);
  });
  groups.network = L.layerGroup();
  D.roads.forEach((p) => groups.network.addLayer(L.polyline(p, {pane: "ccNetwork",
    color: "#8A8A8A", weight: 4, interactive: false})));
  D.walkways.forEach((p) => groups.network.addLayer(L.polyline(p, {pane: "ccNetwork",
    color: "#A8A8A8", weight: 1.5, dashArray: "3 4", interactive: false})));
  const kindGroups = {};
  const apMarkers = {};
  D.resources.forEach((r) => {
    const group = kindGroups[r.kind] || (kindGroups[r.kind] = L.layerGroup());
    let layer;
    if (r.kind === "assembly_point") {
      layer = L.marker(r.at, {pane: "ccResources", keyboard: false,
        icon: L.divIcon({className: "", iconSize: null,
                         html: "<div class='cc-ap'>" + esc(r.id) + "</div>"})});
      apMarkers[r.id] = layer;
    } else {
      layer = L.circleMarker(r.at, {pane: "ccResources", radius: 6, color: "#000", weight: 1,
        fillColor: D.kinds[r.kind].colour, fillOpacity: 1, bubblingMouseEvents: false});
    }
    layer.on("click", (e) => clicked(e, resourcePopup(r)));
    group.addLayer(layer);
  });
  groups.gauges = L.layerGroup();
  const gaugeMarkers = {};
  const gaugeState = {};
  function gaugeIcon(state) {
    const look = D.states[state] || D.states.no_data;
    const size = look.formal ? 24 : (state === "normal" || state === "no_data" ? 13 : 18);
    return L.divIcon({className: "", iconSize: [size, size], iconAnchor: [size / 2, size / 2],
      html: "<div class='cc-gauge cc-gs-" + esc(state) + "' style='width:" + size +
            "px;height:" + size + "px'></div>"});
  }
  D.gauges.forEach((g) => {
    const m = L.marker(g.at, {pane: "ccGauges", keyboard: false, icon: gaugeIcon("no_data")});
    m.on("click", (e) => clicked(e, () => gaugePopup(g)));
    gaugeMarkers[g.id] = m;
    groups.gauges.addLayer(m);
  });
  function styleGauge(id) {
    const m = gaugeMarkers[id];
    if (!m) { return; }
    const st = gaugeState[id] || {state: "no_data", value: "—"};
    const look = D.states[st.state] || D.states.no_data;
    m.setIcon(gaugeIcon(st.state));
    m.setZIndexOffset(look.formal ? 1000 : (st.state === "normal" ? 0 : 500));
    m.unbindTooltip();
    if (look.formal || st.state === "prealarm") {
      // Level 2 labels go right, level 1 left, pre-alarms up: neighbours do not hide each other.
      const side = {alarm2: ["right", [14, 0]], alarm1: ["left", [-14, 0]]}[st.state] ||
        ["top", [0, -14]];
      m.bindTooltip(esc(id) + " " + esc(st.value), {permanent: true, direction: side[0],
        offset: side[1], className: "cc-glabel cc-g-" + st.state, interactive: false});
    }
  }
  window.ccSetGaugeStates = function (states, serial) {
    Object.keys(states || {}).forEach((id) => {
      gaugeState[id] = states[id];
      styleGauge(id);
    });
    stats.gaugeUpdates += 1;
    if (openPopup && map.hasLayer(openPopup) && typeof openPopup._ccRefresh === "function") {
      openPopup._ccRefresh();
    }
    drawn(serial);
  };

  // ------------------------------------------------------------------ hazard zone
  groups.zone = L.layerGroup();
  let zonePoly = null;
  let hazard = null;
  window.ccSetHazard = function (feature, serial) {
    groups.zone.clearLayers();
    zonePoly = null;
    hazard = feature ? feature.properties : null;
    if (feature) {
      zonePoly = L.polygon(feature.geometry.coordinates[0].map(ll), {pane: "ccZone",
        color: "#B00000", weight: 3, fillColor: "#FF3030", fillOpacity: 0.22,
        interactive: false});
      groups.zone.addLayer(zonePoly);
      const source = L.marker(feature.properties.centre, {pane: "ccSource",
        draggable: D.interactive, keyboard: false, autoPan: true,
        icon: L.divIcon({className: D.interactive ? "cc-source" : "cc-source fixed",
                         iconSize: [30, 30], iconAnchor: [15, 15]})});
      let start = null;
      let ring = null;
      source.on("dragstart", () => { start = source.getLatLng(); ring = zonePoly.getLatLngs(); });
      source.on("drag", () => {
        const p = source.getLatLng();
        const dl = p.lat - start.lat;
        const dn = p.lng - start.lng;
        zonePoly.setLatLngs(ring[0].map((q) => [q.lat + dl, q.lng + dn]));
      });
      source.on("dragend", () => {
        const p = source.getLatLng();
        post({type: "hazard", lat: p.lat, lon: p.lng, how: "drag"});
      });
      groups.zone.addLayer(source);
      if (!map.hasLayer(groups.zone)) { groups.zone.addTo(map); }
    }
    stats.hazardUpdates += 1;
    drawn(serial);
  };

  // ------------------------------------------------------------------ routes
  groups.routes = L.layerGroup();
  groups.nearest = L.layerGroup();
  let stranded = {};
  let blocked = {};
  let routeCount = 0;
  function restyleBuildings() {
    Object.keys(buildingShapes).forEach((id) => {
      const bad = !!stranded[id];
      buildingShapes[id].setStyle({color: bad ? "#C62828" : "#4A4A4A", weight: bad ? 5 : 1,
        fillColor: bad ? "#FF9A9A" : "#C9C3B5", fillOpacity: 0.75});
    });
    Object.keys(apMarkers).forEach((id) => {
      const el = apMarkers[id].getElement();
      const box = el && el.querySelector(".cc-ap");
      if (box) { box.classList.toggle("blocked", !!blocked[id]); }
    });
  }
  function routeTip(p) {
    const s = S();
    return esc(p.building) + " → " + esc(p.ap) + ": " + esc(p.length_m) + " m, " +
      esc(p.walk_min) + " " + esc(s.min) + (p.inside ? " (" + esc(s.from_inside) + ")" : "");
  }
  window.ccSetRoutes = function (fc, serial) {
    groups.routes.clearLayers();
    groups.nearest.clearLayers();
    stranded = {};
    blocked = {};
    routeCount = 0;
    ((fc && fc.features) || []).forEach((f) => {
      const p = f.properties;
      if (p.role === "route") {
        routeCount += 1;
        const line = L.polyline(f.geometry.coordinates.map(ll), {pane: "ccRoutes",
          color: p.inside ? "#E65100" : "#1B7F3B", weight: 5, opacity: 0.85,
          bubblingMouseEvents: false});
        line.on("click", (e) => clicked(e, routeTip(p)));
        groups.routes.addLayer(line);
      } else if (p.role === "stranded") {
        stranded[p.building] = p;
        groups.routes.addLayer(L.tooltip({permanent: true, direction: "top",
          className: "cc-stranded", interactive: false, offset: [0, -8]})
          .setLatLng(ll(f.geometry.coordinates))
          .setContent(esc(p.building) + " " + esc(S().no_route) + " · " +
                      esc(S().people_n.replace("{n}", p.people))));
      } else if (p.role === "ap_blocked") {
        blocked[p.ap] = true;
      } else if (p.role === "nearest") {
        const line = L.polyline(f.geometry.coordinates.map(ll), {pane: "ccNearest",
          color: (D.kinds[p.kind] || {colour: "#000"}).colour, weight: 4, dashArray: "8 6",
          bubblingMouseEvents: false});
        line.on("click", (e) => clicked(e, esc(p.resource) + ": " + esc(p.distance_m) +
          " m, " + esc(p.time_min) + " " + esc(S().min)));
        groups.nearest.addLayer(line);
      }
    });
    restyleBuildings();
    stats.routeUpdates += 1;
    drawn(serial);
  };

  // ------------------------------------------------------------------ placing the source
  const Hint = L.Control.extend({
    onAdd: function () {
      const div = L.DomUtil.create("div", "cc-hint");
      L.DomEvent.disableClickPropagation(div);
      return div;
    },
  });
  const hint = new Hint({position: "topleft"}).addTo(map);
  function place(latlng) {
    window.ccSetPlacing(false);
    post({type: "hazard", lat: latlng.lat, lon: latlng.lng, how: "click"});
  }
  window.ccSetPlacing = function (on) {
    placing = !!on && D.interactive;
    map.getContainer().classList.toggle("cc-placing", placing);
    hint.getContainer().textContent = S().placing;
    hint.getContainer().style.display = placing ? "block" : "none";
  };
  map.on("click", (e) => { if (placing) { place(e.latlng); } });

  // ------------------------------------------------------------------ controls
  let layerControl = null;
  let legend = null;
  const Legend = L.Control.extend({
    onAdd: function () { return L.DomUtil.create("div", "cc-legend"); },
  });
  function legendHtml() {
    const s = S();
    const dot = (k) => "<i class='cc-gauge cc-gs-" + k + "'></i>" + esc(nm(D.states[k].name)) +
      "<br>";
    return "<b>" + esc(s.legend_gauges) + "</b>" +
      ["alarm2", "alarm1", "prealarm", "stale", "normal"].map(dot).join("") +
      "<b>" + esc(s.legend_zone) + "</b>" +
      "<u></u>" + esc(s.zone) + "<br>" +
      "<s style='border-color:#1B7F3B'></s>" + esc(s.route) + "<br>" +
      "<s style='border-color:#E65100'></s>" + esc(s.route_inside) + "<br>" +
      "<s style='border-color:#C62828'></s>" + esc(s.no_route);
  }
  function buildControls() {
    if (layerControl) { layerControl.remove(); }
    if (legend) { legend.remove(); }
    const s = S();
    const overlays = {};
    const add = (key, title) => { if (groups[key]) { overlays[esc(title)] = groups[key]; } };
    add("zone", s.zone);
    add("routes", s.routes);
    add("nearest", s.nearest);
    add("gauges", s.gauges);
    add("buildings", s.buildings);
    add("network", s.network);
    add("boundary", s.boundary);
    Object.keys(kindGroups).sort((a, b) => D.kinds[a].order - D.kinds[b].order).forEach(
      (k) => { overlays[esc(nm(D.kinds[k].name))] = kindGroups[k]; });
    // The wall is read from afar and not touched: no layer list there.
    layerControl = D.interactive ? L.control.layers(null, overlays,
      // Open on a large screen; a button on a small one, so the list never hides the map.
      {collapsed: window.innerWidth < 1200, position: "topright"}).addTo(map) : null;
    legend = new Legend({position: "bottomleft"}).addTo(map);
    legend.getContainer().innerHTML = legendHtml();
  }
  window.ccSetLanguage = function (next) {
    if (!D.strings[next]) { return; }
    lang = next;
    map.closePopup();
    buildControls();
    window.ccSetPlacing(placing);
    Object.keys(gaugeMarkers).forEach(styleGauge);
  };

  ["boundary", "buildings", "network", "zone", "routes", "nearest"].forEach((k) => {
    if (groups[k]) { groups[k].addTo(map); }
  });
  Object.keys(kindGroups).forEach((k) => {
    if (D.kinds[k].shown) { kindGroups[k].addTo(map); }
  });
  groups.gauges.addTo(map);
  restyleBuildings();
  buildControls();
  // Fit the site beside the layer list until the user pans or zooms; after that, resizing the
  // window keeps the user's view.
  let touched = false;
  ["mousedown", "wheel", "keydown", "touchstart"].forEach((type) =>
    map.getContainer().addEventListener(type, () => { touched = true; }, {capture: true}));
  function fit() {
    const size = map.getSize();
    if (!D.bounds || size.x < 200 || size.y < 150) { return; }
    const right = layerControl ? layerControl.getContainer().offsetWidth + 20 : 12;
    map.fitBounds(D.bounds, {paddingTopLeft: [56, 12], paddingBottomRight: [right, 12],
                             animate: false});
  }
  map.on("resize", () => { if (!touched) { fit(); } });
  fit();

  window.ccInspect = function () {
    const gauges = {};
    Object.keys(gaugeMarkers).forEach((id) => {
      const st = gaugeState[id] || {state: "no_data", value: "—"};
      const el = gaugeMarkers[id].getElement();
      const box = el && el.querySelector(".cc-gauge");
      gauges[id] = {state: st.state, value: st.value,
                    fill: box ? getComputedStyle(box).backgroundColor : null,
                    size: box ? box.offsetWidth : null};
    });
    return JSON.stringify({lang: lang, gauges: gauges, hazard: hazard, routes: routeCount,
      stranded: Object.keys(stranded).sort(), blocked: Object.keys(blocked).sort(),
      placing: placing, stats: stats, zoom: map.getZoom(),
      centre: [map.getCenter().lat, map.getCenter().lng]});
  };

  requestAnimationFrame(() => requestAnimationFrame(() => post({type: "ready"})));
})();
"""
