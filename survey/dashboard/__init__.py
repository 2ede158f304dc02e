"""Centre dashboards and the province overview for staff."""
