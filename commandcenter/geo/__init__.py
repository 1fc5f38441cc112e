"""Offline maps of the site (folium HTML with local Leaflet; no tiles, nothing over the network)."""
