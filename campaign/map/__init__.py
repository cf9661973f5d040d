"""The adoption map: folium drawing self-hosted Leaflet, fed by compact aggregate data."""
