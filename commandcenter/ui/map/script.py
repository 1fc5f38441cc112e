"""The JavaScript and CSS the live map page carries (inline; nothing is fetched).

The page script draws the site from ``window.CC_DATA`` on the Leaflet map folium made, and
offers the functions Python calls to update the map in place, without a reload:

- ``ccSetGaugeStates({id: {state, value}}, serial)`` — recolour gauges (state keys of
  :class:`~commandcenter.ui.alarms.overview.TileState`);
- ``ccSetHazard(feature | null, serial)`` — the zone polygon, its draggable source marker and,
  for the commander, the handles that resize it (radius on the circle's edge, downwind length at
  the sector's tip);
- ``ccSetRoutes(featureCollection, serial)`` — evacuation routes, stranded buildings, blocked
  assembly points, ways of the nearest resources;
- ``ccSetPlacing(on)`` — arm "click the map to set the hazard source";
- ``ccSetDrawing(on)`` — arm "press on the source and drag out to the radius";
- ``ccSetLanguage(lang)`` — relabel layers, legend and popups;
- ``ccInspect()`` — the drawn state as JSON (for checks and diagnostics).

Clicking any feature opens its details: markers handle their own clicks; roads, walkways,
buildings, routes, the ways of the nearest resources and the zone are found under the pointer by
the page (their canvases let clicks through, so a layer drawn above never hides one below).

Labels that matter in an incident — stranded buildings, gauges in alarm — are placed by the page
where they hide the fewest other labels, controls and symbols, with a leader line when they had
to move away from what they name; they are placed again after every zoom, pan and update.

The page answers through the ``QWebChannel`` object ``ccBridge`` with JSON text (see
:mod:`.bridge`): ``ready``, ``drawn``, ``hazard`` (source placed or dragged), ``zone`` (drawn
with the mouse), ``radius`` and ``downwind`` (a handle dragged).
"""

from __future__ import annotations

MAP_NAME_MARK = "__CC_MAP__"
"""Replaced by the folium map's JavaScript variable name."""

PAGE_CSS = r"""
html, body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei",
  "WenQuanYi Micro Hei", sans-serif; background: #E9ECEF; }
.leaflet-container { background: #E9ECEF; font-family: inherit; font-size: 15px; }
.leaflet-pane > canvas { pointer-events: none; }
.leaflet-control-layers { font-size: 15px; line-height: 1.5; }
.leaflet-control-layers-expanded { padding: 6px 12px 6px 8px; }
.leaflet-control-layers label { margin: 1px 0; }
.leaflet-control-layers .cc-glyph, .cc-legend .cc-glyph { display: inline-block;
  vertical-align: -4px; margin: 0 6px 0 2px; }
.leaflet-control-scale-line { font-size: 14px; }
.leaflet-popup-content { font-size: 16px; line-height: 1.45; margin: 12px 16px; min-width: 220px; }
.leaflet-popup-content h3 { font-size: 18px; margin: 0 0 6px 0; }
.leaflet-popup-content table { border-collapse: collapse; }
.leaflet-popup-content td { padding: 1px 10px 1px 0; vertical-align: top; }
.leaflet-popup-content td.k { color: #52606D; white-space: nowrap; }
.leaflet-popup-content .bad { color: #C62828; font-weight: bold; }
.cc-state { display: inline-block; padding: 0 6px; border-radius: 3px; font-weight: bold;
  border: 1px solid #000; }
.leaflet-tooltip.cc-blabel { background: rgba(255,255,255,0.9); border: 0; box-shadow: none;
  color: #1F2933; font: bold 13px/1.1 inherit; padding: 1px 3px; }
.leaflet-tooltip.cc-blabel::before { display: none; }
.leaflet-tooltip.cc-blabel.cc-hidden { display: none; }
.leaflet-tooltip.cc-tip { font-size: 15px; font-weight: bold; }
.cc-glyph { display: block; filter: drop-shadow(0 0 1px #fff); }
.cc-res { cursor: pointer; }
.cc-lblbox { overflow: visible; }
.cc-lbl { position: absolute; left: 0; top: 0; white-space: nowrap; border: 2px solid #000;
  border-radius: 4px; font: bold 15px/1.2 inherit; padding: 2px 6px;
  box-shadow: 0 1px 4px rgba(0,0,0,.5); pointer-events: none; }
.cc-lbl.cc-stranded { background: #C62828; color: #FFFFFF; font-size: 16px; padding: 3px 8px;
  box-shadow: 0 1px 6px rgba(0,0,0,.6); white-space: pre; text-align: center; }
.cc-leader { position: absolute; left: 0; top: 0; width: 1px; height: 1px; overflow: visible;
  pointer-events: none; }
.cc-ap { background: #009E3C; color: #FFFFFF; border: 2px solid #FFFFFF; border-radius: 4px;
  font: bold 15px/1.2 inherit; padding: 2px 6px; white-space: nowrap; display: inline-block;
  box-shadow: 0 0 4px #000; transform: translate(-50%, -50%); }
.cc-ap.blocked { background: #7B8794; text-decoration: line-through; border-color: #C62828; }
.cc-source { background: #C62828; border: 4px solid #FFFFFF; border-radius: 50%;
  box-shadow: 0 0 0 2px #000, 0 0 10px rgba(0,0,0,.6); cursor: move; }
.cc-source.fixed { cursor: default; }
.cc-handle { box-sizing: border-box; background: #FFFFFF; border: 3px solid #B00000;
  border-radius: 3px; box-shadow: 0 0 0 1px #000, 0 1px 4px rgba(0,0,0,.5); cursor: move; }
.cc-handle.tip { border-radius: 50%; border-color: #7A0000; }
.cc-placing, .cc-placing .leaflet-interactive, .cc-drawing, .cc-drawing .leaflet-interactive {
  cursor: crosshair !important; }
.cc-placing .leaflet-marker-icon, .cc-drawing .leaflet-marker-icon { pointer-events: none; }
.cc-hint { display: none; background: #1F5F99; color: #fff; font: bold 17px/1.3 inherit;
  padding: 8px 14px; border-radius: 4px; box-shadow: 0 1px 6px rgba(0,0,0,.5); }
.cc-legend { background: rgba(255,255,255,0.94); padding: 6px 12px; border-radius: 4px;
  box-shadow: 0 1px 5px rgba(0,0,0,.4); font-size: 14px; line-height: 1.5; }
.cc-legend b { display: block; margin-top: 2px; }
.cc-legend b.cc-legend-title { cursor: pointer; margin: 0; }
.cc-legend i.cc-gauge { display: inline-block; width: 12px; height: 12px; vertical-align: 0;
  margin: 0 10px 0 3px; }
.cc-gauge { box-sizing: border-box; border: 2px solid #333; transform: rotate(45deg);
  box-shadow: 0 0 2px rgba(0,0,0,.5); }
.cc-legend s, .leaflet-control-layers s { display: inline-block; width: 26px; height: 0;
  border-top: 5px solid; vertical-align: 3px; margin-right: 6px; text-decoration: none; }
.cc-legend s.dash, .leaflet-control-layers s.dash { border-top-style: dashed; }
.cc-legend u, .leaflet-control-layers u { display: inline-block; width: 14px; height: 12px;
  border: 2px solid #B00000; background: rgba(255,48,48,.35); vertical-align: -2px;
  margin-right: 6px; }
.cc-legend .cc-ap, .leaflet-control-layers .cc-ap, .cc-legend .cc-lbl { position: static;
  transform: none; font-size: 11px; padding: 0 3px; margin-right: 5px; box-shadow: none;
  display: inline-block; border-width: 1px; }
.cc-wall .leaflet-tooltip.cc-blabel { font-size: 18px; }
.cc-wall .cc-lbl { font-size: 22px; }
.cc-wall .cc-lbl.cc-stranded { font-size: 24px; }
.cc-wall .cc-ap { font-size: 20px; }
.cc-wall .cc-legend { font-size: 19px; }
.cc-wall .cc-legend .cc-ap, .cc-wall .cc-legend .cc-lbl { font-size: 15px; }
.cc-wall .leaflet-control-scale-line { font-size: 18px; }
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
  const fmt = (text, fields) => String(text).replace(/\{(\w+)\}/g,
    (m, k) => (fields[k] === undefined ? m : fields[k]));
  const compass = (deg) => S().compass[Math.round(((deg % 360) + 360) % 360 / 45) % 8];
  const stats = {gaugeUpdates: 0, hazardUpdates: 0, routeUpdates: 0, layouts: 0};

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
   ["ccGauges", 620], ["ccLabels", 640]].forEach(([name, z]) => {
    map.createPane(name).style.zIndex = z;
  });
  // One canvas per pane; lines get a few pixels of slack so a thin walkway can be clicked.
  const canvas = (pane, tolerance) => L.canvas({pane: pane, tolerance: tolerance || 0});
  const R = {boundary: canvas("ccBoundary"), buildings: canvas("ccBuildings"),
             network: canvas("ccNetwork", 5), zone: canvas("ccZone", 4),
             routes: canvas("ccRoutes", 5), nearest: canvas("ccNearest", 5)};

  // ------------------------------------------------------------------ popups
  let placing = false;
  let drawing = false;
  function row(k, v) {
    return (v === undefined || v === null || v === "") ? "" :
      "<tr><td class='k'>" + esc(k) + "</td><td>" + v + "</td></tr>";
  }
  const card = (title, rows) => "<h3>" + esc(title) + "</h3><table>" + rows + "</table>";
  const routeByBuilding = {};
  function buildingPopup(b) {
    const s = S();
    const r = routeByBuilding[b.id];
    let evac = "";
    if (stranded[b.id]) {
      evac = "<span class='bad'>" + esc(s.no_route) + "</span>";
    } else if (r) {
      evac = "→ " + esc(r.ap) + ": " + esc(r.length_m) + " m, " + esc(r.walk_min) + " " +
        esc(s.min) + (r.inside ? " (" + esc(s.from_inside) + ")" : "");
    }
    return card(nm(b.name) + " (" + b.id + ")",
      row(s.kind, esc(nm(b.kindName))) + row(s.people, esc(b.people)) +
      row(s.hazards, b.hazards.length ? esc(b.hazards.join("、")) : esc(s.none)) +
      row(s.evacuation, evac));
  }
  function resourcePopup(r) {
    const s = S();
    return card(nm(r.name) + " (" + r.id + ")",
      row(s.kind, esc(nm(D.kinds[r.kind].name)) +
          (blocked[r.id] ? " — <span class='bad'>" + esc(s.ap_blocked) + "</span>" : "")) +
      row(s.spec, esc(r.spec)) + row(s.quantity, esc(r.quantity)) +
      row(s.capacity, r.capacity ? esc(r.capacity) : "") + row(s.building, esc(r.building)));
  }
  function gaugePopup(g) {
    const s = S();
    const st = gaugeState[g.id] || {state: "no_data", value: "—"};
    const look = D.states[st.state] || D.states.no_data;
    return card(nm(g.name) + " (" + g.id + ")",
      row(s.value, "<b>" + esc(st.value) + "</b>") + row(s.unit, esc(g.unit)) +
      row(s.state, "<span class='cc-state' style='background:" + look.fill + ";color:" +
          look.text + "'>" + esc(nm(look.name)) + "</span>"));
  }
  function edgePopup(e) {
    const s = S();
    return card(e.id, row(s.kind, esc(e.road ? s.road : s.walkway)) +
      row(s.length, esc(e.len) + " m") + row(s.nodes, esc(e.a) + " – " + esc(e.b)));
  }
  function zonePopup() {
    const s = S();
    const z = hazard;
    if (!z) { return ""; }
    const sector = z.sector ? fmt(s.zone_sector, {length: z.sector_m, angle: z.sector_deg,
      towards: compass(z.downwind_deg)}) : esc(s.zone_no_sector);
    let wind = esc(s.wind_unknown);
    if (z.wind_from_deg !== null && z.wind_from_deg !== undefined) {
      wind = esc(fmt(s.wind_from, {from: compass(z.wind_from_deg),
        deg: Math.round(z.wind_from_deg)})) + (z.wind_mps === null ? "" :
        ", " + esc(z.wind_mps) + " m/s");
    }
    return card(s.zone, row(s.source, esc(nm(z.source))) +
      row(s.radius, esc(z.radius_m) + " m") + row(s.sector, esc(sector)) +
      row(s.wind, wind) + row(s.plan, esc(z.plan || "")));
  }
  function routePopup(p) {
    const s = S();
    return card(p.building + " → " + p.ap, row(s.length, esc(p.length_m) + " m") +
      row(s.walk, esc(p.walk_min) + " " + esc(s.min)) +
      row("", p.inside ? esc(s.from_inside) : "") + row("", p.upwind ? esc(s.upwind) : ""));
  }
  function nearestPopup(p) {
    const s = S();
    return card(nm(D.kinds[p.kind].name) + ": " + p.resource,
      row(s.distance, esc(p.distance_m) + " m") +
      row(s.walk, esc(p.time_min) + " " + esc(s.min) + (p.vehicle ? " (" + esc(s.drive) + ")" :
                                                        "")));
  }
  let openPopup = null;
  function show(latlng, content) {
    const popup = L.popup({maxWidth: 440}).setLatLng(latlng).setContent(content);
    popup._ccRefresh = typeof content === "function" ? () => popup.update() : null;
    openPopup = popup.openOn(map);
  }
  function clicked(e, content) {
    L.DomEvent.stop(e);
    if (placing) { place(e.latlng); return; }
    show(e.latlng, content);
  }

  // ------------------------------------------------------------------ the site
  const groups = {};
  if (D.boundary) {
    groups.boundary = L.layerGroup([L.polygon(D.boundary, {pane: "ccBoundary",
      renderer: R.boundary, color: "#333", weight: 3, dashArray: "8 6", fill: false,
      interactive: false})]);
  }
  groups.buildings = L.layerGroup();
  const buildingShapes = {};
  D.buildings.forEach((b) => {
    const shape = L.polygon(b.ring, {pane: "ccBuildings", renderer: R.buildings,
      interactive: false});
    shape._cc = () => buildingPopup(b);
    shape.bindTooltip(esc(b.id), {permanent: true, direction: "center",
      className: "cc-blabel", interactive: false});
    buildingShapes[b.id] = shape;
    groups.buildings.addLayer(shape);
  });
  groups.network = L.layerGroup();
  D.network.forEach((e) => {
    const line = L.polyline(e.p, e.road ?
      {pane: "ccNetwork", renderer: R.network, color: "#8A8A8A", weight: 4, interactive: false} :
      {pane: "ccNetwork", renderer: R.network, color: "#A8A8A8", weight: 1.5, dashArray: "3 4",
       interactive: false});
    line._cc = () => edgePopup(e);
    groups.network.addLayer(line);
  });
  const kindGroups = {};
  const apMarkers = {};
  const resourceMarkers = [];
  D.resources.forEach((r) => {
    const group = kindGroups[r.kind] || (kindGroups[r.kind] = L.layerGroup());
    let layer;
    if (r.kind === "assembly_point") {
      layer = L.marker(r.at, {pane: "ccResources", keyboard: false,
        icon: L.divIcon({className: "", iconSize: null,
                         html: "<div class='cc-ap'>" + esc(r.id) + "</div>"})});
      apMarkers[r.id] = layer;
    } else {
      const size = D.glyphSize;
      layer = L.marker(r.at, {pane: "ccResources", keyboard: false,
        icon: L.divIcon({className: "cc-res", iconSize: [size, size],
                         iconAnchor: [size / 2, size / 2], html: D.kinds[r.kind].glyph})});
      resourceMarkers.push(layer);
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

  // ------------------------------------------------------------------ labels that must be read
  // Each is a marker at what it names; its box is moved to where it hides least (layout()).
  groups.labels = L.layerGroup();
  const labels = {};
  function setLabel(key, at, text, cls, prio) {
    let l = labels[key];
    if (!l) {
      const marker = L.marker(at, {pane: "ccLabels", interactive: false, keyboard: false,
        icon: L.divIcon({className: "cc-lblbox", iconSize: [0, 0], iconAnchor: [0, 0],
          html: "<svg class='cc-leader'><line stroke='#000' stroke-width='2'/></svg>" +
                "<div class='cc-lbl'></div>"})});
      l = labels[key] = {key: key, marker: marker};
      marker.on("add", () => { paintLabel(l); scheduleLayout(); });
      groups.labels.addLayer(marker);
    }
    l.at = L.latLng(at);
    l.prio = prio;
    l.text = text;
    l.cls = cls;
    l.marker.setLatLng(l.at);
    paintLabel(l);
    scheduleLayout();
  }
  function paintLabel(l) {
    const el = l.marker.getElement();
    const box = el && el.querySelector(".cc-lbl");
    if (box) {
      box.className = "cc-lbl " + l.cls;
      box.textContent = l.text;
    }
  }
  function dropLabel(key) {
    const l = labels[key];
    if (l) { groups.labels.removeLayer(l.marker); delete labels[key]; scheduleLayout(); }
  }

  function styleGauge(id) {
    const m = gaugeMarkers[id];
    if (!m) { return; }
    const st = gaugeState[id] || {state: "no_data", value: "—"};
    const look = D.states[st.state] || D.states.no_data;
    m.setIcon(gaugeIcon(st.state));
    m.setZIndexOffset(look.formal ? 1000 : (st.state === "normal" ? 0 : 500));
    if (look.formal || st.state === "prealarm") {
      const prio = {alarm2: 80, alarm1: 70}[st.state] || 60;
      setLabel("g:" + id, m.getLatLng(), id + " " + st.value, "cc-g-" + st.state, prio);
    } else {
      dropLabel("g:" + id);
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
  const EARTH_M_PER_DEG = Math.PI / 180 * D.earthRadius;
  function offset(centre, bearing, metres) {
    const b = bearing * Math.PI / 180;
    const c = L.latLng(centre);
    return L.latLng(c.lat + metres * Math.cos(b) / EARTH_M_PER_DEG,
                    c.lng + metres * Math.sin(b) /
                      (EARTH_M_PER_DEG * Math.cos(c.lat * Math.PI / 180)));
  }
  function along(centre, bearing, point) {
    // Metres from centre to point along the bearing (the handle's projection on the axis).
    const c = L.latLng(centre);
    const p = L.latLng(point);
    const x = (p.lng - c.lng) * EARTH_M_PER_DEG * Math.cos(c.lat * Math.PI / 180);
    const y = (p.lat - c.lat) * EARTH_M_PER_DEG;
    const b = bearing * Math.PI / 180;
    return x * Math.sin(b) + y * Math.cos(b);
  }
  const clamp = (v, lo, hi) => Math.max(lo, Math.min(hi, v));
  // The limits the bridge accepts (and the side panel offers).
  const radiusIn = (m) => clamp(m, D.radiusRange[0], D.radiusRange[1]);
  const downwindIn = (m) => clamp(m, D.downwindRange[0], D.downwindRange[1]);
  function handleIcon(tip) {
    const size = D.wall ? 26 : 20;
    return L.divIcon({className: tip ? "cc-handle tip" : "cc-handle", iconSize: [size, size],
                      iconAnchor: [size / 2, size / 2]});
  }
  let preview = null;
  function showPreview(key, make, reshape, text, at) {
    // Made once per drag (``make``); while it lasts only its shape, text and place change.
    if (preview && preview._ccKey === key) {
      reshape(preview);
      preview.setTooltipContent(esc(text));
    } else {
      if (preview) { map.removeLayer(preview); }
      preview = make().addTo(map);
      preview._ccKey = key;
      preview.bindTooltip(esc(text), {permanent: true, direction: "right", offset: [14, 0],
        className: "cc-tip"});
    }
    preview.openTooltip(at);
  }
  function dropPreview() {
    if (preview) { map.removeLayer(preview); preview = null; }
  }
  const handles = {};
  function radiusBearing(z) {
    // Upwind of the source, where the circle's edge is never under the sector; east when calm.
    return (z.wind_from_deg === null || z.wind_from_deg === undefined) ? 90 : z.wind_from_deg;
  }
  window.ccSetHazard = function (feature, serial) {
    groups.zone.clearLayers();
    zonePoly = null;
    hazard = feature ? feature.properties : null;
    Object.keys(handles).forEach((k) => delete handles[k]);
    if (feature) {
      const z = feature.properties;
      zonePoly = L.polygon(feature.geometry.coordinates[0].map(ll), {pane: "ccZone",
        renderer: R.zone, color: "#B00000", weight: 3, fillColor: "#FF3030", fillOpacity: 0.22,
        interactive: false});
      zonePoly._cc = zonePopup;
      groups.zone.addLayer(zonePoly);
      const source = L.marker(z.centre, {pane: "ccSource",
        draggable: D.interactive, keyboard: false, autoPan: true,
        icon: L.divIcon({className: D.interactive ? "cc-source" : "cc-source fixed",
                         iconSize: [30, 30], iconAnchor: [15, 15]})});
      source.on("click", (e) => clicked(e, zonePopup));
      let start = null;
      let ring = null;
      let from = {};
      source.on("dragstart", () => {
        start = source.getLatLng();
        ring = zonePoly.getLatLngs();
        from = {};
        Object.keys(handles).forEach((k) => { from[k] = handles[k].getLatLng(); });
      });
      source.on("drag", () => {
        const p = source.getLatLng();
        const dl = p.lat - start.lat;
        const dn = p.lng - start.lng;
        zonePoly.setLatLngs(ring[0].map((q) => [q.lat + dl, q.lng + dn]));
        Object.keys(handles).forEach((k) => {
          handles[k].setLatLng([from[k].lat + dl, from[k].lng + dn]);
        });
      });
      source.on("dragend", () => {
        const p = source.getLatLng();
        post({type: "hazard", lat: p.lat, lon: p.lng, how: "drag"});
      });
      groups.zone.addLayer(source);
      if (D.interactive) {
        const rb = radiusBearing(z);
        const rh = L.marker(offset(z.centre, rb, z.radius_m), {pane: "ccSource",
          draggable: true, keyboard: false, icon: handleIcon(false),
          title: S().radius_handle});
        rh.on("drag", () => {
          const r = radiusIn(map.distance(z.centre, rh.getLatLng()));
          showPreview("radius", () => L.circle(z.centre, {radius: r, pane: "ccSource",
            color: "#B00000", weight: 2, dashArray: "6 5", fill: false, interactive: false}),
            (c) => c.setLatLng(z.centre).setRadius(r), Math.round(r) + " m",
            rh.getLatLng());
        });
        rh.on("dragend", () => {
          dropPreview();
          const r = radiusIn(map.distance(z.centre, rh.getLatLng()));
          post({type: "radius", radius_m: Math.round(r)});
        });
        handles.radius = rh;
        groups.zone.addLayer(rh);
        if (z.sector) {
          const th = L.marker(offset(z.centre, z.downwind_deg, z.sector_m), {pane: "ccSource",
            draggable: true, keyboard: false, icon: handleIcon(true),
            title: S().downwind_handle});
          th.on("drag", () => {
            const d = downwindIn(along(z.centre, z.downwind_deg, th.getLatLng()));
            const axis = [z.centre, offset(z.centre, z.downwind_deg, d)];
            showPreview("downwind", () => L.polyline(axis, {pane: "ccSource", color: "#7A0000",
              weight: 3, dashArray: "6 5", interactive: false}),
              (line) => line.setLatLngs(axis), Math.round(d) + " m", th.getLatLng());
          });
          th.on("dragend", () => {
            dropPreview();
            const d = downwindIn(along(z.centre, z.downwind_deg, th.getLatLng()));
            post({type: "downwind", downwind_m: Math.round(d)});
          });
          handles.tip = th;
          groups.zone.addLayer(th);
        }
      }
      if (!map.hasLayer(groups.zone)) { groups.zone.addTo(map); }
    }
    stats.hazardUpdates += 1;
    scheduleLayout();
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
      const shape = buildingShapes[id];
      shape.setStyle({color: bad ? "#C62828" : "#4A4A4A", weight: bad ? 5 : 1,
        fillColor: bad ? "#FF9A9A" : "#C9C3B5", fillOpacity: 0.75});
      // A stranded building is named by its callout; its own small label would sit beneath.
      const tip = shape.getTooltip() && shape.getTooltip().getElement();
      if (tip) { tip.classList.toggle("cc-hidden", bad); }
    });
    Object.keys(apMarkers).forEach((id) => {
      const el = apMarkers[id].getElement();
      const box = el && el.querySelector(".cc-ap");
      if (box) { box.classList.toggle("blocked", !!blocked[id]); }
    });
  }
  function strandedText(p) {
    const s = S();
    return s.no_route + "\n" + p.building + " · " + s.people_n.replace("{n}", p.people);
  }
  window.ccSetRoutes = function (fc, serial) {
    groups.routes.clearLayers();
    groups.nearest.clearLayers();
    Object.keys(labels).filter((k) => k.startsWith("s:")).forEach(dropLabel);
    Object.keys(routeByBuilding).forEach((k) => delete routeByBuilding[k]);
    stranded = {};
    blocked = {};
    routeCount = 0;
    ((fc && fc.features) || []).forEach((f) => {
      const p = f.properties;
      if (p.role === "route") {
        routeCount += 1;
        routeByBuilding[p.building] = p;
        const line = L.polyline(f.geometry.coordinates.map(ll), {pane: "ccRoutes",
          renderer: R.routes, color: p.inside ? "#E65100" : "#1B7F3B", weight: 5,
          opacity: 0.85, interactive: false});
        line._cc = () => routePopup(p);
        groups.routes.addLayer(line);
      } else if (p.role === "stranded") {
        stranded[p.building] = p;
        setLabel("s:" + p.building, ll(f.geometry.coordinates), strandedText(p),
                 "cc-stranded", 100);
      } else if (p.role === "ap_blocked") {
        blocked[p.ap] = true;
      } else if (p.role === "nearest") {
        const line = L.polyline(f.geometry.coordinates.map(ll), {pane: "ccNearest",
          renderer: R.nearest, color: D.nearestColour, weight: 4, dashArray: "8 6",
          interactive: false});
        line._cc = () => nearestPopup(p);
        groups.nearest.addLayer(line);
      }
    });
    restyleBuildings();
    stats.routeUpdates += 1;
    scheduleLayout();
    drawn(serial);
  };

  // ------------------------------------------------------------------ what is under the pointer
  // Topmost first; a building inside the zone is found before the zone around it.
  const HIT_ORDER = ["nearest", "routes", "network", "buildings", "zone"];
  function hitAt(latlng) {
    const p = map.latLngToLayerPoint(latlng);
    for (const key of HIT_ORDER) {
      const group = groups[key];
      if (!group || !map.hasLayer(group)) { continue; }
      const layers = group.getLayers();
      for (let i = layers.length - 1; i >= 0; i -= 1) {
        const l = layers[i];
        if (l._cc && l._parts && l._containsPoint(p)) { return l; }
      }
    }
    return null;
  }
  window.ccHitAt = function (lat, lon) {
    const l = hitAt(L.latLng(lat, lon));
    if (!l) { return null; }
    const div = document.createElement("div");
    div.innerHTML = l._cc();
    return div.textContent;
  };

  // ------------------------------------------------------------------ placing and drawing
  const Hint = L.Control.extend({
    onAdd: function () {
      const div = L.DomUtil.create("div", "cc-hint");
      L.DomEvent.disableClickPropagation(div);
      return div;
    },
  });
  const hint = new Hint({position: "topleft"}).addTo(map);
  function showHint() {
    const div = hint.getContainer();
    div.textContent = drawing ? S().drawing : S().placing;
    div.style.display = (placing || drawing) ? "block" : "none";
  }
  function place(latlng) {
    window.ccSetPlacing(false);
    post({type: "hazard", lat: latlng.lat, lon: latlng.lng, how: "click"});
  }
  window.ccSetPlacing = function (on) {
    placing = !!on && D.interactive;
    if (placing) { drawing = false; }
    map.getContainer().classList.toggle("cc-placing", placing);
    map.getContainer().classList.toggle("cc-drawing", drawing);
    showHint();
  };
  let drawStart = null;
  window.ccSetDrawing = function (on) {
    drawing = !!on && D.interactive;
    if (drawing) { placing = false; }
    if (!drawing && drawStart) {
      drawStart = null;
      dropPreview();
      map.dragging.enable();
    }
    map.getContainer().classList.toggle("cc-drawing", drawing);
    map.getContainer().classList.toggle("cc-placing", placing);
    showHint();
  };
  map.on("mousedown", (e) => {
    if (!drawing) { return; }
    drawStart = e.latlng;
    map.dragging.disable();
  });
  map.on("mousemove", (e) => {
    if (!drawing || !drawStart) { return; }
    const r = radiusIn(map.distance(drawStart, e.latlng));
    showPreview("draw", () => L.circle(drawStart, {radius: r, pane: "ccSource",
      color: "#B00000", weight: 3, dashArray: "6 5", fillColor: "#FF3030", fillOpacity: 0.12,
      interactive: false}), (c) => c.setLatLng(drawStart).setRadius(r),
      Math.round(r) + " m", e.latlng);
  });
  map.on("mouseup", (e) => {
    if (!drawing || !drawStart) { return; }
    const start = drawStart;
    const moved = map.latLngToContainerPoint(start).distanceTo(
      map.latLngToContainerPoint(e.latlng));
    window.ccSetDrawing(false);
    if (moved < 6) {
      // A click, not a drag: the source moves, the radius stays.
      post({type: "hazard", lat: start.lat, lon: start.lng, how: "click"});
    } else {
      post({type: "zone", lat: start.lat, lon: start.lng,
            radius_m: Math.round(radiusIn(map.distance(start, e.latlng)))});
    }
  });
  map.on("click", (e) => {
    if (drawing) { return; }
    if (placing) { place(e.latlng); return; }
    const l = hitAt(e.latlng);
    if (l) { show(e.latlng, l._cc); }
  });

  // ------------------------------------------------------------------ controls
  let layerControl = null;
  let legend = null;
  // On a small screen the legend is a title that opens on a click, like the layer list.
  let legendOpen = !D.interactive || window.innerWidth >= 1200;
  const Legend = L.Control.extend({
    onAdd: function () {
      const div = L.DomUtil.create("div", "cc-legend");
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      L.DomEvent.on(div, "click", (e) => {
        if (!D.interactive || !e.target.closest(".cc-legend-title")) { return; }
        legendOpen = !legendOpen;
        div.innerHTML = legendHtml();
        scheduleLayout();
      });
      return div;
    },
  });
  function legendHtml() {
    const s = S();
    const title = D.interactive ? "<b class='cc-legend-title'>" + (legendOpen ? "▾ " : "▸ ") +
      esc(s.legend) + "</b>" : "";
    if (!legendOpen) { return title; }
    const dot = (k) => "<i class='cc-gauge cc-gs-" + k + "'></i>" + esc(nm(D.states[k].name)) +
      "<br>";
    let out = title + "<b>" + esc(s.legend_gauges) + "</b>" +
      ["alarm2", "alarm1", "prealarm", "stale", "normal"].map(dot).join("") +
      "<b>" + esc(s.legend_zone) + "</b>" +
      "<u></u>" + esc(s.zone) + "<br>" +
      "<s style='border-color:#1B7F3B'></s>" + esc(s.route) + "<br>" +
      "<s style='border-color:#E65100'></s>" + esc(s.route_inside) + "<br>" +
      "<span class='cc-lbl cc-stranded'>!</span>" + esc(s.no_route) + "<br>" +
      "<s class='dash' style='border-color:" + D.nearestColour + "'></s>" +
      esc(s.nearest_way) + "<br>" +
      "<span class='cc-ap'>AP</span>" + esc(s.ap) + "<br>" +
      "<span class='cc-ap blocked'>AP</span>" + esc(s.ap_blocked);
    if (!D.interactive) {
      // No layer list on the wall: the legend names the resource glyphs itself.
      out += "<b>" + esc(s.legend_resources) + "</b>" + kindOrder().filter(
        (k) => k !== "assembly_point" && map.hasLayer(kindGroups[k])).map(
        (k) => D.kinds[k].icon + esc(nm(D.kinds[k].name))).join("<br>");
    }
    return out;
  }
  const kindOrder = () => Object.keys(kindGroups).sort(
    (a, b) => D.kinds[a].order - D.kinds[b].order);
  function buildControls() {
    if (layerControl) { layerControl.remove(); }
    if (legend) { legend.remove(); }
    const s = S();
    const overlays = {};
    const add = (key, symbol, title) => {
      if (groups[key]) { overlays[symbol + esc(title)] = groups[key]; }
    };
    add("zone", "<u></u>", s.zone);
    add("routes", "<s style='border-color:#1B7F3B'></s>", s.routes);
    add("nearest", "<s class='dash' style='border-color:" + D.nearestColour + "'></s>",
        s.nearest);
    add("gauges", "<i class='cc-gauge cc-gs-normal' style='display:inline-block;width:11px;" +
        "height:11px;margin:0 9px 0 4px'></i>", s.gauges);
    add("buildings", "", s.buildings);
    add("network", "", s.network);
    add("boundary", "", s.boundary);
    kindOrder().forEach((k) => {
      const symbol = k === "assembly_point" ? "<span class='cc-ap'>AP</span>" : D.kinds[k].icon;
      overlays[symbol + esc(nm(D.kinds[k].name))] = kindGroups[k];
    });
    // The wall is read from afar and not touched: no layer list there.
    layerControl = D.interactive ? L.control.layers(null, overlays,
      // Open on a large screen; a button on a small one, so the list never hides the map.
      {collapsed: window.innerWidth < 1200, position: "topright"}).addTo(map) : null;
    // Under the layer list, in the same column: the site is fitted beside both.
    legend = new Legend({position: "topright"}).addTo(map);
    legend.getContainer().innerHTML = legendHtml();
    scheduleLayout();
  }
  map.on("overlayadd overlayremove", () => {
    if (!D.interactive && legend) { legend.getContainer().innerHTML = legendHtml(); }
    scheduleLayout();
  });
  window.ccSetLanguage = function (next) {
    if (!D.strings[next]) { return; }
    lang = next;
    map.closePopup();
    buildControls();
    window.ccSetPlacing(placing);
    Object.keys(stranded).forEach((id) => {
      setLabel("s:" + id, labels["s:" + id].at, strandedText(stranded[id]), "cc-stranded", 100);
    });
    Object.keys(gaugeMarkers).forEach(styleGauge);
  };

  // ------------------------------------------------------------------ label placement
  let layoutQueued = false;
  function scheduleLayout() {
    if (layoutQueued) { return; }
    layoutQueued = true;
    requestAnimationFrame(() => { layoutQueued = false; layout(); });
  }
  const overlap = (a, b) => Math.max(0, Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x)) *
    Math.max(0, Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y));
  // Right, left, up, down first (short leaders), then the corners.
  const DIRS = [[1, 0], [-1, 0], [0, -1], [0, 1], [1, -1], [-1, -1], [1, 1], [-1, 1]];
  const GAPS = [14, 40, 80, 130, 190, 260];
  function obstacles() {
    const box = map.getContainer().getBoundingClientRect();
    const out = [];
    const push = (el, weight, kind) => {
      if (!el || el.offsetParent === null) { return; }
      const r = el.getBoundingClientRect();
      if (r.width > 0 && r.height > 0) {
        out.push({x: r.left - box.left, y: r.top - box.top, w: r.width, h: r.height,
                  weight: weight, kind: kind});
      }
    };
    map.getContainer().querySelectorAll(".leaflet-control").forEach(
      (el) => push(el, 50, "control"));
    if (map.hasLayer(groups.buildings)) {
      Object.keys(buildingShapes).forEach((id) => {
        const shape = buildingShapes[id];
        if (stranded[id] && shape._pxBounds) {
          // A stranded building's own red outline should stay in view beside its callout.
          const a = map.layerPointToContainerPoint(shape._pxBounds.min);
          const b = map.layerPointToContainerPoint(shape._pxBounds.max);
          out.push({x: a.x, y: a.y, w: b.x - a.x, h: b.y - a.y, weight: 0.3, kind: "shape"});
        }
        const tip = shape.getTooltip();
        push(tip && tip.getElement(), 20, "building");
      });
    }
    Object.keys(apMarkers).forEach((id) => {
      if (map.hasLayer(apMarkers[id])) {
        const el = apMarkers[id].getElement();
        push(el && el.querySelector(".cc-ap"), 20, "ap");
      }
    });
    resourceMarkers.forEach((m) => { if (map.hasLayer(m)) { push(m.getElement(), 2, "glyph"); } });
    Object.keys(gaugeMarkers).forEach((id) => {
      if (map.hasLayer(gaugeMarkers[id])) { push(gaugeMarkers[id].getElement(), 2, "gauge"); }
    });
    groups.zone.eachLayer((l) => { if (l.getElement) { push(l.getElement(), 6, "source"); } });
    return out;
  }
  function crosses(x1, y1, x2, y2, q) {
    // Whether segment (x1, y1)-(x2, y2) properly crosses segment q.
    const side = (ax, ay, bx, by, cx, cy) => Math.sign((bx - ax) * (cy - ay) -
                                                       (by - ay) * (cx - ax));
    return side(x1, y1, x2, y2, q[0], q[1]) * side(x1, y1, x2, y2, q[2], q[3]) < 0 &&
      side(q[0], q[1], q[2], q[3], x1, y1) * side(q[0], q[1], q[2], q[3], x2, y2) < 0;
  }
  function meets(q, r, inset) {
    // Whether segment q passes through rectangle r (shrunk by ``inset`` on every side).
    const k = inset || 0;
    const x0 = r.x + k;
    const y0 = r.y + k;
    const x1 = r.x + r.w - k;
    const y1 = r.y + r.h - k;
    if (x1 <= x0 || y1 <= y0) { return false; }
    let t0 = 0;
    let t1 = 1;
    const dx = q[2] - q[0];
    const dy = q[3] - q[1];
    for (const [p, v] of [[-dx, q[0] - x0], [dx, x1 - q[0]], [-dy, q[1] - y0], [dy, y1 - q[1]]]) {
      if (p === 0) {
        if (v < 0) { return false; }
      } else {
        const t = v / p;
        if (p < 0) { t0 = Math.max(t0, t); } else { t1 = Math.min(t1, t); }
        if (t0 > t1) { return false; }
      }
    }
    return true;
  }
  function layout() {
    stats.layouts += 1;
    const todo = Object.values(labels).filter((l) => map.hasLayer(l.marker));
    if (!todo.length) { return; }
    const size = map.getSize();
    const fixed = obstacles();
    const placed = [];
    const leaders = [];
    todo.sort((a, b) => b.prio - a.prio || (a.key < b.key ? -1 : 1));
    todo.forEach((l) => {
      const el = l.marker.getElement();
      const box = el && el.querySelector(".cc-lbl");
      const line = el && el.querySelector(".cc-leader line");
      if (!box) { return; }
      const w = box.offsetWidth;
      const h = box.offsetHeight;
      const a = map.latLngToContainerPoint(l.at);
      let best = null;
      GAPS.forEach((gap, gi) => DIRS.forEach(([ux, uy], di) => {
        const r = {x: a.x + ux * (gap + w / 2) - w / 2, y: a.y + uy * (gap + h / 2) - h / 2,
                   w: w, h: h};
        let cost = gi * 150 + di * 4;
        const out = w * h - overlap(r, {x: 4, y: 4, w: size.x - 8, h: size.y - 8});
        cost += out * 40;
        fixed.forEach((o) => { cost += overlap(r, o) * o.weight; });
        placed.forEach((o) => { cost += overlap(r, o) * 50; });
        // Nor may it sit on a leader already drawn.
        leaders.forEach((q) => { if (meets(q, r)) { cost += 3000; } });
        if (gi > 0) {
          // Its own leader must not run across another label, nor cross another leader.
          const q = [a.x, a.y, clamp(a.x, r.x, r.x + w), clamp(a.y, r.y, r.y + h)];
          leaders.forEach((p) => { if (crosses(q[0], q[1], q[2], q[3], p)) { cost += 3000; } });
          placed.forEach((o) => { if (meets(q, o, 2)) { cost += 3000; } });
          fixed.forEach((o) => {
            // (a name the anchor itself lies on cannot be helped)
            if (o.weight >= 20 && meets(q, o, 2) &&
                !(a.x > o.x && a.x < o.x + o.w && a.y > o.y && a.y < o.y + o.h)) {
              cost += 2500;
            }
          });
        }
        if (!best || cost < best.cost) { best = {r: r, cost: cost, gap: gap}; }
      }));
      const r = best.r;
      placed.push({x: r.x, y: r.y, w: r.w, h: r.h, key: l.key});
      if (best.gap > GAPS[0]) {
        leaders.push([a.x, a.y, clamp(a.x, r.x, r.x + w), clamp(a.y, r.y, r.y + h)]);
      }
      l.rect = r;
      box.style.left = (r.x - a.x) + "px";
      box.style.top = (r.y - a.y) + "px";
      // A leader from what is named to the nearest point of its box, when it had to move away.
      const far = best.gap > GAPS[0];
      l.leader = far;
      if (line) {
        const tx = clamp(0, r.x - a.x, r.x - a.x + w);
        const ty = clamp(0, r.y - a.y, r.y - a.y + h);
        line.setAttribute("x1", 0);
        line.setAttribute("y1", 0);
        line.setAttribute("x2", far ? tx : 0);
        line.setAttribute("y2", far ? ty : 0);
      }
    });
  }
  map.on("zoomend moveend resize", scheduleLayout);

  ["boundary", "buildings", "network", "zone", "routes", "nearest"].forEach((k) => {
    if (groups[k]) { groups[k].addTo(map); }
  });
  Object.keys(kindGroups).forEach((k) => {
    if (D.kinds[k].shown) { kindGroups[k].addTo(map); }
  });
  groups.gauges.addTo(map);
  groups.labels.addTo(map);
  restyleBuildings();
  buildControls();
  // Fit the site beside the layer list and legend until the user pans or zooms; after that,
  // resizing the window keeps the user's view.
  let touched = false;
  ["mousedown", "wheel", "keydown", "touchstart"].forEach((type) =>
    map.getContainer().addEventListener(type, () => { touched = true; }, {capture: true}));
  function fit() {
    const size = map.getSize();
    if (!D.bounds || size.x < 200 || size.y < 150) { return; }
    const column = Math.max(layerControl ? layerControl.getContainer().offsetWidth : 0,
                            legend ? legend.getContainer().offsetWidth : 0);
    map.fitBounds(D.bounds, {paddingTopLeft: [56, 12],
                             paddingBottomRight: [column ? column + 24 : 12, 12],
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
    // Placed labels, and how much they still hide of each other and of what must stay legible.
    const placed = {};
    const rects = Object.values(labels).filter((l) => l.rect && map.hasLayer(l.marker));
    rects.forEach((l) => {
      placed[l.key] = {x: Math.round(l.rect.x), y: Math.round(l.rect.y),
                       w: Math.round(l.rect.w), h: Math.round(l.rect.h), leader: !!l.leader};
    });
    const hidden = [];
    const fixed = obstacles().filter((o) => o.kind === "building" || o.kind === "control" ||
                                             o.kind === "ap");
    rects.forEach((l, i) => {
      rects.slice(i + 1).forEach((m) => {
        if (overlap(l.rect, m.rect) > 0) { hidden.push([l.key, m.key]); }
      });
      fixed.forEach((o) => { if (overlap(l.rect, o) > 4) { hidden.push([l.key, o.kind]); } });
    });
    return JSON.stringify({lang: lang, gauges: gauges, hazard: hazard, routes: routeCount,
      stranded: Object.keys(stranded).sort(), blocked: Object.keys(blocked).sort(),
      placing: placing, drawing: drawing, handles: Object.keys(handles).sort(),
      labels: placed, hidden: hidden, stats: stats, zoom: map.getZoom(),
      centre: [map.getCenter().lat, map.getCenter().lng]});
  };

  requestAnimationFrame(() => requestAnimationFrame(() => post({type: "ready"})));
})();
"""
