"""Running the app: health for load balancers, status for people and monitoring, backups."""
