"""HTTP APIs as an incoming (a paginated JSON API read into entities) and an outgoing
(entities sent to an endpoint), through one client: :mod:`.client`."""
