"""Demo smoke check: what `npm run smoke:e2e` would print when everything is up."""

print("GET /api/health -> 200 (12 ms)")
print("GET /browse -> 200 (48 ms)")
print("smoke: 2/2 checks passed")
