"""Firm adapters: the only way the open platform reaches a securities firm. `interface` is what
every adapter offers; `backbone_core` reaches Backbone's own brokerage in process (the only module
of the platform that imports `backbone.brokerage`); `http_firm` reaches a firm running its own
system; `resilience` adds timeouts, retries and a circuit breaker around any of them."""
