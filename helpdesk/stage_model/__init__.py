"""Stage inference that learns: a per-install text classifier trained on the stages people set
or confirmed, asked at intake after the rules and before the endpoint's default."""
