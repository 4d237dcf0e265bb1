"""Mesa agents: option dealers, put-buying hedgers, CTA trend followers, dip buyers."""
